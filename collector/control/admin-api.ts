// The operators' API (the collector's `api` port): HTTPS with mutual TLS, default
// 127.0.0.1:9470, one for the whole collector. A request is authenticated (an operator
// certificate of the collector's CA whose CN names an enabled user; the web console adds session
// cookies through the same Authenticator seam), matched against the route table
// (admin-routes.ts, org-admin-routes.ts; docs/api.md), and authorised: an organisation route
// (/v1/orgs/:org/...) needs a membership in THAT organisation whose role holds the route's
// permission, and the organisation must be active; a collector route needs the permission of a
// collector administrator. Non-members get the same answer whether the organisation exists or
// not. Every request - refused ones included - is audited: in the organisation's audit when it
// names an organisation the caller belongs to, in the collector audit otherwise, and in both
// when a caller reaches for an organisation not theirs. JSON in and out.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../../shared/log.js';
import type { RevocationList } from '../../certs/revocation-list.js';
import { checkOperator } from '../../certs/operator-certs.js';
import { allows, isOrgPermission, type Principal } from '../users/roles.js';
import type { LiveAgentInfo, StoredInventory } from './agent-registry.js';
import type { AuditEntry, AuditFilter, AuditInput } from './audit-log.js';
import type { CommandFilter, QueuedCommand } from './command-queue.js';
import type { AgentView } from '../../shared/commands/admin-views.js';
import { MAX_WAIT_S, type AdminHandler, type AuditNames } from './admin-routes.js';
import { HttpError, RouteTable, type RouteSpec } from './route-table.js';
import { limitTimeToFirstRequest, serverTimeoutOptions } from '../server/connection-timeouts.js';
import type { PcapRoute } from './pcap-export.js';
import type { OrgRecord } from '../orgs/org-registry.js';
import type { CollectorAudit } from '../orgs/collector-audit.js';
import type { UserStore } from '../users/user-store.js';
import type { AppLogRoute } from './app-log-route.js';
import type { DataAccess } from './data-access.js';
import type { FeedStatus } from '../respond/threat-watchlist.js';
import type { Overview } from './overview-shape.js';
import type { StoredAlert } from '../../shared/alerts/alert-types.js';
import { PORT_HEADER } from '../../shared/protocol/port-names.js';

/** A value, or a promise of it: the single process answers from SQLite at once, scale-out from PostgreSQL later. */
export type MaybePromise<T> = T | Promise<T>;

/** The organisation's command queue as the API uses it (CommandQueue; scale-out: PgControlStore). */
export interface OrgCommandQueue {
  /** @throws SubmitError */
  submit(raw: unknown, submittedBy: string): MaybePromise<QueuedCommand>;
  get(id: string): MaybePromise<QueuedCommand | null>;
  list(f?: CommandFilter): MaybePromise<QueuedCommand[]>;
  unansweredByAgent(): MaybePromise<Map<string, QueuedCommand[]>>;
}

/** The organisation's audit as the API uses it (AuditLog; scale-out: PgControlStore, written in order in the background). */
export interface OrgAudit {
  record(e: AuditInput): MaybePromise<unknown>;
  list(f?: AuditFilter): MaybePromise<AuditEntry[]>;
}

/** What the API lists of the organisation's agents (AgentRegistry; scale-out: presence and PostgreSQL). */
export interface OrgAgentDirectory {
  list(live: readonly LiveAgentInfo[], extra?: (agentId: string) => Pick<AgentView, 'revoked' | 'pendingCommands'>): MaybePromise<AgentView[]>;
  inventory(agentId: string): MaybePromise<StoredInventory | null>;
}

/** Flows and alerts as the API reads them: DataAccess (SQLite, synchronous) or its asynchronous twin (scale-out). */
export type OrgDataAccess = { [K in Exclude<keyof DataAccess, 'close'>]: (...a: Parameters<DataAccess[K]>) => MaybePromise<ReturnType<DataAccess[K]>> };

/** The DNS and TLS logs as the API reads them (AppLogRoute, or its asynchronous twin). */
export type OrgAppLogs = (...a: Parameters<AppLogRoute>) => MaybePromise<ReturnType<AppLogRoute>>;

/**
 * The web console's own views of an organisation's data (data-routes.ts): the overview's
 * aggregates and one alert. The single process reads them from the organisation's SQLite file
 * (org-data-reader.ts), a scale-out front-end from its PostgreSQL schema (collector/scale/pg-views.ts).
 */
export interface OrgViews {
  /** the aggregates over the `minutes` before now (µs), or before the newest record when nothing is that recent */
  overview(minutes: number, nowUs: number): MaybePromise<Overview>;
  /** null when there is no such alert */
  alert(id: number): MaybePromise<StoredAlert | null>;
}

