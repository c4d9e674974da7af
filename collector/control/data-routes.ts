// What the web console reads of an organisation besides the API's flow and alert pages
// (admin-routes.ts: GET flows, flows/summary, alerts, POST alerts/:id/state): the overview's
// aggregates and one alert with its evidence (through the organisation's OrgViews, SQLite or
// PostgreSQL), the flows of a filter as a CSV / JSON-lines export and the server-sent events that
// tell an open page what changed (both read the organisation's SQLite file, org-data-reader.ts).
import { CONN_STATES } from '../../shared/flow/flow-record.js';
import { MeerkatError } from '../../shared/errors.js';
import type { AdminHandler, RequestContext } from './admin-routes.js';
import { intParam, orgOf } from './admin-routes.js';
import { OrgDataReader, parseCursor, type FlowQuery, type FlowRow2 } from './org-data-reader.js';
import type { MaybePromise, OrgViews } from './admin-api.js';
import { HttpError, type RouteSpec } from './route-table.js';

const MAX_EXPORT = 1_000_000;

function notServed(ctx: RequestContext): HttpError {
  return new HttpError(501, 'not-implemented', `${ctx.url.pathname.replace(/^\/v1\/orgs\/[^/]+/, '')} is not served by a scale-out front-end yet (docs/scale-out.md, "Not built yet")`);
}

/** The organisation's SQLite database (export, events); a scale-out front-end has none: 501 naming the page that says so. */
function dbPathOf(ctx: RequestContext): string {
  const p = orgOf(ctx).dbPath;
  if (p === null) throw notServed(ctx);
  return p;
}

/** A store's refusal of the query (not of the database) is the caller's: 400. */
function asBadQuery(e: unknown): unknown {
  if (e instanceof MeerkatError && !(e instanceof HttpError) && (e as { code: string }).code !== 'MEERKAT_ERR_FLOW_STORE') return new HttpError(400, 'bad-query', e.message);
  return e;
}

/** The console's views of the organisation, whichever backend holds it (OrgViews); none: 501. */
async function fromViews<T>(ctx: RequestContext, fn: (v: OrgViews) => MaybePromise<T>): Promise<T> {
  const v = orgOf(ctx).views;
  if (v === undefined) throw notServed(ctx);
  try {
    return await fn(v);
  } catch (e) {
    throw asBadQuery(e);
  }
}

/** µs since the epoch, or an ISO 8601 time. */
function timeParam(u: URL, name: string): number | undefined {
  const v = u.searchParams.get(name);
  if (v === null || v === '') return undefined;
  if (/^\d{1,17}$/.test(v)) return Number(v);
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new HttpError(400, 'bad-query', `${name}: µs since the epoch or an ISO 8601 time`);
  return ms * 1000;
}

function textParam(u: URL, name: string, re: RegExp, what: string): string | undefined {
  const v = u.searchParams.get(name);
  if (v === null || v === '') return undefined;
  if (!re.test(v)) throw new HttpError(400, 'bad-query', `${name}: ${what}`);
  return v;
}

function flowQuery(u: URL): FlowQuery {
  const state = textParam(u, 'state', /^[A-Z0-9]{2,6}$/, `one of ${CONN_STATES.join(', ')}`);
  if (state !== undefined && !(CONN_STATES as readonly string[]).includes(state)) throw new HttpError(400, 'bad-query', `state: one of ${CONN_STATES.join(', ')}`);
  const cursor = u.searchParams.get('cursor');
  const q: FlowQuery = {};
  const agent = textParam(u, 'agent', /^[A-Za-z0-9._-]{1,64}$/, 'an agent id');
  if (agent !== undefined) q.agentId = agent;
  const addr = textParam(u, 'addr', /^[0-9A-Fa-f.:/]{2,50}$/, 'an IPv4/IPv6 address or CIDR prefix');
  if (addr !== undefined) q.addr = addr;
  const port = intParam(u, 'port', 0, 65535);
  if (port !== undefined) q.port = port;
  const proto = textParam(u, 'proto', /^[a-z0-9-]{1,16}$/, 'a protocol name (tcp, udp, icmp, ...)');
  if (proto !== undefined) q.proto = proto;
  if (state !== undefined) q.state = state;
  const cid = textParam(u, 'community', /^1:[A-Za-z0-9+/]{27}=$/, 'a Community ID v1 ("1:" and 28 base64 characters)');
  if (cid !== undefined) q.communityId = cid;
  const uid = textParam(u, 'uid', /^[A-Za-z0-9_.-]{1,64}$/, 'a flow uid');
  if (uid !== undefined) q.uid = uid;
  const since = timeParam(u, 'since');
  if (since !== undefined) q.since = since;
  const until = timeParam(u, 'until');
  if (until !== undefined) q.until = until;
  if (cursor) {
    try {
      q.before = parseCursor(cursor);
    } catch (e) {
      throw new HttpError(400, 'bad-query', (e as Error).message);
    }
  }
  return q;
}

const CSV_COLUMNS = ['start', 'end', 'duration', 'agent_id', 'proto', 'orig_addr', 'orig_port', 'resp_addr', 'resp_port', 'orig_pkts', 'resp_pkts',
  'orig_ip_bytes', 'resp_ip_bytes', 'conn_state', 'history', 'record_cause', 'uid', 'community_id', 'orig_anon', 'resp_anon'] as const;

