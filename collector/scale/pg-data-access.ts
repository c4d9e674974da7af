// What the operators' API reads of an organisation's data on a scale-out front-end
// (docs/scale-out.md "Operators' API on the front-ends"): flow pages and the DNS and TLS logs from
// the organisation's PostgreSQL schema, as the flow workers wrote them, and the flow summary. What
// the front-end cannot serve yet answers 501 naming that page: DNS/TLS filters on what only the
// stored record holds (address, name, rcode, ja4). Alerts come from the organisation's alerts table the workers write (PgAlertStore).
import type pg from 'pg';
import type { PgFlowStore } from '../../shared/store/postgres/pg-flow-store.js';
import { orgSchema } from '../../shared/store/postgres/pg-schema.js';
import type { AppLogFilter } from '../../shared/store/flow-store.js';
import type { DnsRecord, TlsRecord } from '../../shared/flow/app-records.js';
import type { MaybePromise, OrgAppLogs, OrgDataAccess } from '../control/admin-api.js';
import type { AlertQuery } from '../../shared/alerts/alert-query.js';
import type { AlertState, StoredAlert } from '../../shared/alerts/alert-types.js';
import { appLogQuery } from '../control/app-log-route.js';
import { HttpError } from '../control/route-table.js';
import { PgAlertStore } from '../../shared/alerts/pg-alert-store.js';

/** Alerts of one organisation as the API reads and changes them; the PostgreSQL alert store implements this. */
export interface ScaleAlertAccess {
  alertsPage(q: AlertQuery): MaybePromise<{ alerts: StoredAlert[]; next: string | null }>;
  /** null when there is no such alert */
  setAlertState(id: number, state: AlertState): MaybePromise<StoredAlert | null>;
}

/** The organisation's alert store (the table the flow workers write), opened on first use; a failed open is retried at the next. */
export function pgAlertStoreOpener(pool: pg.Pool, org: string): () => Promise<PgAlertStore> {
  let opening: Promise<PgAlertStore> | null = null;
  return () => {
    opening ??= PgAlertStore.open(pool, org).catch((e: unknown) => {
      opening = null;
      throw e;
    });
    return opening;
  };
}

/** The alerts the flow workers store in the organisation's schema (`store`: default, opened on first use). */
export function pgAlertAccess(pool: pg.Pool, org: string, store: () => Promise<PgAlertStore> = pgAlertStoreOpener(pool, org)): ScaleAlertAccess {
  return {
    alertsPage: async (q) => (await store()).page(q.filter, q.limit, q.cursor),
    setAlertState: async (id, state) => (await store()).setState(id, state),
  };
}

/** A 501 answer: what a scale-out front-end does not serve yet, with the page that says so. */
export function notInScaleOut(what: string): HttpError {
  return new HttpError(501, 'not-implemented', `${what} is not served by a scale-out front-end yet (docs/scale-out.md, "Not built yet")`);
}

export function pgDataAccess(store: PgFlowStore, alerts: ScaleAlertAccess | null): OrgDataAccess {
  const noAlerts = (): never => { throw notInScaleOut('alerts (the flow workers do not store alerts yet)'); };
  return {
    flowsPage: (q) => store.pageFlows(q.filter, q.limit, q.cursor),
    flowsSummary: (q) => store.summarizeFlows(q.filter, q.top),
    alertsPage: (q) => (alerts ? alerts.alertsPage(q) : noAlerts()),
    setAlertState: (id, state) => (alerts ? alerts.setAlertState(id, state) : noAlerts()),
  };
}

/** GET /v1/dns and /v1/tls from the organisation's dns_log / tls_log: filters on agent, uid and time. */
export function pgAppLogs(pool: pg.Pool, org: string): OrgAppLogs {
  const s = orgSchema(org);
  return async (kind, q) => {
    const f: AppLogFilter = appLogQuery(kind, q);
    const unserved = (['addr', 'name', 'rcode', 'ja4'] as const).filter((k) => f[k] !== undefined);
    if (unserved.length > 0) throw notInScaleOut(`filtering the ${kind.toUpperCase()} log by ${unserved.join(', ')}`);
    const params: unknown[] = [];
    const where: string[] = [];
    const p = (v: unknown): string => { params.push(v); return `$${params.length}`; };
    if (f.agentId !== undefined) where.push(`agent_id = ${p(f.agentId)}`);
    if (f.uid !== undefined) where.push(`uid = ${p(f.uid)}`);
    if (f.since !== undefined) where.push(`ts_us >= ${p(f.since)}`);
    if (f.until !== undefined) where.push(`ts_us <= ${p(f.until)}`);
    const dir = f.order === 'asc' ? 'ASC' : 'DESC';
    const r = await pool.query<{ record: DnsRecord | TlsRecord }>(
      `SELECT record FROM ${s}.${kind}_log${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ts_us ${dir}, id ${dir} LIMIT ${f.limit ?? 1000}`, params);
    return kind === 'dns' ? { dns: r.rows.map((x) => x.record as DnsRecord) } : { tls: r.rows.map((x) => x.record as TlsRecord) };
  };
}
