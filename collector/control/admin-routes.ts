// The operators' API endpoints of one organisation as a route table: method, path (under
// /v1/orgs/:org), the permission the route needs, and its handler. The API has checked the
// caller's role in that organisation before a handler runs; handlers get the organisation's
// control (ctx.org: its queue, audit, agents, flows and alerts, packet export - all of its own
// database) and nothing of any other, name the agent / command the request was about (for its
// audit row) and return status + JSON. Adding an endpoint is adding a row here (and a section in
// docs/api.md). The collector-level routes (organisations, users, whoami) are in
// org-admin-routes.ts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AGENT_ID_RE, COMMAND_STATES, type CommandState } from '../../shared/commands/command-schema.js';
import type { AdminApiDeps, OrgControl } from './admin-api.js';
import { SubmitError, type QueuedCommand } from './command-queue.js';
import { HttpError, type RouteSpec } from './route-table.js';
import type { Principal } from '../users/roles.js';
import { QueryError, flowQueryFromParams, parseTimeParam, summaryQueryFromParams } from '../../shared/store/flow-query.js';
import { StoreError } from '../../shared/store/flow-store.js';
import { alertQueryFromParams, parseAlertState } from '../../shared/alerts/alert-query.js';
import { AlertStoreError } from '../../shared/alerts/sqlite-alert-store.js';
import { alertView } from '../../shared/alerts/alert-types.js';

const MAX_BODY = 64 * 1024;
export const MAX_WAIT_S = 60;

/** What the audit row of a request names (handlers fill it in as they learn it). */
export interface AuditNames {
  agentId: string | null;
  commandId: string | null;
}

export interface RequestContext {
  readonly req: IncomingMessage;
  /** for handlers that stream their answer (packet export) */
  readonly res: ServerResponse;
  readonly url: URL;
  readonly params: Readonly<Record<string, string>>;
  /** who is asking, with their memberships */
  readonly principal: Principal;
  /** the authenticated user (certificate CN) and certificate serial ('' for other credentials) */
  readonly operator: string;
  readonly serial: string;
  /** audit actor of this request ("operator:NAME") */
  readonly actor: string;
  readonly audit: AuditNames;
  /** the organisation of an organisation route (checked: the caller's role there allows the route) */
  readonly org: OrgControl | null;
}

/** A JSON answer, or one the handler already streamed (only its audit row is left to write). */
export type Reply = { status: number; body: unknown } | { status: number; streamed: true; detail?: unknown };

export type AdminHandler = (ctx: RequestContext, deps: AdminApiDeps) => Reply | Promise<Reply>;

