// Collects emitted flow records and writes them to the store in batches (one
// transaction per batch), so an import does not pay a commit per record.
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import type { FlowStore } from '../../shared/store/flow-store.js';

export class FlowBatchWriter {
  private pending: FlowRecord[] = [];
  written = 0;

  constructor(private readonly store: FlowStore, private readonly batchSize = 5000) {}

  readonly add = (rec: FlowRecord): void => {
    this.pending.push(rec);
    if (this.pending.length >= this.batchSize) this.flush();
  };

  /** Drops what is pending (its transaction failed). */
  clear(): void {
    this.pending = [];
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.store.insertFlows(batch);
    this.written += batch.length;
  }
}
