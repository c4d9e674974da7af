// The operators' admin API: HTTPS with mutual TLS on its own port (default 127.0.0.1:9470).
// Only clients presenting an operator certificate from the collector's CA get in (no anonymous
// access); every request - refused ones included - is written to the audit log with who, what,
// when and the answer. JSON in and out:
//   GET  /v1/whoami                          the operator as the certificate names it
//   GET  /v1/agents                          agents: online, last seen, version, last heartbeat
//   GET  /v1/agents/:id/inventory            last inventory (plain half + sealed ciphertext)
//   POST /v1/commands                        queue a signed envelope -> 201 {command}
//   GET  /v1/commands?agent=&state=&limit=   commands, newest first
//   GET  /v1/commands/:id?wait=S             one command; with wait, until it ends (<= 60 s)
//   GET  /v1/audit?agent=&command=&after=&limit=
//   GET  /v1/pcap?agent=&since=&until=&...  packet export, streamed (pcap-export.ts); /v1/pcap/usage
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../../shared/log.js';
import { AGENT_ID_RE, COMMAND_STATES, type CommandState } from '../../shared/commands/command-schema.js';
import type { RevocationList } from '../../certs/revocation-list.js';
import type { AgentRegistry, LiveAgentInfo } from './agent-registry.js';
import type { AuditLog } from './audit-log.js';
import { SubmitError, type CommandQueue, type QueuedCommand } from './command-queue.js';
import { checkOperator } from '../../certs/operator-certs.js';
import type { PcapRoute } from './pcap-export.js';

export const DEFAULT_ADMIN_API = '127.0.0.1:9470';
const MAX_BODY = 64 * 1024;
const MAX_WAIT_S = 60;

