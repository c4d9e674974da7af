// Collects emitted flow records and writes them to the store in batches (one
// transaction per batch), so an import does not pay a commit per record. A record the
// store refuses (a value its column cannot take) is counted and reported, and the rest of
// its batch - other dumps', other agents' flows - is stored all the same.
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import type { FlowStore, RefusedFlow } from '../../shared/store/flow-store.js';

export class FlowBatchWriter {
  private pending: FlowRecord[] = [];
  written = 0;
  refused = 0;

  constructor(
    private readonly store: FlowStore,
    private readonly batchSize = 5000,
    private readonly onRefused?: (refused: readonly RefusedFlow[]) => void,
  ) {}

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
    const r = this.store.insertFlows(batch);
    this.written += r.inserted;
    if (r.refused.length > 0) {
      this.refused += r.refused.length;
      this.onRefused?.(r.refused);
    }
  }
}
