// Collects emitted flow records and writes them to the store in batches (one
// transaction per batch), so an import does not pay a commit per record. A record the
// store refuses (a value its column cannot take) is counted and reported, and the rest of
// its batch - other dumps', other agents' flows - is stored all the same. DNS transactions
// and TLS handshakes (the DNS and TLS logs) go with the same batches.
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import type { AppRecord, DnsRecord, TlsRecord } from '../../shared/flow/app-records.js';
import type { FlowStore, RefusedFlow } from '../../shared/store/flow-store.js';

export class FlowBatchWriter {
  private pending: FlowRecord[] = [];
  private dns: DnsRecord[] = [];
  private tls: TlsRecord[] = [];
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
    this.pending = [];
    this.dns = [];
    this.tls = [];
  }

  private flushApp(): void {
    if (this.dns.length === 0 && this.tls.length === 0) return;
    const dns = this.dns;
    const tls = this.tls;
    this.dns = [];
    this.tls = [];
    this.store.insertAppRecords(dns, tls);
    this.appWritten += dns.length + tls.length;
  }

  flush(): void {
    this.flushApp();
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