/** The command as the console sees it. */
function commandView(c: QueuedCommand): Record<string, unknown> {
  return {
    id: c.id,
    agentId: c.agentId,
    kind: c.kind,
    state: c.state,
    params: c.envelope.params,
    signer: { operator: c.envelope.operator, keyId: c.envelope.keyId, signed: c.envelope.sig !== undefined },
    submittedBy: c.submittedBy,
    createdAt: new Date(c.createdAt).toISOString(),
    expiresAt: new Date(c.expiresAt).toISOString(),
    deliveredAt: c.deliveredAt ? new Date(c.deliveredAt).toISOString() : null,
    deliveries: c.deliveries,
    finishedAt: c.finishedAt ? new Date(c.finishedAt).toISOString() : null,
    result: c.result,
    error: c.error,
  };
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, 'too-large', `request body above ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      parts.push(d);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

export function intParam(u: URL, name: string, min: number, max: number): number | undefined {
  const v = u.searchParams.get(name);
  if (v === null) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new HttpError(400, 'bad-query', `${name} must be a whole number ${min}..${max}`);
  return Number(v);
}

function agentParam(u: URL): string | undefined {
  const a = u.searchParams.get('agent');
  if (a === null) return undefined;
  if (!AGENT_ID_RE.test(a)) throw new HttpError(400, 'bad-query', 'agent must be an agent id (lower-case UUID)');
  return a;
}

/** The organisation of an organisation route (the API set it after checking the caller's role). */
export function orgOf(ctx: RequestContext): OrgControl {
  if (!ctx.org) throw new HttpError(500, 'internal', 'organisation route without its organisation');
  return ctx.org;
}

/** since= / until= as ms since the epoch (ISO 8601 text or integer µs, as every API time). */
function timeRangeMs(u: URL): { sinceMs?: number; untilMs?: number } {
  const out: { sinceMs?: number; untilMs?: number } = {};
  for (const name of ['since', 'until'] as const) {
    const v = u.searchParams.get(name);
    if (v === null) continue;
    try {
      out[name === 'since' ? 'sinceMs' : 'untilMs'] = Math.floor(parseTimeParam(name, v) / 1000);
    } catch (e) {
      if (e instanceof QueryError) throw new HttpError(400, 'bad-query', e.message);
      throw e;
    }
  }
  return out;
}

/** A query the shared parsers refuse, or a store that refuses a cursor: 400 bad-query. */
function query<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof QueryError) throw new HttpError(400, 'bad-query', e.message);
    if ((e instanceof StoreError || e instanceof AlertStoreError) && /cursor/.test(e.message)) throw new HttpError(400, 'bad-query', e.message);
    throw e;
  }
}

/** query() for a store that may answer later (PostgreSQL). */
async function queryAsync<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await query(fn);
  } catch (e) {
    return query(() => { throw e; });
  }
}

function dataOf(o: OrgControl): NonNullable<OrgControl['data']> {
  if (!o.data) throw new HttpError(404, 'not-found', 'this collector serves no flow or alert data');
  return o.data;
}

const listAgents: AdminHandler = async (ctx, deps) => {
  const o = orgOf(ctx);
  const pending = await o.queue.unansweredByAgent();
  const rev = deps.revocations();
  const agents = await o.registry.list(await o.liveAgents(), (agentId) => ({
    revoked: rev.isAgentRevoked(agentId),
    pendingCommands: (pending.get(agentId) ?? []).map((c) => ({ id: c.id, kind: c.kind, state: c.state, createdAt: new Date(c.createdAt).toISOString() })),
  }));
  return { status: 200, body: { agents } };
};

const transportAgents: AdminHandler = async (ctx) => ({ status: 200, body: { agents: await orgOf(ctx).transportAgents() } });

const agentInventory: AdminHandler = async (ctx) => {
  const o = orgOf(ctx);
  const agentId = ctx.params.id!;
  ctx.audit.agentId = agentId;
  if (!AGENT_ID_RE.test(agentId)) throw new HttpError(400, 'bad-agent', 'not an agent id');
  const inv = await o.registry.inventory(agentId);
  if (!inv) throw new HttpError(404, 'no-inventory', `no inventory of agent ${agentId} yet: run \`meerkat info ${agentId}\``);
  return { status: 200, body: inv };
};

const submitCommand: AdminHandler = async (ctx, deps) => {
  const o = orgOf(ctx);
  const text = await readBody(ctx.req);
  let env: unknown;
  try {
    env = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'malformed', 'request body is not JSON (expected a signed command envelope)');
  }
  const maybe = env as { agentId?: unknown; kind?: unknown };
  // a command for an agent of another organisation (or none) is refused here, not left to expire in this queue
  if (typeof maybe?.agentId === 'string' && AGENT_ID_RE.test(maybe.agentId) && !(await o.hasAgent(maybe.agentId))) {
    await o.audit.record({ actor: ctx.actor, action: 'command.submit', agentId: maybe.agentId, outcome: 'refused:unknown-agent', detail: { kind: typeof maybe.kind === 'string' ? maybe.kind.slice(0, 64) : null } });
    throw new HttpError(404, 'unknown-agent', `no agent ${maybe.agentId} in organisation ${o.org}`);
  }
  let cmd: QueuedCommand;
  try {
    cmd = await o.queue.submit(env, ctx.operator);
  } catch (e) {
    if (e instanceof SubmitError) {
      if (typeof maybe?.agentId === 'string' && AGENT_ID_RE.test(maybe.agentId)) ctx.audit.agentId = maybe.agentId;
      await o.audit.record({ actor: ctx.actor, action: 'command.submit', agentId: ctx.audit.agentId, outcome: `refused:${e.reason}`, detail: { reason: e.message, kind: typeof maybe?.kind === 'string' ? maybe.kind.slice(0, 64) : null } });
      throw new HttpError(e.status, e.reason, e.message);
    }
    throw e;
  }
  ctx.audit.agentId = cmd.agentId;
  ctx.audit.commandId = cmd.id;
  await o.audit.record({
    actor: ctx.actor, action: 'command.submit', agentId: cmd.agentId, commandId: cmd.id, outcome: 'queued',
    detail: { kind: cmd.kind, params: cmd.envelope.params, signer: cmd.envelope.operator, keyId: cmd.envelope.keyId, signed: cmd.envelope.sig !== undefined, expiresAt: new Date(cmd.expiresAt).toISOString() },
  });
  deps.log.info({ org: o.org, commandId: cmd.id, agentId: cmd.agentId, kind: cmd.kind, operator: ctx.operator }, 'command queued');
  o.submitted(cmd);
  return { status: 201, body: { command: commandView((await o.queue.get(cmd.id)) ?? cmd) } };
};

