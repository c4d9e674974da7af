// Dump files into flows: the collector's live path (call ingest() from the server's
// onDumpCommitted hook) and the importer's. A dump is recorded and the flow records
// it completed are inserted in one store transaction; a dump already recorded for
// (agent, sequence) is skipped, so re-delivery has no effect.
import { decodeDump } from '../../shared/dump/index.js';
import type { FlowTimeouts } from '../flow/flow-engine.js';
import type { FlowRecord } from '../flow/flow-record.js';
import type { FlowStore } from '../store/flow-store.js';
import { EngineSet } from './engine-set.js';
import { FlowBatchWriter } from './flow-batch-writer.js';

export interface DumpIngestResult {
  agentId: string;
  sequence: number;
  duplicate: boolean;
  packets: number;
  /** flow records written while ingesting this dump (they may belong to earlier dumps' flows) */
  records: number;
}

export class DumpAgentMismatchError extends Error {
  constructor(expected: string, found: string) {
    super(`dump header names agent ${found}, but it came from agent ${expected}`);
    this.name = 'DumpAgentMismatchError';
  }
}

export class DumpIngest {
  private readonly writer: FlowBatchWriter;
  private readonly engines: EngineSet;

  constructor(private readonly store: FlowStore, opts: { timeouts?: Partial<FlowTimeouts>; onRecord?: (r: FlowRecord) => void } = {}) {
    this.writer = new FlowBatchWriter(store);
    const extra = opts.onRecord;
    this.engines = new EngineSet(extra ? (r) => { this.writer.add(r); extra(r); } : this.writer.add, opts.timeouts);
  }

  /**
   * Decodes and ingests one dump (throws DumpFormatError on a damaged file, before writing
   * anything). `expectAgentId`: the authenticated agent; a dump naming another is refused.
   */
  ingest(bytes: Uint8Array, info: { receivedUs: number; rawPath?: string | null; expectAgentId?: string }): DumpIngestResult {
    const dump = decodeDump(bytes);
    const h = dump.header;
    if (info.expectAgentId !== undefined && info.expectAgentId !== h.agentId) {
      throw new DumpAgentMismatchError(info.expectAgentId, h.agentId);
    }
    const before = this.writer.written;
    let duplicate = false;
    this.store.transaction(() => {
      this.store.upsertAgent(h.agentId, info.receivedUs);
      duplicate = !this.store.recordDump(h.agentId, h.sequence, {
        receivedUs: info.receivedUs,
        firstTsUs: h.firstTsUs,
        lastTsUs: h.lastTsUs,
        packetCount: h.packetCount,
        formatVersion: h.version,
        linkType: h.linkType,
        anonKeyId: h.anonKeyId,
        snapLen: h.snapLen,
        compression: h.compression,
        rawPath: info.rawPath ?? null,
        rawBytes: bytes.length,
      });
      if (duplicate) return;
      const engine = this.engines.get(h.agentId);
      dump.forEach((rec) => engine.add(rec));
      this.writer.flush();
    });
    return {
      agentId: h.agentId, sequence: h.sequence, duplicate, packets: duplicate ? 0 : dump.packetCount,
      records: this.writer.written - before,
    };
  }

  /** Ends all open flows (shutdown, end of an import) and writes their records. */
  flushAll(): { nonIp: number } {
    const r = this.engines.flushAll();
    this.writer.flush();
    return r;
  }

  get recordsWritten(): number {
    return this.writer.written;
  }
}
