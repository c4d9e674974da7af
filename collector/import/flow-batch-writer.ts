// Writes emitted flow records, DNS transactions and TLS handshakes (the DNS and TLS logs) to
// the store as they come, inside a transaction that is committed every `batchSize` rows and at
// flush(), so an import does not pay a commit per record. A record the store refuses (a value
// its column cannot take) is counted and reported, and the rest of its batch - other dumps',
// other agents' flows - is stored all the same. When the caller already holds a transaction
// (a dump and the flows it completes are one), the rows go into it and flush() only counts.
//
// Rows are bound and inserted at once rather than held until a batch is full: a record that
// waited for its batch survived scavenges and was promoted, and V8's allocation-site
// pretenuring then threw away and recompiled the code that builds records (docs/benchmarks.md,
// `import`, eighth round).
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import type { AppRecord, DnsRecord, TlsRecord } from '../../shared/flow/app-records.js';
import type { FlowStore, RefusedFlow } from '../../shared/store/flow-store.js';

const NO_DNS: readonly DnsRecord[] = [];
const NO_TLS: readonly TlsRecord[] = [];

export class FlowBatchWriter {
  /** flow records in the open batch (counted into `written` when it is flushed) */
  private flows = 0;
  /** DNS and TLS rows in the open batch */
  private apps = 0;
  /** whether this writer opened the transaction the batch is in (else it is the caller's) */
  private own = false;
  private readonly refusedNow: RefusedFlow[] = [];
  /** one-element arrays for insertAppRecords, reused (emptied after each call) */
  private readonly oneDns: DnsRecord[] = [];
  private readonly oneTls: TlsRecord[] = [];
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
    if (this.flows + this.apps === 0 && this.refusedNow.length === 0) this.open();
    let problem: string | null;
    try {
      problem = this.store.insertFlow(rec);
    } catch (e) {
      this.abort();
      throw e;
    }
    if (problem === null) this.flows++;
    else this.refusedNow.push({ uid: String(rec.uid), agentId: String(rec.agent_id), reason: problem });
    if (this.flows + this.apps + this.refusedNow.length >= this.batchSize) this.flush();
  };

  /** A DNS transaction or TLS handshake for the logs (HTTP requests are not stored). */
  readonly addApp = (a: AppRecord): void => {
    if (a.kind !== 'dns' && a.kind !== 'tls') return;
    if (this.flows + this.apps === 0 && this.refusedNow.length === 0) this.open();
    try {
      if (a.kind === 'dns') {
        this.oneDns.push(a.record);
        this.store.insertAppRecords(this.oneDns, NO_TLS);
      } else {
        this.oneTls.push(a.record);
        this.store.insertAppRecords(NO_DNS, this.oneTls);
      }
    } catch (e) {
      this.abort();
      throw e;
    } finally {
      this.oneDns.length = 0;
      this.oneTls.length = 0;
    }
    this.apps++;
    if (this.flows + this.apps + this.refusedNow.length >= this.batchSize) this.flush();
  };

  /** Drops the open batch (its transaction failed, or the caller's did). */
  clear(): void {
    this.abort();
  }

  /** Commits the open batch (when this writer opened its transaction) and counts its rows. */
  flush(): void {
    if (this.own) {
      this.store.commitWrite();
      this.own = false;
    }
    this.written += this.flows;
    this.appWritten += this.apps;
    this.flows = 0;
    this.apps = 0;
    if (this.refusedNow.length > 0) {
      const refused = this.refusedNow.slice();
      this.refusedNow.length = 0;
      this.refused += refused.length;
      this.onRefused?.(refused);
    }
  }

  private open(): void {
    this.own = this.store.beginWrite();
  }

  /** The batch's rows are gone with its transaction: nothing of it is counted. */
  private abort(): void {
    if (this.own) {
      this.own = false;
      this.store.rollbackWrite();
    }
    this.flows = 0;
    this.apps = 0;
    this.refusedNow.length = 0;
  }
}