const listCommands: AdminHandler = async (ctx) => {
  const o = orgOf(ctx);
  const u = ctx.url;
  const state = u.searchParams.get('state');
  if (state !== null && !(COMMAND_STATES as readonly string[]).includes(state)) throw new HttpError(400, 'bad-query', `state must be one of ${COMMAND_STATES.join(', ')}`);
  const a = agentParam(u);
  const limit = intParam(u, 'limit', 1, 10_000);
  const list = await o.queue.list({ ...(a ? { agentId: a } : {}), ...(state ? { state: state as CommandState } : {}), ...(limit ? { limit } : {}), ...timeRangeMs(u) });
  return { status: 200, body: { commands: list.map(commandView) } };
};

const getCommand: AdminHandler = async (ctx) => {
  const o = orgOf(ctx);
  const id = ctx.params.id!;
  ctx.audit.commandId = id;
  const wait = intParam(ctx.url, 'wait', 0, MAX_WAIT_S) ?? 0;
  let c = await o.queue.get(id);
  if (!c) throw new HttpError(404, 'no-command', `no command ${id}`);
  ctx.audit.agentId = c.agentId;
  if (wait > 0) c = (await o.waitFor(id, wait * 1000)) ?? c;
  return { status: 200, body: { command: commandView(c) } };
};

const listAudit: AdminHandler = async (ctx) => {
  const o = orgOf(ctx);
  const u = ctx.url;
  const a = agentParam(u);
  const cmd = u.searchParams.get('command');
  const after = intParam(u, 'after', 0, Number.MAX_SAFE_INTEGER);
  const limit = intParam(u, 'limit', 1, 10_000);
  return { status: 200, body: { entries: await o.audit.list({ ...(a ? { agentId: a } : {}), ...(cmd ? { commandId: cmd } : {}), ...(after !== undefined ? { after } : {}), ...(limit ? { limit } : {}), ...timeRangeMs(u) }) } };
};

/** Flow records of the organisation, newest first, one page (docs/api.md, "Flows"). */
const listFlows: AdminHandler = async (ctx) => {
  const q = query(() => flowQueryFromParams(ctx.url.searchParams));
  if (q.filter.agentId) ctx.audit.agentId = q.filter.agentId;
  const page = await queryAsync(() => dataOf(orgOf(ctx)).flowsPage(q));
  return { status: 200, body: { flows: page.records, next: page.next } };
};

/** Top talkers, ports and protocols over a time range (default: the last hour). */
const flowSummary: AdminHandler = async (ctx) => {
  const q = query(() => summaryQueryFromParams(ctx.url.searchParams, Date.now() * 1000));
  if (q.filter.agentId) ctx.audit.agentId = q.filter.agentId;
  const s = await dataOf(orgOf(ctx)).flowsSummary(q);
  const iso = (us: number): string => new Date(Math.floor(us / 1000)).toISOString();
  return { status: 200, body: { since: iso(q.filter.since), until: iso(q.filter.until), sinceUs: q.filter.since, untilUs: q.filter.until, ...s } };
};

const listAlerts: AdminHandler = async (ctx) => {
  const q = query(() => alertQueryFromParams(ctx.url.searchParams));
  if (q.filter.agentId) ctx.audit.agentId = q.filter.agentId;
  const page = await queryAsync(() => dataOf(orgOf(ctx)).alertsPage(q));
  return { status: 200, body: { alerts: page.alerts.map(alertView), next: page.next } };
};

/** Moves an alert of the organisation to open, acknowledged or closed; audited in its audit with who did it. */
const setAlertState: AdminHandler = async (ctx) => {
  const o = orgOf(ctx);
  const idText = ctx.params.id!;
  if (!/^\d{1,15}$/.test(idText)) throw new HttpError(400, 'bad-alert', 'an alert id is a whole number');
  let body: { state?: unknown };
  try {
    body = JSON.parse(await readBody(ctx.req)) as { state?: unknown };
  } catch {
    throw new HttpError(400, 'malformed', 'request body is not JSON (expected {"state": "acknowledged"})');
  }
  if (typeof body?.state !== 'string') throw new HttpError(400, 'malformed', 'expected {"state": "open" | "acknowledged" | "closed"}');
  const state = query(() => parseAlertState(body.state as string));
  let a;
  try {
    a = await dataOf(o).setAlertState(Number(idText), state);
  } catch (e) {
    if (e instanceof AlertStoreError) throw new HttpError(409, 'conflict', e.message);
    throw e;
  }
  if (a === null) throw new HttpError(404, 'no-alert', `no alert ${idText}`);
  ctx.audit.agentId = a.agentId;
  await o.audit.record({ actor: ctx.actor, action: 'alert.state', agentId: a.agentId, outcome: a.state, detail: { alert: a.id, category: a.category, rule: a.rule } });
  return { status: 200, body: { alert: alertView(a) } };
};

