// Collects emitted flow records and writes them to the store in batches (one
// transaction per batch), so an import does not pay a commit per record. A record the
// store refuses (a value its column cannot take) is counted and reported, and the rest of
// its batch - other dumps', other agents' flows - is stored all the same. DNS transactions
// and TLS handshakes (the DNS and TLS logs) go with the same batches.
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import type { AppRecord, DnsRecord, TlsRecord } from '../../shared/flow/app-records.js';
import type { FlowStore, RefusedFlow } from '../../shared/store/flow-store.js';

export class FlowBatchWriter {
  // The three arrays are emptied in place (length = 0), never replaced: the optimized code of
  // the flow engine's emit path inlines add() with the array as a constant field, and replacing
  // it at the first flush (record 5,000) threw that code away, and the new empty array's
  // small-integer elements kind deoptimized it again at the next push.
  private readonly pending: FlowRecord[] = [];
  private readonly dns: DnsRecord[] = [];
  private readonly tls: TlsRecord[] = [];
  written = 0;
  /** DNS and TLS log rows written */
  appWritten = 0;
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

  /** A DNS transaction or TLS handshake for the logs (HTTP requests are not stored). */
  readonly addApp = (a: AppRecord): void => {
    if (a.kind === 'dns') this.dns.push(a.record);
    else if (a.kind === 'tls') this.tls.push(a.record);
    else return;
    if (this.dns.length + this.tls.length >= this.batchSize) this.flushApp();
  };

  /** Drops what is pending (its transaction failed). */
  clear(): void {
    this.pending.length = 0;
    this.dns.length = 0;
    this.tls.length = 0;
  }

  private flushApp(): void {
    if (this.dns.length === 0 && this.tls.length === 0) return;
    const rows = this.dns.length + this.tls.length;
    // the store reads the rows synchronously and keeps no reference to the arrays; they are
    // emptied whether it succeeded or not (as the batch of flows below)
    try {
      this.store.insertAppRecords(this.dns, this.tls);
    } finally {
      this.dns.length = 0;
      this.tls.length = 0;
    }
    this.appWritten += rows;
  }

  flush(): void {
    this.flushApp();
    if (this.pending.length === 0) return;
    let r;
    try {
      r = this.store.insertFlows(this.pending);
    } finally {
      this.pending.length = 0;
    }
    this.written += r.inserted;
    if (r.refused.length > 0) {
      this.refused += r.refused.length;
      this.onRefused?.(r.refused);
    }
  }
}
