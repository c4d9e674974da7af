// The collector's agent-facing server: one TLS port (TLS 1.3; 1.2 only when configured)
// carrying HTTPS enrollment and the agents' WebSocket, plus the plain-HTTP ops port (/healthz, /metrics).
// Client certificates are requested but verified BY HAND (see peer-check.ts) so that every
// refusal is counted and logged with its reason; revocation is re-checked on every connect
// and live connections of a newly revoked agent are closed. Each agent belongs to the
// organisation whose CA signed its certificate (org-lanes.ts): its uploads go to that
// organisation's lane, commands and watchlists come from it, and a certificate that claims
// another organisation than its signer's is refused.
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { logger, type Logger } from '../../shared/log.js';
import { readDumpHeader } from '../../shared/dump/dump-header.js';
import { DEFAULT_ORG } from '../../shared/orgs/org-id.js';
import { EnrollTokenStore } from '../../certs/enroll-tokens.js';
import { signAgentCsr } from '../../certs/issue-certificates.js';
import { loadPki, type LoadedPki } from '../../certs/pki-dir.js';
import { privateKeyPem } from '../../certs/rsa-signer.js';
import type { RevocationList } from '../../certs/revocation-list.js';
import { AGENT_WS_PATH, CloseCode, ENROLL_CA_PATH, ENROLL_PATH, REFUSAL_HEADER, UPLOAD_HEADER_LEN, type AgentHealth, type CollectorMessage } from '../../shared/protocol/agent-protocol.js';
import { startOpsServer, type OpsServer } from './ops-server.js';
import { PORT_HEADER } from '../../shared/protocol/port-names.js';
import { awaitHello } from './agent-hello.js';
import { limitTimeToFirstRequest, serverTimeoutOptions, type ConnectionTimeouts } from './connection-timeouts.js';
import { RefusalLog, type RefusalLogOptions } from './refusal-log.js';
import { SourceLimiter } from './source-limiter.js';
import { AgentSession, AgentState, type DumpCommittedHook, type SessionDeps } from './agent-session.js';
import { SingleOrgDirectory, type IngestLane, type OrgClassification, type OrgDirectory, type WatchlistSource } from './org-lanes.js';
import { CollectorMetrics } from './collector-metrics.js';
import { DEFAULT_LIMITS, type CollectorLimits } from './collector-limits.js';
import { DumpCommitter, type CommitFs, type InTransactionHook, type StorageError, type UploadCommitter } from './dump-committer.js';
import { FlowStoreDumpLedger } from './flow-store-ledger.js';
import type { FlowStore } from '../../shared/store/flow-store.js';
import { SqliteDumpLedger, type DumpLedger } from './dump-ledger.js';
import { verifyDumpBody } from './dump-verifier.js';
import { handleEnroll, serveCaCert, sqliteTokenSource, type EnrollTokenSource } from './enroll-handler.js';
import { InflightGate } from './inflight-gate.js';
import { RefusalReason, checkPeer, classifyTlsClientError, type PeerVerdict } from './peer-check.js';
import { RevocationWatcher } from './revocation-watcher.js';

