// The admin API's DNS and TLS logs (GET /v1/dns, GET /v1/tls; docs/commands.md "Console API"):
// the collector database's dns_log / tls_log, filtered by the query parameters agent, addr,
// name, nameSuffix, uid, since, until, limit (default 1000, at most 10,000), rcode (DNS), ja4
// (TLS), newest first. Read through one read-only connection opened on first use. Pseudonyms
// only: the collector never holds the owner key.
import { InputError } from '../../shared/errors.js';
import { appLogFilterFrom, type AppLogOptions } from '../../shared/store/app-log-filter.js';
import { SqliteFlowStore } from '../../shared/store/sqlite-flow-store.js';
import type { DnsRecord, TlsRecord } from '../../shared/flow/app-records.js';
import type { AppLogFilter } from '../../shared/store/flow-store.js';
import { HttpError } from './route-table.js';

export const DEFAULT_LOG_LIMIT = 1000;
export const MAX_LOG_LIMIT = 10_000;

const PARAMS = ['agent', 'addr', 'name', 'nameSuffix', 'uid', 'since', 'until', 'rcode', 'ja4', 'limit'] as const;

export type AppLogRoute = (kind: 'dns' | 'tls', query: URLSearchParams) => { dns: DnsRecord[] } | { tls: TlsRecord[] };

/** The filter of a GET /v1/dns or /v1/tls query. @throws HttpError 400 naming what is wrong */
export function appLogQuery(kind: 'dns' | 'tls', q: URLSearchParams): AppLogFilter {
  for (const k of q.keys()) {
    if (!(PARAMS as readonly string[]).includes(k)) throw new HttpError(400, 'bad-query', `unknown parameter ${k} (known: ${PARAMS.join(', ')})`);
  }
  const o: AppLogOptions = {};
  for (const k of PARAMS) {
    const v = q.get(k);
    if (v === null || k === 'limit') continue;
    o[k] = v;
  }
  const lim = q.get('limit');
  if (lim !== null && (!/^\d+$/.test(lim) || Number(lim) < 1 || Number(lim) > MAX_LOG_LIMIT)) {
    throw new HttpError(400, 'bad-query', `limit must be a whole number 1..${MAX_LOG_LIMIT}`);
  }
  o.limit = lim === null ? DEFAULT_LOG_LIMIT : Number(lim);
  if (kind === 'dns' && o.ja4 !== undefined) throw new HttpError(400, 'bad-query', 'ja4 filters the TLS log only');
  if (kind === 'tls' && o.rcode !== undefined) throw new HttpError(400, 'bad-query', 'rcode filters the DNS log only');
  try {
    return appLogFilterFrom(o);
  } catch (e) {
    if (e instanceof InputError) throw new HttpError(400, 'bad-query', e.message);
    throw e;
  }
}

export function createAppLogRoute(dbPath: string): AppLogRoute & { close(): void } {
  let store: SqliteFlowStore | null = null;
  const route = (kind: 'dns' | 'tls', q: URLSearchParams): { dns: DnsRecord[] } | { tls: TlsRecord[] } => {
    const filter = appLogQuery(kind, q);
    store ??= new SqliteFlowStore(dbPath, { readonly: true });
    return kind === 'dns' ? { dns: [...store.iterateDns(filter)] } : { tls: [...store.iterateTls(filter)] };
  };
  return Object.assign(route, { close: () => { store?.close(); store = null; } });
}