export interface AdminApiDeps {
  queue: CommandQueue;
  audit: AuditLog;
  registry: AgentRegistry;
  liveAgents(): LiveAgentInfo[];
  /** a command was queued: deliver it now if its agent is connected */
  submitted(cmd: QueuedCommand): void;
  /** resolves with the command once it has ended, or as it is after timeoutMs */
  waitFor(id: string, timeoutMs: number): Promise<QueuedCommand | null>;
  revocations(): RevocationList;
  log: Logger;
  /** GET /v1/pcap (packet export, streamed) and /v1/pcap/usage (collector/control/pcap-export.ts) */
  pcap?: PcapRoute;
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

class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The command as the console sees it. */
export function commandView(c: QueuedCommand): Record<string, unknown> {
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

function readBody(req: IncomingMessage): Promise<string> {
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

function intParam(u: URL, name: string, min: number, max: number): number | undefined {
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

export async function startAdminApi(o: AdminApiOptions, deps: AdminApiDeps): Promise<AdminApi> {
  const server: Server = createServer({
    key: o.tls.key,
    cert: o.tls.cert,
    ca: [o.tls.ca],
    requestCert: true,
    // verified by hand (checkOperator) so every refusal is answered with its reason and audited
    rejectUnauthorized: false,
    minVersion: 'TLSv1.3',
    requestTimeout: (MAX_WAIT_S + 15) * 1000,
    headersTimeout: 15_000,
  }, (req, res) => void handle(req, res));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const sock = req.socket as TLSSocket;
    const verdict = checkOperator({ authorized: sock.authorized, authorizationError: sock.authorizationError as unknown as string | null, cert: sock.getPeerCertificate() }, deps.revocations());
    const u = new URL(req.url ?? '/', 'https://admin.invalid');
    const what = `${req.method ?? '?'} ${u.pathname}`;
    let actor = verdict.ok ? `operator:${verdict.name}` : verdict.claimed ? `unauthenticated:${verdict.claimed.slice(0, 64)}` : 'anonymous';
    let agentId: string | null = null;
    let commandId: string | null = null;
    let detail: unknown;
    const send = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(text);
      try {
        deps.audit.record({ actor, action: `http ${what}`, agentId, commandId, outcome: String(status), detail: { ms: Date.now() - started, ...(detail !== undefined ? { detail } : {}) } });
      } catch (e) {
        deps.log.error({ err: (e as Error).message }, 'audit write failed');
      }
    };
    try {
      if (!verdict.ok) {
        deps.log.warn({ reason: verdict.reason, claimed: verdict.claimed, what }, 'admin API request refused');
        throw new HttpError(verdict.status, 'unauthorized', verdict.reason);
      }
      const operator = verdict.name;
      actor = `operator:${operator}`;
      const parts = u.pathname.split('/').filter(Boolean);
      const method = req.method ?? 'GET';
      if (parts[0] !== 'v1') throw new HttpError(404, 'not-found', `no such endpoint ${u.pathname}`);
      const route = parts.slice(1);
      if (method === 'GET' && route.length === 1 && route[0] === 'whoami') return send(200, { operator, serial: verdict.serial });
      if (method === 'GET' && route.length === 1 && route[0] === 'agents') return send(200, { agents: deps.registry.list(deps.liveAgents()) });
      if (method === 'GET' && route.length === 3 && route[0] === 'agents' && route[2] === 'inventory') {
        agentId = route[1]!;
        if (!AGENT_ID_RE.test(agentId)) throw new HttpError(400, 'bad-agent', 'not an agent id');
        const inv = deps.registry.inventory(agentId);
        if (!inv) throw new HttpError(404, 'no-inventory', `no inventory of agent ${agentId} yet: run \`meerkat info ${agentId}\``);
        return send(200, inv);
      }
      if (method === 'POST' && route.length === 1 && route[0] === 'commands') {
        const text = await readBody(req);
        let env: unknown;
        try {
          env = JSON.parse(text);
        } catch {
          throw new HttpError(400, 'malformed', 'request body is not JSON (expected a signed command envelope)');
        }
        let cmd: QueuedCommand;
        try {
          cmd = deps.queue.submit(env, operator);
        } catch (e) {
          if (e instanceof SubmitError) {
            const maybe = env as { agentId?: unknown; kind?: unknown };
            if (typeof maybe?.agentId === 'string' && AGENT_ID_RE.test(maybe.agentId)) agentId = maybe.agentId;
            deps.audit.record({ actor, action: 'command.submit', agentId, outcome: `refused:${e.code}`, detail: { reason: e.message, kind: typeof maybe?.kind === 'string' ? maybe.kind.slice(0, 64) : null } });
            throw new HttpError(e.status, e.code, e.message);
          }
          throw e;
        }
        agentId = cmd.agentId;
        commandId = cmd.id;
        deps.audit.record({
          actor, action: 'command.submit', agentId, commandId, outcome: 'queued',
          detail: { kind: cmd.kind, params: cmd.envelope.params, signer: cmd.envelope.operator, keyId: cmd.envelope.keyId, signed: cmd.envelope.sig !== undefined, expiresAt: new Date(cmd.expiresAt).toISOString() },
        });
        deps.log.info({ commandId: cmd.id, agentId, kind: cmd.kind, operator }, 'command queued');
        deps.submitted(cmd);
        return send(201, { command: commandView(deps.queue.get(cmd.id) ?? cmd) });
      }
      if (method === 'GET' && route.length === 1 && route[0] === 'commands') {
        const state = u.searchParams.get('state');
        if (state !== null && !(COMMAND_STATES as readonly string[]).includes(state)) throw new HttpError(400, 'bad-query', `state must be one of ${COMMAND_STATES.join(', ')}`);
        const a = agentParam(u);
        const limit = intParam(u, 'limit', 1, 10_000);
        return send(200, { commands: deps.queue.list({ ...(a ? { agentId: a } : {}), ...(state ? { state: state as CommandState } : {}), ...(limit ? { limit } : {}) }).map(commandView) });
      }
      if (method === 'GET' && route.length === 2 && route[0] === 'commands') {
        commandId = route[1]!;
        const wait = intParam(u, 'wait', 0, MAX_WAIT_S) ?? 0;
        let c = deps.queue.get(commandId);
        if (!c) throw new HttpError(404, 'no-command', `no command ${commandId}`);
        agentId = c.agentId;
        if (wait > 0) c = (await deps.waitFor(commandId, wait * 1000)) ?? c;
        return send(200, { command: commandView(c) });
      }
      if (route[0] === 'pcap' && deps.pcap) {
        const r = await deps.pcap({ method, route: route.slice(1), url: u, res, actor });
        agentId = r.agentId ?? null;
        detail = r.detail;
        if (r.json !== undefined) return send(r.status, r.json);
        return void deps.audit.record({ actor, action: `http ${what}`, agentId, outcome: String(r.status), detail: { ms: Date.now() - started, detail } });
      }
      if (method === 'GET' && route.length === 1 && route[0] === 'audit') {
        const a = agentParam(u);
        const cmd = u.searchParams.get('command');
        const after = intParam(u, 'after', 0, Number.MAX_SAFE_INTEGER);
        const limit = intParam(u, 'limit', 1, 10_000);
        return send(200, { entries: deps.audit.list({ ...(a ? { agentId: a } : {}), ...(cmd ? { commandId: cmd } : {}), ...(after !== undefined ? { after } : {}), ...(limit ? { limit } : {}) }) });
      }
      throw new HttpError(404, 'not-found', `no such endpoint ${what}`);
    } catch (e) {
      if (e instanceof HttpError) {
        detail = e.message;
        return send(e.status, { error: e.code, message: e.message });
      }
      deps.log.error({ err: e, what }, 'admin API request failed');
      detail = (e as Error).message;
      return send(500, { error: 'internal', message: 'the collector failed to handle the request (see its log)' });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => { server.off('error', reject); resolve(); });
  });
  // a TLS client without an acceptable handshake never reaches a request: audit it from the log side
  server.on('tlsClientError', (err: Error) => deps.log.warn({ err: err.message }, 'admin API TLS handshake failed'));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