export interface CollectorServerOptions {
  pkiDir: string;
  /** enrollment tokens, the default dump ledger */
  stateDir: string;
  /** where enrollment tokens are checked and used (default: <stateDir>/collector.db); owned by the server */
  tokens?: EnrollTokenSource;
  /** raw dump files; default <stateDir>/dumps */
  dumpDir?: string;
  listen: { host: string; port: number };
  /** the ops port: plain HTTP /healthz and /metrics; false to disable */
  ops?: { host: string; port: number } | false;
  /** 'TLSv1.3' (default) or 'TLSv1.2' to also allow 1.2 */
  tlsMinVersion?: 'TLSv1.3' | 'TLSv1.2';
  limits?: Partial<CollectorLimits>;
  /** validity of issued agent certificates (enrollment and renewal), days */
  agentCertDays?: number;
  revocationPollMs?: number;
  /**
   * The collector's store: dumps are recorded in it (FlowStoreDumpLedger) so flows inserted by
   * onDumpCommitting commit with them. Owned by the caller.
   */
  store?: FlowStore;
  /** dump ledger when no store is given; default a SqliteDumpLedger at <stateDir>/dump-ledger.sqlite (owned by the server) */
  ledger?: DumpLedger;
  /**
   * What makes an upload durable before its ack, instead of the local dump dir + ledger (a
   * scale-out front-end publishes to JetStream: collector/scale/jetstream-committer.ts); only
   * without `orgs`, for the single lane
   */
  committer?: UploadCommitter;
  /** file operations of the committer (tests inject failures) */
  commitFs?: CommitFs;
  /** full integrity check of a dump body; default decodes the dump */
  verifyBody?: (bytes: Uint8Array) => void;
  /** inside the commit transaction of each new dump (see InTransactionHook); throwing nacks the dump (retry) */
  onDumpCommitting?: InTransactionHook;
  /** after the commit and the ack of each new dump */
  onDumpCommitted?: DumpCommittedHook;
  onHeartbeat?: (agentId: string, health: AgentHealth) => void;
  onCommandResult?: (agentId: string, id: string, ok: boolean, result: unknown, error: string | undefined) => void;
  /** threat-intel watchlist pushed to every agent on connect and on change (collector/respond) */
  watchlist?: WatchlistSource;
  /**
   * The organisations (the collector's composition root): which organisation each agent is in,
   * its lane, the CA that signs for it. Without it the server is the pre-organisation collector:
   * one lane built from store/ledger/dumpDir and the hooks above, the root CA signs agents.
   */
  orgs?: OrgDirectory;
  /** the signed revocation list took effect (at start and after each change) */
  onRevocations?: (list: RevocationList) => void;
  log?: Logger;
  /** how many refusal lines are logged one by one (refusal-log.ts; defaults: 5 per source, 100 per minute) */
  refusalLog?: RefusalLogOptions;
  /** register process default metrics (default true) */
  defaultMetrics?: boolean;
  /** other parts' health (the analyzers): reasons make /healthz degraded, notes are listed beside */
  healthChecks?: () => { reasons: string[]; notes: string[] };
}

/**
 * The client's address of a socket, also after the TLS layer dropped it (a handshake that
 * failed or timed out destroys the TLS socket before 'tlsClientError'; the TCP socket under
 * it, `_parent` in Node, still knows).
 */
function remoteOf(socket: Socket): string {
  return socket.remoteAddress ?? (socket as unknown as { _parent?: Socket })._parent?.remoteAddress ?? '?';
}

/** A verified peer with its organisation's verdict folded in. */
function withOrg(v: PeerVerdict & { ok: true }, c: OrgClassification): PeerVerdict & { org?: string } {
  return c.ok ? { ...v, org: c.org } : { ok: false, reason: c.reason, detail: c.detail, claimedCn: v.agentId, serial: v.serial, ...(c.org ? { org: c.org } : {}) };
}

/** Status of an upgrade refused for an organisation reason: retryable ones are 503. */
function orgRefusalStatus(reason: string): number {
  return reason === RefusalReason.OrgSuspended || reason === RefusalReason.OrgUnavailable ? 503 : 403;
}

export interface AgentSummary {
  agentId: string;
  connected: boolean;
  connectedSince: string | null;
  lastHeartbeat: string | null;
  health: AgentHealth | null;
  stored: number;
  duplicates: number;
  nacked: number;
}

export class CollectorServer {
  readonly metrics: CollectorMetrics;
  readonly limits: CollectorLimits;
  private readonly log: Logger;
  private readonly https: HttpsServer;
  private readonly wss: WebSocketServer;
  private readonly agents = new Map<string, AgentState>();
  private readonly sessions = new Set<AgentSession>();
  private readonly verdicts = new WeakMap<Socket, PeerVerdict & { org?: string }>();
  /** sockets whose organisation is being looked up (an asynchronous directory) */
  private readonly pendingVerdicts = new WeakMap<Socket, Promise<void>>();
  private readonly orgs: OrgDirectory;
  private readonly counted = new WeakSet<Socket>();
  private readonly deps: SessionDeps;
  /** refusals of connections, enrollments and uploads, logged a few per source and interval */
  private readonly refusalLog: RefusalLog;
  private readonly enrollLimiter: SourceLimiter;
  /** upgraded connections still waiting for their hello */
  private readonly greeting = new Set<WebSocket>();
  private ops: OpsServer | null = null;
  private pingTimer: NodeJS.Timeout | undefined;
  private shuttingDown = false;
  private lastStorageFailure: { atMs: number; message: string } | null = null;
  private revocations: RevocationWatcher;
  private unsubscribeWatchlist: (() => void) | null = null;
  port = 0;

