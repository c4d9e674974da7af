// The asynchronous alert-store contract both backends implement: SqliteAsyncAlertStore (over the
// single process's synchronous SqliteAlertStore) and PgAlertStore (scale-out, one organisation's
// schema). AlertReader is the part the operators' API needs to list and show alerts; one
// contract suite (test/shared/alerts/async-alert-store-contract.ts) runs against both.
import type { AggregatedAlert, AlertChange, AlertFilter, AlertState, StoredAlert } from './alert-types.js';
import type { SqliteAlertStore } from './sqlite-alert-store.js';

/** One page of alerts, most recently seen first; `next` is null on the last page. */
export interface AlertPage {
  alerts: StoredAlert[];
  next: string | null;
}

/** Reading alerts (the operators' API): filters and paging as `GET /v1/alerts` (shared/alerts/alert-query.ts). */
export interface AlertReader {
  get(id: number): Promise<StoredAlert | null>;
  /** alerts matching the filter, most recently seen first (filter.limit caps them) */
  list(filter?: AlertFilter): Promise<StoredAlert[]>;
  /** at most `limit` alerts after the cursor of the previous page (null: the first). @throws AlertStoreError on a bad cursor */
  page(filter: AlertFilter, limit: number, cursor: string | null): Promise<AlertPage>;
  count(filter?: AlertFilter): Promise<number>;
}

export interface AsyncAlertStore extends AlertReader {
  readonly backend: 'sqlite' | 'postgres';
  /** merges aggregated alerts into the live rows, in one transaction; what changed, in order */
  record(batch: readonly AggregatedAlert[]): Promise<AlertChange[]>;
  /** null when there is no such alert; reopening a closed alert whose key has a live row again is refused (AlertStoreError) */
  setState(id: number, state: AlertState): Promise<StoredAlert | null>;
  close(): Promise<void>;
}

/** The single process's store behind the asynchronous contract. */
export class SqliteAsyncAlertStore implements AsyncAlertStore {
  readonly backend = 'sqlite';

  constructor(readonly store: SqliteAlertStore) {}

  async record(batch: readonly AggregatedAlert[]): Promise<AlertChange[]> { return this.store.record(batch); }
  async setState(id: number, state: AlertState): Promise<StoredAlert | null> { return this.store.setState(id, state); }
  async get(id: number): Promise<StoredAlert | null> { return this.store.get(id); }
  async list(filter: AlertFilter = {}): Promise<StoredAlert[]> { return this.store.list(filter); }
  async page(filter: AlertFilter, limit: number, cursor: string | null): Promise<AlertPage> { return this.store.page(filter, limit, cursor); }
  async count(filter: AlertFilter = {}): Promise<number> { return this.store.count(filter); }
  async close(): Promise<void> { this.store.close(); }
}
