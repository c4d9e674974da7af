// The operators' API (the collector's `api` port): HTTPS with mutual TLS, default 127.0.0.1:9470.
// Only clients presenting an operator certificate from the collector's CA get in (no anonymous
// access); every request - refused ones included - is written to the audit log with who, what,
// when and the answer. The endpoints, with the permission each needs, are the route table in
// admin-routes.ts (docs/api.md); this module owns TLS, operator authentication,
// the permission check of each route and the audit row of every request. JSON in and out.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../../shared/log.js';
import type { RevocationList } from '../../certs/revocation-list.js';
import { checkOperator } from '../../certs/operator-certs.js';
import type { AgentRegistry, LiveAgentInfo } from './agent-registry.js';
import type { AuditLog } from './audit-log.js';
import type { CommandQueue, QueuedCommand } from './command-queue.js';
import { ADMIN_ROUTES, MAX_WAIT_S, type AuditNames } from './admin-routes.js';
import { HttpError, RouteTable, type Permission } from './route-table.js';
import { limitTimeToFirstRequest, serverTimeoutOptions } from '../server/connection-timeouts.js';
import type { PcapRoute } from './pcap-export.js';
import type { AppLogRoute } from './app-log-route.js';

import type { DataAccess } from './data-access.js';
import { PORT_HEADER } from '../../shared/protocol/port-names.js';

export interface AdminApiDeps {
  queue: CommandQueue;
  audit: AuditLog;
  registry: AgentRegistry;
  liveAgents(): LiveAgentInfo[];
  /** the agent server's per-agent view (CollectorServer.agentSummaries) */
  transportAgents(): unknown[];
  /** a command was queued: deliver it now if its agent is connected */
  submitted(cmd: QueuedCommand): void;
  /** resolves with the command once it has ended, or as it is after timeoutMs */
  waitFor(id: string, timeoutMs: number): Promise<QueuedCommand | null>;
  revocations(): RevocationList;
  /** packet export (pcap-export.ts), when the collector keeps dumps */
  pcap?: PcapRoute;
  /** the DNS and TLS logs (app-log-route.ts) */
  appLogs?: AppLogRoute;
  /** flows and alerts (data-access.ts) */
  data?: DataAccess;
  /** what each operator may do (default: everything; see ALLOW_EVERY_OPERATOR) */
  authorize?: Authorizer;
  log: Logger;
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

/** Who may do what: today every authenticated operator may do everything (roles come with the web console). */
export type Authorizer = (operator: string, permission: Permission) => boolean;

const ALLOW_EVERY_OPERATOR: Authorizer = () => true;

export async function startAdminApi(o: AdminApiOptions, deps: AdminApiDeps): Promise<AdminApi> {
  const routes = new RouteTable(ADMIN_ROUTES);
  const authorize = deps.authorize ?? ALLOW_EVERY_OPERATOR;
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

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    res.setHeader(PORT_HEADER, 'api');
    const sock = req.socket as TLSSocket;
    const verdict = checkOperator({ authorized: sock.authorized, authorizationError: sock.authorizationError as unknown as string | null, cert: sock.getPeerCertificate() }, deps.revocations());
    const url = new URL(req.url ?? '/', 'https://admin.invalid');
    const method = req.method ?? 'GET';
    const what = `${method} ${url.pathname}`;
    const actor = verdict.ok ? `operator:${verdict.name}` : verdict.claimed ? `unauthenticated:${verdict.claimed.slice(0, 64)}` : 'anonymous';
    const names: AuditNames = { agentId: null, commandId: null };
    let detail: unknown;
    const audit = (status: number): void => {
      try {
        deps.audit.record({ actor, action: `http ${what}`, agentId: names.agentId, commandId: names.commandId, outcome: String(status), detail: { ms: Date.now() - started, ...(detail !== undefined ? { detail } : {}) } });
      } catch (e) {
        deps.log.error({ err: (e as Error).message }, 'audit write failed');
      }
    };
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }).end(JSON.stringify(body));
      audit(status);
    };
    try {
      if (!verdict.ok) {
        deps.log.warn({ reason: verdict.reason, claimed: verdict.claimed, what }, 'API request refused');
        throw new HttpError(verdict.status, 'unauthorized', verdict.reason);
      }
      const { route, params } = routes.match(method, url.pathname);
      if (!authorize(verdict.name, route.permission)) {
        throw new HttpError(403, 'forbidden', `operator ${verdict.name} lacks the permission ${route.permission} for ${route.method} ${route.path}`);
      }
      const reply = await route.handler({ req, res, url, params, operator: verdict.name, serial: verdict.serial, actor, audit: names }, deps);
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