/** What the API reaches of one running organisation. */
export interface OrgControl {
  readonly org: string;
  /**
   * its SQLite database (flows, alerts): the console's flow export and event stream open it
   * read-only; null where there is none (a scale-out front-end: those answer 501, docs/scale-out.md)
   */
  readonly dbPath: string | null;
  /** the console's overview and single alert; absent: those answer 501 */
  readonly views?: OrgViews;
  readonly queue: OrgCommandQueue;
  readonly audit: OrgAudit;
  readonly registry: OrgAgentDirectory;
  liveAgents(): MaybePromise<LiveAgentInfo[]>;
  /** the agent server's view of this organisation's agents (CollectorServer.agentSummaries) */
  transportAgents(): MaybePromise<unknown[]>;
  /** a command was queued: deliver it now if its agent is connected */
  submitted(cmd: QueuedCommand): void;
  /** resolves with the command once it has ended, or as it is after timeoutMs */
  waitFor(id: string, timeoutMs: number): Promise<QueuedCommand | null>;
  /** whether the agent id was enrolled into this organisation */
  hasAgent(agentId: string): MaybePromise<boolean>;
  /** packet export (pcap-export.ts) of this organisation's dumps */
  pcap?: PcapRoute;
  /** the DNS and TLS logs (app-log-route.ts) of this organisation's database */
  appLogs?: OrgAppLogs;
  /** flows and alerts (data-access.ts) of this organisation's database */
  data?: OrgDataAccess;
  /** quota use and what was refused (org-quotas.ts) */
  status(): Record<string, unknown>;
  /** its threat-intel feeds and their load state (threat-watchlist.ts); absent: none */
  feeds?(): FeedStatus[];
}

/** Everything an API handler may use: the collector-wide state and the organisations. */
export interface AdminApiDeps {
  /** the running organisation's control, or null (not running: suspended, starting, stopping) */
  org(id: string): OrgControl | null;
  orgRecord(id: string): OrgRecord | null;
  users: UserStore;
  collectorAudit: CollectorAudit;
  revocations(): RevocationList;
  /** collector administration (organisations, tokens): provisioning functions bound to the state */
  admin: CollectorAdminOps;
  log: Logger;
}

/** What collector-admin and organisation-admin routes do, as functions over the collector state. */
export interface CollectorAdminOps {
  listOrgs(): OrgRecord[];
  createOrg(o: { id: string; name?: string; actor: string; firstToken?: { uses: number; expiresInSec: number } }): Record<string, unknown>;
  suspendOrg(id: string, actor: string, reason: string): OrgRecord;
  resumeOrg(id: string, actor: string): OrgRecord;
  deleteOrg(id: string, actor: string, reason: string): Record<string, unknown>;
  createToken(org: string, t: { uses: number; expiresInSec: number; label?: string }): { token: string; id: string; org: string; uses: number; expiresAt: Date };
  listTokens(org: string): unknown[];
  revokeToken(org: string, id: string): boolean;
}

export interface AdminApiOptions {
  host: string;
  port: number;
  tls: { key: string; cert: string; ca: string };
}

export interface AdminApi {
  readonly port: number;
  close(): Promise<void>;
}

/** Who a request comes from; null: this authenticator does not apply (the next one is asked). */
export type AuthResult = { ok: true; principal: Principal; actor: string; serial: string } | { ok: false; status: 401 | 403; reason: string; actor: string };
export type Authenticator = (req: IncomingMessage) => AuthResult | null;

/** Mutual TLS: an operator certificate of this CA, not revoked, whose CN is an enabled user. */
export function certificateAuthenticator(deps: Pick<AdminApiDeps, 'users' | 'revocations'>): Authenticator {
  return (req) => {
    const sock = req.socket as TLSSocket;
    const v = checkOperator({ authorized: sock.authorized, authorizationError: sock.authorizationError as unknown as string | null, cert: sock.getPeerCertificate() }, deps.revocations());
    if (!v.ok) return { ok: false, status: v.status, reason: v.reason, actor: v.claimed ? `unauthenticated:${v.claimed.slice(0, 64)}` : 'anonymous' };
    const principal = deps.users.principal(v.name);
    if (!principal) return { ok: false, status: 403, reason: `the certificate's user ${v.name} is not an enabled user of this collector (meerkat-collector user add ${v.name})`, actor: `unauthenticated:${v.name}` };
    return { ok: true, principal, actor: `operator:${v.name}`, serial: v.serial };
  };
}

export type AdminRoute = RouteSpec<AdminHandler>;

/** What the API answers besides its routes (the web console: its pages and login); true: answered. */
export type FrontHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;

/** Headers on every answer: JSON is never sniffed as something else, framed, or cached. */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000',
  'cross-origin-resource-policy': 'same-origin',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
});

