// The dump ledger on top of the collector's FlowStore (collector/store): the dump row lives
// in the same database as the flows, so a flow engine hooked in with onDumpCommitting
// commits a dump's flows in the same transaction as the dump itself.
import { join } from 'node:path';
import type { FlowStore } from '../../shared/store/flow-store.js';
import type { DumpLedger, DumpRow } from './dump-ledger.js';

export class FlowStoreDumpLedger implements DumpLedger {
  constructor(private readonly store: FlowStore, private readonly dumpDir: string) {}

  has(agentId: string, sequence: number): boolean {
    return this.store.getDump(agentId, sequence) !== null;
  }

  commitBatch(rows: readonly DumpRow[], onNew?: (index: number) => void): boolean[] {
    return this.store.transaction(() =>
      rows.map((r, i) => {
        const receivedUs = r.receivedAtMs * 1000;
        this.store.upsertAgent(r.agentId, receivedUs);
        const isNew = this.store.recordDump(r.agentId, r.sequence, {
          receivedUs,
          firstTsUs: r.firstTsUs,
          lastTsUs: r.lastTsUs,
          packetCount: r.packetCount,
          formatVersion: r.formatVersion,
          linkType: r.linkType,
          anonKeyId: r.anonKeyId,
          snapLen: r.snapLen,
          compression: r.compression,
          rawPath: join(this.dumpDir, r.file),
          rawBytes: r.sizeBytes,
          ...(r.flags ? { extra: { flags: r.flags } } : {}),
        });
        if (isNew && onNew) onNew(i);
        return isNew;
      }),
    );
  }

  /** The store belongs to the caller, who closes it. */
  close(): void {}
}
