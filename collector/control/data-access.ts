// What the API reads of the collector's data for `GET /v1/flows`, `/v1/flows/summary` and
// `/v1/alerts` (and changes: an alert's state): its own connections to the collector database,
// opened on the first request (the flow side made the tables), apart from the ingest
// connection so a long query never holds up a commit (SQLite WAL: readers do not block the
// writer).
import { SqliteFlowStore } from '../../shared/store/sqlite-flow-store.js';
import { SqliteAlertStore } from '../../shared/alerts/sqlite-alert-store.js';
import type { FlowPage, FlowSummary } from '../../shared/store/flow-store.js';
import type { FlowQuery, SummaryQuery } from '../../shared/store/flow-query.js';
import type { AlertQuery } from '../../shared/alerts/alert-query.js';
import type { AlertState, StoredAlert } from '../../shared/alerts/alert-types.js';

export interface DataAccess {
  flowsPage(q: FlowQuery): FlowPage;
  flowsSummary(q: SummaryQuery): FlowSummary;
  alertsPage(q: AlertQuery): { alerts: StoredAlert[]; next: string | null };
  /** null when there is no such alert */
  setAlertState(id: number, state: AlertState): StoredAlert | null;
  close(): void;
}

export function openDataAccess(dbPath: string): DataAccess {
  let flows: SqliteFlowStore | null = null;
  let alerts: SqliteAlertStore | null = null;
  const flowStore = (): SqliteFlowStore => (flows ??= new SqliteFlowStore(dbPath, { readonly: true }));
  const alertStore = (): SqliteAlertStore => (alerts ??= new SqliteAlertStore(dbPath));
  return {
    flowsPage: (q) => flowStore().pageFlows(q.filter, q.limit, q.cursor),
    flowsSummary: (q) => flowStore().summarizeFlows(q.filter, q.top),
    alertsPage: (q) => alertStore().page(q.filter, q.limit, q.cursor),
    setAlertState: (id, state) => alertStore().setState(id, state),
    close: () => {
      flows?.close();
      alerts?.close();
    },
  };
}