export async function startAdminApi(o: AdminApiOptions, deps: AdminApiDeps, routeSpecs: readonly AdminRoute[], authenticators?: readonly Authenticator[], front?: FrontHandler): Promise<AdminApi> {
  const routes = new RouteTable(routeSpecs);
  const auth = authenticators ?? [certificateAuthenticator(deps)];
  const server: Server = createServer({
    key: o.tls.key,
    cert: o.tls.cert,
    ca: [o.tls.ca],
    requestCert: true,
    // verified by hand (checkOperator) so every refusal is answered with its reason and audited
    rejectUnauthorized: false,
    minVersion: 'TLSv1.3',
    // a client that connects and stalls is dropped (collector/server/connection-timeouts.ts)
    ...serverTimeoutOptions({ handshakeMs: 10_000, firstRequestMs: 10_000, headersMs: 15_000, requestMs: (MAX_WAIT_S + 15) * 1000, keepAliveMs: 5_000 }),
  }, (req, res) => void handle(req, res));
  limitTimeToFirstRequest(server, 10_000);

  function authenticate(req: IncomingMessage): AuthResult {
    for (const a of auth) {
      const r = a(req);
      if (r) return r;
    }
    return { ok: false, status: 401, reason: 'no credentials', actor: 'anonymous' };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    res.setHeader(PORT_HEADER, 'api');
    const url = new URL(req.url ?? '/', 'https://admin.invalid');
    for (const [k, v] of Object.entries(API_SECURITY_HEADERS)) res.setHeader(k, v);
    if (front) {
      try {
        if (await front(req, res, url)) return;
      } catch (e) {
        deps.log.error({ err: e, path: url.pathname }, 'console request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'internal', message: 'the collector failed to handle the request (see its log)' }));
        return;
      }
    }
    const method = req.method ?? 'GET';
    const what = `${method} ${url.pathname}`;
    const who = authenticate(req);
    const actor = who.actor;
    const names: AuditNames = { agentId: null, commandId: null };
    let detail: unknown;
    // where this request's audit row goes: the organisation's audit once the caller is shown to belong there
    let orgAudit: OrgAudit | null = null;
    let orgNamed: string | null = null;
    let alsoCollector = true;
    const audit = (status: number): void => {
      const d = { ms: Date.now() - started, ...(detail !== undefined ? { detail } : {}) };
      try {
        // an audit written in the background (scale-out) reports its failure as a synchronous one would
        if (orgAudit) void Promise.resolve(orgAudit.record({ actor, action: `http ${what}`, agentId: names.agentId, commandId: names.commandId, outcome: String(status), detail: d }))
          .catch((e: unknown) => deps.log.error({ err: (e as Error).message }, 'audit write failed'));
        if (!orgAudit || alsoCollector) deps.collectorAudit.record({ actor, action: `http ${what}`, org: orgNamed, outcome: String(status), detail: d });
      } catch (e) {
        deps.log.error({ err: (e as Error).message }, 'audit write failed');
      }
    };
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }).end(JSON.stringify(body));
      audit(status);
    };
    try {
      if (!who.ok) {
        deps.log.warn({ reason: who.reason, actor, what }, 'API request refused');
        throw new HttpError(who.status, 'unauthorized', who.reason);
      }
      const p = who.principal;
      const { route, params } = routes.match(method, url.pathname);
      let orgControl: OrgControl | null = null;
      if (params.org !== undefined) orgNamed = params.org.slice(0, 64);
      if (isOrgPermission(route.permission)) {
        const org = params.org!;
        const member = p.roles.has(org);
        const running = member ? deps.org(org) : null;
        // the organisation sees who tried; the collector sees every reach across organisations
        if (running) orgAudit = running.audit;
        if (!member) {
          orgAudit = deps.orgRecord(org)?.state === 'active' ? deps.org(org)?.audit ?? null : null;
          throw new HttpError(403, 'forbidden', `user ${p.user} is not a member of organisation ${JSON.stringify(org.slice(0, 64))}, or there is no such organisation`);
        }
        alsoCollector = false;
        if (!allows(p, route.permission, org)) {
          throw new HttpError(403, 'forbidden', `user ${p.user} is ${p.roles.get(org)} in organisation ${org}, which lacks the permission ${route.permission} for ${route.method} ${route.path}`);
        }
        const rec = deps.orgRecord(org);
        if (rec?.state === 'suspended') {
          alsoCollector = true;
          throw new HttpError(403, 'org-suspended', `organisation ${org} is suspended${rec.stateReason ? ` (${rec.stateReason})` : ''}`);
        }
        if (!running) throw new HttpError(503, 'org-unavailable', `organisation ${org} is not running on this collector right now; retry shortly`, { 'retry-after': '5' });
        orgControl = running;
      } else if (!allows(p, route.permission)) {
        throw new HttpError(403, 'forbidden', `user ${p.user} lacks the permission ${route.permission} for ${route.method} ${route.path} (collector administrators only)`);
      }
      const reply = await route.handler({ req, res, url, params, principal: p, operator: p.user, serial: who.serial, actor, audit: names, org: orgControl }, deps);
      if ('streamed' in reply) {
        detail = reply.detail;
        return audit(reply.status);
      }
      return send(reply.status, reply.body);
    } catch (e) {
      if (e instanceof HttpError) {
        detail = e.message;
        return send(e.status, { error: e.reason, message: e.message }, e.headers);
      }
      deps.log.error({ err: e, what }, 'API request failed');
      detail = (e as Error).message;
      return send(500, { error: 'internal', message: 'the collector failed to handle the request (see its log)' });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => { server.off('error', reject); resolve(); });
  });
  // a TLS client without an acceptable handshake never reaches a request: audit it from the log side
  server.on('tlsClientError', (err: Error) => deps.log.warn({ err: err.message }, 'API TLS handshake failed'));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
