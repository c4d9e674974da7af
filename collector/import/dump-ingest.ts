// Dump files into flows: the collector's live path (call ingest() from the server's
// onDumpCommitted hook) and the importer's. A dump is recorded and the flow records
// it completed are inserted in one store transaction; a dump already recorded for
// (agent, sequence) is skipped, so re-delivery has no effect. The dump's metadata records
// (version 2) are joined to the flow of their packet as it is added (FlowEngine.addMeta):
// their fields go into the flow records, the DNS transactions and TLS handshakes they
// complete into the DNS and TLS logs of the same transaction, and every application record
// to onAppRecord (the analyzers).
import { decodeDump, DumpFlag, type DecodedDump } from '../../shared/dump/index.js';
import type { FlowTimeouts } from '../flow/flow-engine.js';
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import type { AppRecord } from '../../shared/flow/app-records.js';
import type { AppMeta } from '../../shared/appmeta/meta-record.js';
import type { PacketRecord } from '../../shared/packet/packet-record.js';
import type { FlowStore, RefusedFlow } from '../../shared/store/flow-store.js';
import { EngineSet } from './engine-set.js';
import { FlowBatchWriter } from './flow-batch-writer.js';
import { MeerkatError } from '../../shared/errors.js';

export interface DumpIngestResult {
  agentId: string;
  sequence: number;
  duplicate: boolean;
  packets: number;
  /** flow records written while ingesting this dump (they may belong to earlier dumps' flows) */
  records: number;
}

export class DumpAgentMismatchError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_DUMP_AGENT_MISMATCH';
  constructor(expected: string, found: string) {
    super(`dump header names agent ${found}, but it came from agent ${expected}`);
    this.name = 'DumpAgentMismatchError';
  }
}

export class DumpIngest {
  private readonly writer: FlowBatchWriter;
  private readonly engines: EngineSet;

  private readonly onPacket: ((rec: PacketRecord, agentId: string, hasMeta: boolean) => void) | undefined;
  private readonly onMeta: ((m: AppMeta, rec: PacketRecord, agentId: string) => void) | undefined;

  constructor(private readonly store: FlowStore, opts: {
    timeouts?: Partial<FlowTimeouts>;
    onRecord?: (r: FlowRecord) => void;
    /** every packet record before the flow engine sees it (e.g. the DNS name tap); hasMeta: metadata records belong to it */
    onPacket?: (rec: PacketRecord, agentId: string, hasMeta: boolean) => void;
    /** DNS transactions, TLS handshakes and HTTP requests (inside the flow transaction, like onRecord) */
    onAppRecord?: (a: AppRecord) => void;
    /** every metadata record as it is read, with its packet (the watchlist's early check) */
    onMeta?: (m: AppMeta, rec: PacketRecord, agentId: string) => void;
    /** flow records the store refused (the rest of their batch is stored) */
    onRefusedFlows?: (refused: readonly RefusedFlow[]) => void;
  } = {}) {
    this.onPacket = opts.onPacket;
    this.onMeta = opts.onMeta;
    this.writer = new FlowBatchWriter(store, undefined, opts.onRefusedFlows);
    const extra = opts.onRecord;
    const app = opts.onAppRecord;
    this.engines = new EngineSet(extra ? (r) => { this.writer.add(r); extra(r); } : this.writer.add, opts.timeouts,
      app ? (a) => { this.writer.addApp(a); app(a); } : this.writer.addApp);
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
        ...(h.flags ? { extra: { flags: h.flags } } : {}),
      });
      if (duplicate) return;
      this.addToEngine(h.agentId, dump);
      this.store.markFlowsBuilt(h.agentId, h.sequence);
    });
    return {
      agentId: h.agentId, sequence: h.sequence, duplicate, packets: duplicate ? 0 : dump.packetCount,
      records: this.writer.written - before,
    };
  }

  /**
   * The live collector's path: the dump is already recorded (and acked) by the server;
   * build its flows in one transaction that also marks it built. On failure the agent's
   * open flows are discarded (see EngineSet.discard) and the error is thrown; the dump
   * stays pending and is rebuilt by buildPending() at the next start.
   */
  buildFlows(agentId: string, bytes: Uint8Array): number {
    const dump = decodeDump(bytes);
    if (dump.header.agentId !== agentId) throw new DumpAgentMismatchError(agentId, dump.header.agentId);
    const before = this.writer.written;
    try {
      this.store.transaction(() => {
        this.addToEngine(agentId, dump);
        this.store.markFlowsBuilt(agentId, dump.header.sequence);
      });
    } catch (e) {
      this.writer.clear();
      this.engines.discard(agentId);
      throw e;
    }
    return this.writer.written - before;
  }

  /**
   * Moves an agent's packet time forward without packets (the agent reported that all its
   * packets before `packetTimeUs` are stored): flows that went idle or closed meanwhile are
   * written out. Returns how many records that produced.
   */
  advanceAgent(agentId: string, packetTimeUs: number): number {
    const engine = this.engines.peek(agentId);
    if (engine === undefined || packetTimeUs <= engine.packetTime) return 0;
    const before = this.writer.written;
    this.store.transaction(() => {
      engine.advance(packetTimeUs);
      this.writer.flush();
    });
    return this.writer.written - before;
  }

  /**
   * Crash recovery: builds the flows of recorded dumps whose flows were never built
   * (the collector stopped between ack and flow building), reading their raw files.
   */
  buildPending(readRaw: (path: string) => Uint8Array, onError?: (agentId: string, sequence: number, err: Error) => void): number {
    let built = 0;
    for (;;) {
      const pending = this.store.dumpsPendingFlows(256);
      if (pending.length === 0) return built;
      for (const d of pending) {
        try {
          if (!d.rawPath) throw new Error('raw dump file not kept');
          this.buildFlows(d.agentId, readRaw(d.rawPath));
          built++;
        } catch (e) {
          onError?.(d.agentId, d.sequence, e as Error);
          // never loop on a dump that cannot be built: mark it so recovery moves on
          this.store.markFlowsBuilt(d.agentId, d.sequence);
        }
      }
    }
  }

  private addToEngine(agentId: string, dump: DecodedDump): void {
    // retro dumps repeat packets earlier dumps already carried (with payload now): not flows again
    if ((dump.header.flags & DumpFlag.Retro) !== 0) return;
    const engine = this.engines.get(agentId);
    const tap = this.onPacket;
    const meta = dump.meta;
    if (meta.length === 0) {
      if (tap === undefined) dump.forEach((rec) => engine.add(rec));
      else dump.forEach((rec) => { tap(rec, agentId, false); engine.add(rec); });
    } else {
      // records are in packet order: one comparison per packet finds the packets that have some
      let m = 0;
      let next = meta[0]!.packet;
      const onMeta = this.onMeta;
      dump.forEach((rec, i) => {
        const has = i === next;
        if (tap !== undefined) tap(rec, agentId, has);
        engine.add(rec);
        while (i === next) {
          if (onMeta !== undefined) onMeta(meta[m]!.meta, rec, agentId);
          engine.addMeta(meta[m]!.meta);
          next = ++m < meta.length ? meta[m]!.packet : -1;
        }
      });
    }
    this.writer.flush();
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

  /** flow records the store refused so far */
  get recordsRefused(): number {
    return this.writer.refused;
  }
}