  private constructor(
    private readonly opts: CollectorServerOptions,
    private pki: LoadedPki,
    private readonly tokens: EnrollTokenSource,
    private readonly ledger: DumpLedger | null,
    orgs: OrgDirectory,
  ) {
    this.orgs = orgs;
    this.log = opts.log ?? logger('collector-server');
    this.metrics = new CollectorMetrics(opts.defaultMetrics ?? true);
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.refusalLog = new RefusalLog(this.log, 'collector', opts.refusalLog);
    this.enrollLimiter = new SourceLimiter(this.limits.enrollFailuresPerSec, this.limits.enrollFailureBurst);
    this.revocations = new RevocationWatcher(
      pki.paths.revocations,
      pki.ca.certPem,
      (list) => { this.metrics.revocationReloads.inc({ result: 'ok' }); this.enforceRevocations(list); this.opts.onRevocations?.(list); },
      () => this.metrics.revocationReloads.inc({ result: 'error' }),
      this.log,
    );
    this.deps = {
      limits: this.limits,
      readHeader: readDumpHeader,
      verifyBody: opts.verifyBody ?? verifyDumpBody,
      gate: new InflightGate(this.limits.agentInflightBytes, this.limits.globalInflightBytes),
      metrics: this.metrics,
      log: this.log,
      refusals: this.refusalLog,
      renew: (org, agentId, csr) => this.renew(org, agentId, csr),
      noteStorageFailure: (e: StorageError) => { this.lastStorageFailure = { atMs: Date.now(), message: e.message }; },
    };
    this.https = createHttpsServer({
      key: privateKeyPem(pki.serverKey),
      cert: pki.serverCertPem,
      ca: [pki.ca.certPem],
      requestCert: true,
      // verified by hand in checkPeer: Node would otherwise drop a wrong-CA client as a bare reset
      rejectUnauthorized: false,
      minVersion: opts.tlsMinVersion ?? 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      // refused or stalled TLS clients must not hold sockets (connection-timeouts.ts)
      ...serverTimeoutOptions(this.connectionTimeouts()),
    }, (req, res) => this.onRequest(req, res));
    limitTimeToFirstRequest(this.https, this.limits.handshakeTimeoutSec * 1000, (sock) =>
      this.refuse(sock, RefusalReason.Timeout, `no request within ${this.limits.handshakeTimeoutSec} s of the TLS handshake`, {}));
    this.wss = new WebSocketServer({
      noServer: true,
      // beyond this ws closes with 1009; between maxDumpBytes and this we answer with a nack
      maxPayload: this.limits.maxDumpBytes + UPLOAD_HEADER_LEN + 1024 * 1024,
      perMessageDeflate: false, // dumps are compressed already
      clientTracking: false,
    });
    // Node forgets a socket's peer once it is destroyed, unless it was read before: read it at accept
    this.https.on('connection', (raw: Socket) => { void raw.remoteAddress; });
    this.https.on('secureConnection', (s: TLSSocket) => this.onSecureConnection(s));
    this.https.on('tlsClientError', (err: NodeJS.ErrnoException, s: TLSSocket) => this.onTlsClientError(err, s));
    this.https.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.onUpgrade(req, socket, head));
  }

  static async start(opts: CollectorServerOptions): Promise<CollectorServer> {
    const pki = loadPki(opts.pkiDir);
    const tokens = opts.tokens ?? sqliteTokenSource(EnrollTokenStore.open(opts.stateDir));
    let ownLedger: DumpLedger | null = null;
    let server: CollectorServer | undefined;
    try {
      let orgs = opts.orgs;
      if (!orgs) {
        // the pre-organisation server: one lane, owned here
        let committer: UploadCommitter;
        if (opts.committer) committer = opts.committer;
        else {
          const dumpDir = opts.dumpDir ?? join(opts.stateDir, 'dumps');
          const ledger = opts.ledger ?? (opts.store ? new FlowStoreDumpLedger(opts.store, dumpDir) : (ownLedger = new SqliteDumpLedger(join(opts.stateDir, 'dump-ledger.sqlite'))));
          committer = await DumpCommitter.open({
            dumpDir,
            ledger,
            ...(opts.commitFs ? { fs: opts.commitFs } : {}),
            ...(opts.onDumpCommitting ? { inTransaction: opts.onDumpCommitting } : {}),
          });
        }
        const lane: IngestLane = { org: DEFAULT_ORG, committer, onDumpCommitted: opts.onDumpCommitted, onHeartbeat: opts.onHeartbeat, onCommandResult: opts.onCommandResult, watchlist: opts.watchlist };
        orgs = new SingleOrgDirectory(pki.ca, new X509Certificate(pki.ca.certPem), opts.pkiDir, lane);
      }
      server = new CollectorServer(opts, pki, tokens, ownLedger, orgs);
      await server.listen();
      return server;
    } catch (e) {
      if (server) await server.close().catch(() => undefined);
      else {
        await Promise.resolve(tokens.close()).catch(() => undefined);
        ownLedger?.close();
      }
      throw e;
    }
  }

  private async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.https.once('error', reject);
      this.https.listen(this.opts.listen.port, this.opts.listen.host, () => { this.https.off('error', reject); resolve(); });
    });
    this.port = (this.https.address() as AddressInfo).port;
    this.revocations.start(this.opts.revocationPollMs ?? 1000);
    this.opts.onRevocations?.(this.revocations.list);
    this.pingTimer = setInterval(() => this.pingAll(), this.limits.heartbeatSec * 1000);
    this.pingTimer.unref();
    // the pre-organisation server's one watchlist (organisations push theirs with pushToOrg)
    if (!this.opts.orgs) this.unsubscribeWatchlist = this.opts.watchlist?.subscribe(() => this.pushToOrg(DEFAULT_ORG, this.opts.watchlist?.current() ?? null)) ?? null;
    if (this.opts.ops !== false) {
      const a = this.opts.ops ?? { host: '127.0.0.1', port: 9469 };
      this.ops = await startOpsServer(a.host, a.port, this.metrics, { health: () => this.health() }, this.connectionTimeouts());
    }
    this.log.info({ port: this.port, opsPort: this.ops?.port ?? null, tlsMin: this.opts.tlsMinVersion ?? 'TLSv1.3' }, 'collector listening');
  }

  /**
   * Re-reads the PKI (the root certified again with the same key, when a pre-organisation
   * collector got its first organisation CA) and makes TLS verify with it from the next handshake.
   */
  reloadPki(): void {
    this.pki = loadPki(this.opts.pkiDir);
    this.https.setSecureContext({ key: privateKeyPem(this.pki.serverKey), cert: this.pki.serverCertPem, ca: [this.pki.ca.certPem], minVersion: this.opts.tlsMinVersion ?? 'TLSv1.3', maxVersion: 'TLSv1.3' });
  }

  get opsPort(): number | null {
    return this.ops?.port ?? null;
  }

  get caFingerprint(): string {
    return this.pki.caFingerprint;
  }

  /** Connection limits of the agent port (the handshake limit also bounds the first request and the hello). */
  private connectionTimeouts(): ConnectionTimeouts {
    const ms = this.limits.handshakeTimeoutSec * 1000;
    // Node refuses a request timeout below the headers timeout
    return { handshakeMs: ms, firstRequestMs: ms, headersMs: Math.max(ms, 15_000), requestMs: Math.max(30_000, 2 * ms), keepAliveMs: 5_000 };
  }

  // ---- refusals ------------------------------------------------------------------

  /**
   * Counts and logs a refused connection, once per socket. Every refusal line carries the
   * source address: the operator needs it to act on a hostile or broken client (accepted
   * agents' lines never carry it). Lines are rate-limited per source (refusal-log.ts).
   */
  private refuse(socket: Socket, reason: string, detail: string, extra: Record<string, unknown>): void {
    if (this.counted.has(socket)) return;
    this.counted.add(socket);
    this.metrics.refusals.inc({ reason });
    const remote = remoteOf(socket);
    this.refusalLog.refused(remote, reason, { detail, remote, ...extra }, 'connection refused');
  }

  private onTlsClientError(err: NodeJS.ErrnoException, socket: TLSSocket): void {
    const { reason, detail } = classifyTlsClientError(err);
    this.refuse(socket, reason, detail, {});
  }

  private onSecureConnection(s: TLSSocket): void {
    const cert = s.getPeerCertificate();
    const v: PeerVerdict = checkPeer({ authorized: s.authorized, authorizationError: s.authorizationError as unknown as string | null, cert }, this.revocations.list);
    if (!v.ok) return this.setVerdict(s, v);
    // the organisation comes from the CA that verifiably signed the certificate, never from what it says
    const c = this.classifyOrg(new X509Certificate(cert.raw), v.agentId);
    if (!(c instanceof Promise)) return this.setVerdict(s, withOrg(v, c));
    // a directory over a shared database may have to look the agent up: requests on this socket wait for it
    this.pendingVerdicts.set(s, c.then((r) => this.setVerdict(s, withOrg(v, r))).finally(() => this.pendingVerdicts.delete(s)));
  }

  /** The directory's answer; a failed lookup is a retryable refusal, never an accepted agent. */
  private classifyOrg(leaf: X509Certificate, agentId: string): OrgClassification | Promise<OrgClassification> {
    const unavailable = (e: unknown): OrgClassification => {
      this.log.warn({ agentId, err: (e as Error).message }, 'looking up the organisation of an agent failed; refused for now (it retries)');
      return { ok: false, reason: RefusalReason.OrgUnavailable, detail: 'the collector cannot look up the agent\'s organisation right now; retry later' };
    };
    try {
      const c = this.orgs.classify(leaf, agentId);
      return c instanceof Promise ? c.catch(unavailable) : c;
    } catch (e) {
      return unavailable(e);
    }
  }

  private setVerdict(s: Socket, v: PeerVerdict & { org?: string }): void {
    this.verdicts.set(s, v);
    // a bad certificate is refused at once; "no certificate" is fine for enrollment, refused later
    if (!v.ok && v.reason !== RefusalReason.NoClientCert) {
      this.refuse(s, v.reason, v.detail, { claimedCn: v.claimedCn, serial: v.serial, ...(v.org ? { org: v.org } : {}) });
    }
  }

  private verdictOf(socket: Socket): PeerVerdict & { org?: string } {
    return this.verdicts.get(socket) ?? { ok: false, reason: RefusalReason.NoClientCert, detail: 'no TLS verdict for this socket', claimedCn: '', serial: '' };
  }

  // ---- HTTPS: enrollment -------------------------------------------------------------

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const pending = this.pendingVerdicts.get(req.socket);
    if (pending) return void pending.then(() => this.onRequest(req, res));
    const path = (req.url ?? '/').split('?')[0];
    res.setHeader(PORT_HEADER, 'listen');
    if (path === ENROLL_CA_PATH && req.method === 'GET') return serveCaCert(res, this.pki.ca);
    if (path === ENROLL_PATH && req.method === 'POST') {
      handleEnroll(req, res, {
        rootCertPem: this.pki.ca.certPem,
        orgs: this.orgs,
        tokens: this.tokens,
        metrics: this.metrics,
        log: this.log,
        agentCertDays: this.opts.agentCertDays ?? 90,
        limiter: this.enrollLimiter,
        refusals: this.refusalLog,
      }).catch((e: unknown) => {
        this.log.error({ err: e }, 'enrollment failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'internal', message: 'enrollment failed on the collector' }));
      });
      return;
    }
    const v = this.verdictOf(req.socket);
    if (!v.ok) {
      this.refuse(req.socket, v.reason, v.detail, { claimedCn: v.claimedCn, path });
      res.writeHead(403, { [REFUSAL_HEADER]: v.reason, 'content-type': 'text/plain', connection: 'close' }).end(`refused: ${v.detail}\n`);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found; agents connect with a WebSocket on ${AGENT_WS_PATH}\n`);
  }

  // ---- WebSocket: agents ------------------------------------------------------------

  private rejectUpgrade(socket: Socket, status: number, reason: string, detail: string): void {
    const body = `${detail}\n`;
    socket.end(
      `HTTP/1.1 ${status} ${status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : 'Service Unavailable'}\r\n` +
        `${REFUSAL_HEADER}: ${reason}\r\n${PORT_HEADER}: listen\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const pending = this.pendingVerdicts.get(socket);
    if (pending) return void pending.then(() => this.onUpgrade(req, socket, head));
    const path = (req.url ?? '/').split('?')[0];
    if (path !== AGENT_WS_PATH) return this.rejectUpgrade(socket, 404, 'not-found', `agents connect on ${AGENT_WS_PATH}`);
    const v = this.verdictOf(socket);
    if (!v.ok) {
      this.refuse(socket, v.reason, v.detail, { claimedCn: v.claimedCn, serial: v.serial });
      // a suspended or unreachable organisation is retryable (503), as after the handshake below
      return this.rejectUpgrade(socket, orgRefusalStatus(v.reason), v.reason, `refused: ${v.detail}`);
    }
    // revocation may have changed since the handshake (long keep-alive before the upgrade)
    if (this.revocations.list.isRevoked(v.agentId, v.serial)) {
      this.refuse(socket, RefusalReason.Revoked, 'agent or certificate is revoked', { agentId: v.agentId });
      return this.rejectUpgrade(socket, 403, RefusalReason.Revoked, 'refused: agent or certificate is revoked');
    }
    if (this.shuttingDown) return this.rejectUpgrade(socket, 503, 'shutting-down', 'collector is shutting down');
    // the organisation may have been suspended or deleted since the handshake
    const now = this.classifyOrg(new X509Certificate((socket as TLSSocket).getPeerCertificate().raw), v.agentId);
    if (now instanceof Promise) return void now.then((c) => this.upgradeInOrg(req, socket, head, v, c));
    this.upgradeInOrg(req, socket, head, v, now);
  }

  private upgradeInOrg(req: IncomingMessage, socket: Socket, head: Buffer, v: PeerVerdict & { ok: true }, now: OrgClassification): void {
    if (socket.destroyed) return;
    if (!now.ok) {
      this.refuse(socket, now.reason, now.detail, { agentId: v.agentId, ...(now.org ? { org: now.org } : {}) });
      return this.rejectUpgrade(socket, orgRefusalStatus(now.reason), now.reason, `refused: ${now.detail}`);
    }
    const lane = this.orgs.lane(now.org);
    if (!lane) {
      this.refuse(socket, RefusalReason.OrgSuspended, `organisation ${now.org} takes no uploads now`, { agentId: v.agentId, org: now.org });
      return this.rejectUpgrade(socket, 503, RefusalReason.OrgSuspended, `organisation ${now.org} takes no uploads now; the agent keeps its dumps and retries`);
    }
    const known = this.agents.get(v.agentId);
    if (known && known.org !== now.org) {
      this.refuse(socket, RefusalReason.OrgMismatch, `agent ${v.agentId} is known in organisation ${known.org}`, { agentId: v.agentId, org: now.org });
      return this.rejectUpgrade(socket, 403, RefusalReason.OrgMismatch, 'refused: the agent id belongs to another organisation');
    }
    if (this.sessions.size >= this.limits.maxAgents && !known?.session) {
      this.metrics.refusals.inc({ reason: 'capacity' });
      return this.rejectUpgrade(socket, 503, 'capacity', `collector serves at most ${this.limits.maxAgents} agents`);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onUpgraded(ws, socket, v.agentId, v.serial, lane));
  }

  /**
   * The agent's hello comes first: only a good one registers the connection (replacing an
   * older one of the same agent) and is welcomed. A bad or missing one is refused with an
   * error and close 4002 before any of that (agent-hello.ts).
   */
  private onUpgraded(ws: WebSocket, socket: Socket, agentId: string, serial: string, lane: IngestLane): void {
    this.greeting.add(ws);
    ws.on('error', (e: Error) => this.log.debug({ agentId, err: e.message }, 'agent connection error'));
    awaitHello(ws, agentId, this.limits.handshakeTimeoutSec * 1000, (v) => {
      this.greeting.delete(ws);
      if (v.ok) {
        if (this.shuttingDown) {
          ws.close(CloseCode.ShuttingDown, 'collector shutting down');
          return;
        }
        this.onAgent(ws, agentId, serial, socket.remoteAddress ?? '?', lane);
        return;
      }
      if (v.code === 'closed') return;
      this.refuse(socket, v.code === 'hello-timeout' ? RefusalReason.Timeout : RefusalReason.BadHello, v.reason, { claimedCn: agentId });
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'error', code: v.code, reason: v.reason }));
      ws.close(CloseCode.ProtocolError, v.code === 'identity' ? 'agent id differs from certificate' : v.code === 'version' ? 'unsupported protocol version' : 'hello expected first');
      setTimeout(() => ws.terminate(), 2000).unref();
    });
  }

  private onAgent(ws: WebSocket, agentId: string, serial: string, remote: string, lane: IngestLane): void {
    const org = lane.org;
    let agent = this.agents.get(agentId);
    if (!agent) {
      agent = new AgentState(agentId, org, this.limits);
      this.agents.set(agentId, agent);
    }
    const old = agent.session;
    if (old?.isOpen) {
      this.metrics.closed.inc({ org, reason: 'replaced' });
      this.log.info({ org, agentId }, 'agent reconnected; closing its previous connection');
      old.close(CloseCode.Replaced, 'replaced by a newer connection');
    }
    const session = new AgentSession(ws, agentId, serial, remote, agent, this.deps, lane);
    agent.session = session;
    agent.connectedSinceMs = Date.now();
    this.sessions.add(session);
    this.countConnected(org);
    const since = agent.connectedSinceMs;
    ws.on('close', (code: number, reason: Buffer) => {
      session.markClosed();
      this.sessions.delete(session);
      if (agent.session === session) agent.session = null;
      this.countConnected(org);
      // no address: on a LAN it is the agent's real internal one (docs/commands.md, "What the collector still learns")
      this.log.info({ org, agentId, code, reason: reason.toString('utf8').slice(0, 120) || null, connectedSec: Math.round((Date.now() - since) / 1000), agents: this.sessions.size }, 'agent disconnected');
    });
    this.log.info({ org, agentId, serial, agents: this.sessions.size }, 'agent connected');
    session.welcome();
    const wl = lane.watchlist?.current();
    if (wl) session.send(wl);
  }

  private countConnected(org: string): void {
    let n = 0;
    for (const s of this.sessions) if (s.lane.org === org) n++;
    this.metrics.agentsConnected.set({ org }, n);
  }

  /** Sends a message (the organisation's new watchlist) to every connected agent of `org`. */
  pushToOrg(org: string, msg: CollectorMessage | null): void {
    if (!msg) return;
    for (const s of this.sessions) if (s.lane.org === org) s.send(msg);
  }

  /** Closes every live connection of an organisation (suspended: retryable close; deleted: revoked). */
  closeOrg(org: string, code: number, reason: string): number {
    let n = 0;
    for (const s of this.sessions) {
      if (s.lane.org !== org || !s.isOpen) continue;
      this.metrics.closed.inc({ org, reason: code === CloseCode.Revoked ? 'revoked' : 'org-suspended' });
      s.close(code, reason);
      n++;
    }
    if (n > 0) this.log.warn({ org, connections: n, reason }, 'closed the live connections of an organisation');
    return n;
  }

  private pingAll(): void {
    const deadline = Date.now() - 3 * this.limits.heartbeatSec * 1000;
    for (const s of this.sessions) {
      if (s.lastActivityMs < deadline) {
        this.metrics.closed.inc({ org: s.lane.org, reason: 'idle' });
        s.ws.terminate();
      } else if (s.isOpen) {
        s.ws.ping();
      }
    }
  }

  private enforceRevocations(list: RevocationList): void {
    for (const s of this.sessions) {
      if (s.isOpen && list.isRevoked(s.agentId, s.serial)) {
        this.metrics.closed.inc({ org: s.lane.org, reason: 'revoked' });
        this.log.warn({ org: s.lane.org, agentId: s.agentId, serial: s.serial }, 'closing live connection of a revoked agent');
        s.close(CloseCode.Revoked, 'certificate revoked');
      }
    }
  }

  /** Re-reads the revocation list now (the poller does this every revocationPollMs). */
  reloadRevocations(): Promise<boolean> {
    return this.revocations.poll(true);
  }

  /** Renewal by the CA of the agent's own organisation (the connection's, never another). */
  private renew(org: string, agentId: string, csrPem: string): { cert: string; ca: string } {
    const issuer = this.orgs.issuer(org);
    const issued = signAgentCsr(issuer.ca, csrPem, agentId, { days: this.opts.agentCertDays ?? 90, ...(issuer.ou ? { org: issuer.ou } : {}) });
    issuer.record(agentId, issued, 'renew');
    return { cert: [issued.certPem, ...issuer.chain].map((p) => p.trim() + '\n').join(''), ca: this.pki.ca.certPem };
  }

  // ---- commands, status -----------------------------------------------------------------

  /** Sends a command to a connected agent of `org`; false when it is not connected there (queueing is the caller's job). */
  sendCommand(org: string, agentId: string, id: string, command: unknown): boolean {
    const s = this.agents.get(agentId)?.session;
    if (!s?.isOpen || s.lane.org !== org) return false;
    s.send({ type: 'command', id, command });
    return true;
  }

  connectedAgents(org?: string): string[] {
    return [...this.sessions].filter((s) => s.isOpen && (org === undefined || s.lane.org === org)).map((s) => s.agentId);
  }

  /** What the server knows of each agent since it started (of one organisation when `org` is given). */
  agentSummaries(org?: string): AgentSummary[] {
    return [...this.agents.values()].filter((a) => org === undefined || a.org === org).map((a) => ({
      agentId: a.agentId,
      connected: !!a.session?.isOpen,
      connectedSince: a.session ? new Date(a.connectedSinceMs).toISOString() : null,
      lastHeartbeat: a.lastHeartbeatMs ? new Date(a.lastHeartbeatMs).toISOString() : null,
      health: a.lastHealth,
      stored: a.stored,
      duplicates: a.duplicates,
      nacked: a.nacked,
    }));
  }

  health(): { status: 'ok' | 'degraded'; reasons: string[]; notes: string[]; agentsConnected: number } {
    const reasons: string[] = [];
    if (this.shuttingDown) reasons.push('shutting down');
    if (this.lastStorageFailure && Date.now() - this.lastStorageFailure.atMs < 60_000) reasons.push(`storage: ${this.lastStorageFailure.message}`);
    const more = this.opts.healthChecks?.() ?? { reasons: [], notes: [] };
    reasons.push(...more.reasons);
    return { status: reasons.length ? 'degraded' : 'ok', reasons, notes: more.notes, agentsConnected: this.sessions.size };
  }

  /** Stops accepting, closes agent connections, waits for commits under way, closes stores. */
  async close(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.revocations.stop();
    this.unsubscribeWatchlist?.();
    if (this.pingTimer) clearInterval(this.pingTimer);
    const closed = new Promise<void>((resolve) => this.https.close(() => resolve()));
    for (const s of this.sessions) s.close(CloseCode.ShuttingDown, 'collector shutting down');
    for (const ws of this.greeting) ws.close(CloseCode.ShuttingDown, 'collector shutting down');
    const tails = [...this.agents.values()].map((a) => a.tail);
    await Promise.race([Promise.all(tails), new Promise((r) => setTimeout(r, 10_000).unref())]);
    this.https.closeAllConnections();
    await closed;
    if (this.ops) await this.ops.close();
    await Promise.resolve(this.tokens.close()).catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'closing the token source failed'));
    this.ledger?.close();
    this.refusalLog.close();
    this.log.info('collector stopped');
  }
}