function csvCell(v: unknown): string {
  const s = typeof v === 'number' || typeof v === 'boolean' ? String(v) : String(v ?? '');
  // a cell a spreadsheet would run as a formula is quoted with a leading apostrophe
  const safe = /^[=+\-@\t\r]/.test(s) && typeof v !== 'number' ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function csvLine(r: FlowRow2): string {
  const o = r as unknown as Record<string, unknown>;
  return CSV_COLUMNS.map((c) => csvCell(c === 'start' || c === 'end' ? new Date(Math.floor(r[c] / 1000)).toISOString() : o[c])).join(',') + '\n';
}

/** Streams the matching records as CSV or JSON lines (newest first, at most MAX_EXPORT or ?max). */
const exportFlows: AdminHandler = async (ctx) => {
  const q = flowQuery(ctx.url);
  const format = ctx.url.searchParams.get('format') ?? 'csv';
  if (format !== 'csv' && format !== 'json') throw new HttpError(400, 'bad-query', 'format: csv or json');
  const max = intParam(ctx.url, 'max', 1, MAX_EXPORT) ?? MAX_EXPORT;
  const reader = new OrgDataReader(dbPathOf(ctx));
  const res = ctx.res;
  let n = 0;
  try {
    const it = reader.iterateFlows(q, max);
    res.writeHead(200, {
      'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson',
      'content-disposition': `attachment; filename="flows-${orgOf(ctx).org}.${format === 'csv' ? 'csv' : 'jsonl'}"`,
      'cache-control': 'no-store',
    });
    if (format === 'csv') res.write(CSV_COLUMNS.join(',') + '\n');
    let buf = '';
    for (const r of it) {
      buf += format === 'csv' ? csvLine(r) : JSON.stringify(r) + '\n';
      n++;
      if (buf.length > 64 * 1024) {
        const ok = res.write(buf);
        buf = '';
        // a reader gone away never drains: its close ends the wait too
        if (!ok) {
          await new Promise<void>((resolve) => {
            const done = (): void => { res.off('drain', done); res.off('close', done); resolve(); };
            res.on('drain', done);
            res.on('close', done);
          });
        }
        if (res.destroyed) break;
      }
    }
    res.end(buf);
  } finally {
    reader.close();
  }
  return { status: 200, streamed: true, detail: { format, rows: n } };
};

function alertId(ctx: RequestContext): number {
  const id = ctx.params.id!;
  if (!/^\d{1,15}$/.test(id)) throw new HttpError(400, 'bad-alert', 'an alert id is a whole number');
  return Number(id);
}

const getAlert: AdminHandler = async (ctx) => {
  const id = alertId(ctx);
  const a = await fromViews(ctx, (v) => v.alert(id));
  if (!a) throw new HttpError(404, 'no-alert', `no alert ${id}`);
  ctx.audit.agentId = a.agentId;
  return { status: 200, body: { alert: a } };
};

const overview: AdminHandler = async (ctx) => {
  const o = orgOf(ctx);
  const minutes = intParam(ctx.url, 'minutes', 1, 24 * 60) ?? 60;
  const data = await fromViews(ctx, (v) => v.overview(minutes, Date.now() * 1000));
  const agents = await o.registry.list(await o.liveAgents());
  return {
    status: 200,
    body: {
      agents: { total: agents.length, online: agents.filter((a) => a.online).length, list: agents },
      ...data,
      window: { from: new Date(Math.floor(data.window.fromUs / 1000)).toISOString(), to: new Date(Math.floor(data.window.toUs / 1000)).toISOString() },
      status: o.status(),
    },
  };
};

/** How often the event stream looks for changes, and how long one stream lasts (the browser's EventSource reconnects). */
const EVENTS_EVERY_MS = 1000;
const EVENTS_FOR_MS = 60_000;

/**
 * Server-sent events of the organisation: "alerts" when an alert was stored or changed, "agents"
 * when an agent came online or went offline or sent a heartbeat - the page then fetches what
 * changed. One stream is one audited request (not one per poll).
 */
const events: AdminHandler = async (ctx) => {
  const o = orgOf(ctx);
  const res = ctx.res;
  const reader = new OrgDataReader(dbPathOf(ctx));
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
  res.write('retry: 1000\n\n');
  let alertsSig = '';
  let agentsSig = '';
  let sent = 0;
  const tick = async (): Promise<void> => {
    try {
      const a = reader.alertsSignature();
      const agents = await o.registry.list(await o.liveAgents());
      const g = agents.map((x) => `${x.agentId}:${x.online ? 1 : 0}:${x.lastSeen ?? ''}`).join(',');
      if (alertsSig !== '' && a !== alertsSig) { res.write(`event: alerts\ndata: ${JSON.stringify({ at: Date.now() })}\n\n`); sent++; }
      if (agentsSig !== '' && g !== agentsSig) {
        res.write(`event: agents\ndata: ${JSON.stringify({ online: agents.filter((x) => x.online).length, total: agents.length })}\n\n`);
        sent++;
      }
      alertsSig = a;
      agentsSig = g;
    } catch {
      res.end();
    }
  };
  void tick();
  await new Promise<void>((resolve) => {
    const t = setInterval(() => void tick(), EVENTS_EVERY_MS);
    const stop = setTimeout(() => res.end(), EVENTS_FOR_MS);
    const done = (): void => { clearInterval(t); clearTimeout(stop); resolve(); };
    res.once('close', done);
    res.once('finish', done);
  });
  reader.close();
  return { status: 200, streamed: true, detail: { events: sent } };
};

export const DATA_ROUTES: readonly RouteSpec<AdminHandler>[] = [
  { method: 'GET', path: '/v1/orgs/:org/events', permission: 'org:read', handler: events },
  { method: 'GET', path: '/v1/orgs/:org/overview', permission: 'org:read', handler: overview },
  { method: 'GET', path: '/v1/orgs/:org/flows/export', permission: 'flows:read', handler: exportFlows },
  { method: 'GET', path: '/v1/orgs/:org/alerts/:id', permission: 'alerts:read', handler: getAlert },
];