/** Packets of the organisation's kept dumps as pcapng, streamed (pcap-export.ts; docs/pcap.md). */
const pcapExport: AdminHandler = async (ctx) => {
  const o = orgOf(ctx);
  if (!o.pcap) throw new HttpError(404, 'not-found', 'packet export is not configured on this collector');
  const r = await o.pcap({ method: 'GET', route: [], url: ctx.url, res: ctx.res, actor: ctx.actor });
  if (r.agentId !== undefined) ctx.audit.agentId = r.agentId;
  return r.json !== undefined ? { status: r.status, body: r.json } : { status: r.status, streamed: true, detail: r.detail };
};

/** Payload bytes kept per agent. */
const pcapUsage: AdminHandler = async (ctx) => {
  const o = orgOf(ctx);
  if (!o.pcap) throw new HttpError(404, 'not-found', 'packet export is not configured on this collector');
  const r = await o.pcap({ method: 'GET', route: ['usage'], url: ctx.url, res: ctx.res, actor: ctx.actor });
  return { status: r.status, body: r.json };
};

/** The DNS and TLS logs of the organisation (app-log-route.ts). */
const appLog = (kind: 'dns' | 'tls'): AdminHandler => async (ctx) => {
  const o = orgOf(ctx);
  if (!o.appLogs) throw new HttpError(404, 'not-found', 'the DNS and TLS logs are not served by this collector');
  const agent = ctx.url.searchParams.get('agent');
  if (agent !== null) ctx.audit.agentId = agentParam(ctx.url) ?? null;
  return { status: 200, body: await o.appLogs(kind, ctx.url.searchParams) };
};

/** The organisation's threat-intel feeds and their load state; none configured: an empty list. */
const listFeeds: AdminHandler = (ctx) => ({ status: 200, body: { feeds: orgOf(ctx).feeds?.() ?? [] } });

/** The organisation-scoped endpoints (the API prefixes nothing: each path names its :org). */
export const ORG_ROUTES: readonly RouteSpec<AdminHandler>[] = [
  { method: 'GET', path: '/v1/orgs/:org/agents', permission: 'agents:read', handler: listAgents },
  { method: 'GET', path: '/v1/orgs/:org/transport/agents', permission: 'agents:read', handler: transportAgents },
  { method: 'GET', path: '/v1/orgs/:org/agents/:id/inventory', permission: 'inventory:read', handler: agentInventory },
  { method: 'POST', path: '/v1/orgs/:org/commands', permission: 'commands:submit', handler: submitCommand },
  { method: 'GET', path: '/v1/orgs/:org/commands', permission: 'commands:read', handler: listCommands },
  { method: 'GET', path: '/v1/orgs/:org/commands/:id', permission: 'commands:read', handler: getCommand },
  { method: 'GET', path: '/v1/orgs/:org/pcap', permission: 'pcap:export', handler: pcapExport },
  { method: 'GET', path: '/v1/orgs/:org/pcap/usage', permission: 'agents:read', handler: pcapUsage },
  { method: 'GET', path: '/v1/orgs/:org/audit', permission: 'audit:read', handler: listAudit },
  { method: 'GET', path: '/v1/orgs/:org/dns', permission: 'flows:read', handler: appLog('dns') },
  { method: 'GET', path: '/v1/orgs/:org/tls', permission: 'flows:read', handler: appLog('tls') },
  { method: 'GET', path: '/v1/orgs/:org/flows', permission: 'flows:read', handler: listFlows },
  { method: 'GET', path: '/v1/orgs/:org/flows/summary', permission: 'flows:read', handler: flowSummary },
  { method: 'GET', path: '/v1/orgs/:org/alerts', permission: 'alerts:read', handler: listAlerts },
  { method: 'POST', path: '/v1/orgs/:org/alerts/:id/state', permission: 'alerts:write', handler: setAlertState },
  { method: 'GET', path: '/v1/orgs/:org/feeds', permission: 'alerts:read', handler: listFeeds },
];
