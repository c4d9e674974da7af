// The agent's shipper: ONE outbound WebSocket over mutual TLS to the collector. Sends the
// spooled dumps in sequence order with a bounded window of unacked uploads, deletes a dump
// from the spool only when the collector acks it (at-least-once; the collector dedupes),
// reconnects with exponential backoff + jitter after any failure, sends heartbeats, renews
// its certificate before expiry and hands collector commands to a handler.
import { EventEmitter } from 'node:events';
import { WebSocket } from 'ws';
import type { IncomingMessage } from 'node:http';
import { logger, type Logger } from '../../shared/log.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { collectorEndpoints } from './collector-url.js';
import type { RenewalHandler } from './identity-renewal.js';
import {
  PROTOCOL_VERSION, REFUSAL_HEADER, encodeUploadFrame, parseCollectorMessage,
  type AgentHealth, type AgentMessage, type CollectorMessage,
} from '../../shared/protocol/agent-protocol.js';

/** The spool as the shipper uses it (agent/spool implements it). */
export interface ShipperSpool {
  /** sequence numbers present, any order */
  list(): number[] | Promise<number[]>;
  read(seq: number): Uint8Array | Promise<Uint8Array>;
  remove(seq: number): void | Promise<void>;
}

export interface ShipperCredentials {
  key: string;
  cert: string;
  ca: string;
}

export type CommandHandler = (id: string, command: unknown) => Promise<{ ok: boolean; result?: unknown; error?: string }>;

export interface ShipperOptions {
  collectorUrl: string;
  agentId: string;
  /** read at every connect, so a renewed certificate takes effect on the next connection */
  credentials: () => ShipperCredentials;
  spool: ShipperSpool;
  /** most unacked uploads (also capped by the collector's welcome); default 4 */
  window?: number;
  backoff?: BackoffOptions;
  /** no ack for this long with uploads outstanding: drop the connection and resend (default 120 s) */
  ackTimeoutMs?: number;
  /** re-list the spool this often when idle (notify() wakes the shipper at once); default 2 s */
  idlePollMs?: number;
  /** heartbeat interval; default the collector's heartbeatSec */
  heartbeatMs?: number;
  health?: () => AgentHealth;
  renewal?: RenewalHandler;
  onCommand?: CommandHandler;
  /** a non-retryable nack: what to do with the dump (default: remove it from the spool) */
  onRejected?: (seq: number, code: string, reason: string) => void | Promise<void>;
  software?: string;
  log?: Logger;
  /** TLS server name to verify (default the URL host) */
  servername?: string;
}

export interface ShipperStats {
  connected: boolean;
  connects: number;
  acked: number;
  duplicates: number;
  rejected: number;
  retries: number;
  inflight: number;
  lastError: string | null;
  lastRefusal: string | null;
}

/** After the spool drains, a heartbeat every SETTLE_EVERY_MS for SETTLE_FOR_MS (the flow close delay and the collector's margin). */
const SETTLE_EVERY_MS = 2000;
const SETTLE_FOR_MS = 8000;

interface Conn {
  ws: WebSocket;
  welcomed: boolean;
  window: number;
  maxDumpBytes: number;
  /** how often we send heartbeats */
  heartbeatMs: number;
  /** how often the collector pings us (its welcome.heartbeatSec) */
  pingMs: number;
  /** seq -> sent time */
  inflight: Map<number, number>;
  /** highest sequence sent in the current epoch */
  sentUpTo: number;
  epoch: number;
  blockedUntil: number;
  lastRxMs: number;
  renewTried: boolean;
  timer: NodeJS.Timeout | null;
  lastHeartbeatMs: number;
  lastPollMs: number;
  /** until when heartbeats come every SETTLE_EVERY_MS (after the spool drained: packet time moves on) */
  settleUntilMs: number;
  /** the collector's address as connected (for the capture's self-exclusion) */
  remote: { address: string; port: number } | null;
}

const sleep = (ms: number, signal: { cancelled: boolean; wake?: () => void }): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void { clearTimeout(t); signal.wake = undefined; resolve(); }
    signal.wake = done;
  });

export class Shipper extends EventEmitter {
  private readonly opts: ShipperOptions;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private readonly wsUrl: string;
  private conn: Conn | null = null;
  private stopped = true;
  private loop: Promise<void> | null = null;
  private readonly sleeper: { cancelled: boolean; wake?: (() => void) | undefined } = { cancelled: false };
  private pumping = false;
  private pumpAgain = false;
  private readonly s: ShipperStats = { connected: false, connects: 0, acked: 0, duplicates: 0, rejected: 0, retries: 0, inflight: 0, lastError: null, lastRefusal: null };

  constructor(opts: ShipperOptions) {
    super();
    this.opts = opts;
    this.log = opts.log ?? logger('shipper');
    this.backoff = new Backoff(opts.backoff);
    this.wsUrl = collectorEndpoints(opts.collectorUrl).ws;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** Closes the connection and ends the reconnect loop (unacked dumps stay in the spool). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.sleeper.wake?.();
    const c = this.conn;
    if (c) c.ws.close(1000, 'agent stopping');
    await this.loop;
    this.loop = null;
  }

  /** A new dump is in the spool: send it now if the window allows. */
  notify(): void {
    this.pump();
  }

  stats(): ShipperStats {
    return { ...this.s, inflight: this.conn?.inflight.size ?? 0, connected: !!this.conn?.welcomed };
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.connectOnce();
      } catch (e) {
        this.s.lastError = (e as Error).message;
      }
      if (this.stopped) break;
      const delay = this.backoff.next();
      this.log.debug({ delayMs: delay, failures: this.backoff.failures }, 'reconnecting after delay');
      await sleep(delay, this.sleeper);
    }
  }

  private connectOnce(): Promise<void> {
    return new Promise<void>((resolve) => {
      let creds: ShipperCredentials;
      try {
        creds = this.opts.credentials();
      } catch (e) {
        this.s.lastError = `cannot load agent credentials: ${(e as Error).message}`;
        this.log.error({ err: e }, 'cannot load agent credentials');
        resolve();
        return;
      }
      const ws = new WebSocket(this.wsUrl, {
        key: creds.key,
        cert: creds.cert,
        ca: creds.ca,
        ...(this.opts.servername ? { servername: this.opts.servername } : {}),
        minVersion: 'TLSv1.2',
        perMessageDeflate: false,
        handshakeTimeout: 20_000,
        maxPayload: 4 * 1024 * 1024,
      });
      const c: Conn = {
        ws, welcomed: false, window: this.opts.window ?? 4, maxDumpBytes: Infinity, heartbeatMs: this.opts.heartbeatMs ?? 30_000, pingMs: 30_000,
        inflight: new Map(), sentUpTo: -1, epoch: 0, blockedUntil: 0, lastRxMs: Date.now(), renewTried: false, timer: null, lastHeartbeatMs: 0, lastPollMs: 0, settleUntilMs: 0,
        remote: null,
      };
      ws.on('upgrade', (res: IncomingMessage) => {
        const sock = res.socket;
        if (sock.remoteAddress && sock.remotePort) c.remote = { address: sock.remoteAddress, port: sock.remotePort };
      });
      this.conn = c;
      this.s.connects++;
      ws.on('unexpected-response', (_req, res: IncomingMessage) => {
        const reason = String(res.headers[REFUSAL_HEADER] ?? `HTTP ${res.statusCode}`);
        this.s.lastRefusal = reason;
        this.s.lastError = `collector refused the connection: ${reason}`;
        this.log.error({ reason, status: res.statusCode }, 'collector refused the connection');
        this.emitSafely('refused', reason);
        res.resume();
        ws.terminate();
      });
      ws.on('open', () => {
        c.lastRxMs = Date.now();
        this.sendJson(c, { type: 'hello', v: PROTOCOL_VERSION, agentId: this.opts.agentId, software: this.opts.software ?? 'meerkat-agent', window: c.window });
        c.timer = setInterval(() => this.tick(c), 1000);
      });
      ws.on('ping', () => { c.lastRxMs = Date.now(); });
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        c.lastRxMs = Date.now();
        if (isBinary) return; // the collector sends no binary frames in protocol 1
        this.onMessage(c, data.toString('utf8'));
      });
      ws.on('error', (e: Error) => {
        this.s.lastError = e.message;
        this.log.debug({ err: e.message }, 'connection error');
      });
      ws.on('close', (code: number, reason: Buffer) => {
        if (c.timer) clearInterval(c.timer);
        if (this.conn === c) this.conn = null;
        const why = reason.toString('utf8');
        if (c.welcomed) {
          this.log.info({ code, reason: why, unacked: c.inflight.size }, 'disconnected from collector');
          this.emitSafely('disconnected', code, why);
        }
        resolve();
      });
    });
  }

  private sendJson(c: Conn, msg: AgentMessage): void {
    if (c.ws.readyState !== WebSocket.OPEN) return;
    c.ws.send(JSON.stringify(msg));
  }

  private tick(c: Conn): void {
    const now = Date.now();
    // collector pings every heartbeatSec; more than three silent periods mean the path is dead
    if (c.welcomed && now - c.lastRxMs > 3 * c.pingMs + Math.min(5000, c.pingMs)) {
      this.log.warn('collector silent; dropping the connection');
      c.ws.terminate();
      return;
    }
    const timeout = this.opts.ackTimeoutMs ?? 120_000;
    for (const sentAt of c.inflight.values()) {
      if (now - sentAt > timeout) {
        this.log.warn({ timeoutMs: timeout }, 'no ack in time; reconnecting to resend');
        c.ws.terminate();
        return;
      }
      break; // the oldest is first (Map keeps insertion order)
    }
    if (c.welcomed && now - c.lastHeartbeatMs >= c.heartbeatMs) this.heartbeat(c, now);
    else if (c.welcomed && now < c.settleUntilMs && c.inflight.size === 0 && now - c.lastHeartbeatMs >= SETTLE_EVERY_MS) this.heartbeat(c, now);
    // idle poll: dumps may have arrived without notify()
    if (c.welcomed && now - c.lastPollMs >= (this.opts.idlePollMs ?? 2000)) {
      c.lastPollMs = now;
      this.pump();
    }
  }

  private heartbeat(c: Conn, now: number): void {
    c.lastHeartbeatMs = now;
    this.sendJson(c, { type: 'heartbeat', ts: now, health: this.opts.health?.() ?? {} });
  }

  private onMessage(c: Conn, text: string): void {
    const msg = parseCollectorMessage(text);
    if (typeof msg === 'string') {
      this.log.warn({ reason: msg }, 'bad message from collector');
      return;
    }
    this.handle(c, msg);
  }

  private handle(c: Conn, msg: CollectorMessage): void {
    switch (msg.type) {
      case 'welcome':
        if (msg.agentId !== this.opts.agentId) {
          this.log.error({ ours: this.opts.agentId, theirs: msg.agentId }, 'collector names another agent id');
        }
        c.welcomed = true;
        c.window = Math.max(1, Math.min(this.opts.window ?? 4, msg.window));
        c.maxDumpBytes = msg.maxDumpBytes;
        c.pingMs = msg.heartbeatSec * 1000;
        c.heartbeatMs = this.opts.heartbeatMs ?? c.pingMs;
        this.s.lastRefusal = null;
        this.log.info({ url: this.wsUrl, window: c.window }, 'connected to collector');
        this.emitSafely('connected', c.remote);
        this.maybeRenew(c);
        this.pump();
        return;
      case 'ack':
        if (msg.epoch === c.epoch || c.inflight.has(msg.seq)) c.inflight.delete(msg.seq);
        this.backoff.reset();
        if (msg.dup) this.s.duplicates++;
        else this.s.acked++;
        // acked means durably stored: deleting is right whatever epoch it answers
        void this.removeFromSpool(msg.seq).then(() => {
          this.pump();
          this.emitSafely('ack', msg.seq, msg.dup);
          // everything shipped: heartbeats now and for a few seconds tell the collector how far
          // packet time got, so flows that ended (Zeek's 5 s close delay) are written within
          // seconds of their dump rather than at the next periodic heartbeat
          const now = Date.now();
          if (c.welcomed && c.inflight.size === 0) {
            c.settleUntilMs = now + SETTLE_FOR_MS;
            if (now - c.lastHeartbeatMs >= 1000) this.heartbeat(c, now);
          }
        });
        return;
      case 'nack':
        this.onNack(c, msg.seq, msg.epoch, msg.code, msg.reason, msg.retry);
        return;
      case 'renewed':
        void this.installRenewal(msg.cert, msg.ca);
        return;
      case 'renew-failed':
        this.log.warn({ reason: msg.reason }, 'certificate renewal refused');
        return;
      case 'command':
        void this.runCommand(c, msg.id, msg.command);
        return;
      case 'watchlist':
        // listeners (agent/watchlist) install it; unsigned by design, see docs/responses.md
        this.emitSafely('watchlist', msg);
        return;
      case 'error':
        this.s.lastError = `collector: ${msg.code}: ${msg.reason}`;
        this.log.error({ code: msg.code, reason: msg.reason }, 'collector reported an error');
        return;
    }
  }

  private onNack(c: Conn, seq: number, epoch: number, code: string, reason: string, retry: boolean): void {
    if (epoch < c.epoch) return; // answer to a frame we have already resent
    this.emitSafely('nack', seq, code, reason, retry);
    if (retry) {
      // resend from the oldest unacked dump, in order, after a pause; the new epoch tells the
      // collector to discard frames of the old one still on the wire
      this.s.retries++;
      c.epoch = (c.epoch + 1) & 0xffff;
      c.inflight.clear();
      c.sentUpTo = -1;
      const delay = this.backoff.next();
      c.blockedUntil = Date.now() + delay;
      setTimeout(() => this.pump(), delay + 1).unref();
      this.log.warn({ seq, code, reason, resumeInMs: c.blockedUntil - Date.now() }, 'upload nacked; will resend');
      return;
    }
    this.s.rejected++;
    c.inflight.delete(seq);
    this.log.error({ seq, code, reason }, 'collector rejected a dump for good');
    this.emitSafely('rejected', seq, code, reason);
    if (seq < 0) return;
    const done = this.opts.onRejected ? Promise.resolve(this.opts.onRejected(seq, code, reason)) : this.removeFromSpool(seq);
    void done.catch((e: unknown) => this.log.error({ err: e, seq }, 'handling a rejected dump failed')).then(() => this.pump());
  }

  /** A throwing listener must not stall the shipper. */
  private emitSafely(event: string, ...args: unknown[]): void {
    try {
      this.emit(event, ...args);
    } catch (e) {
      this.log.error({ err: e, event }, 'shipper event listener failed');
    }
  }

  private async removeFromSpool(seq: number): Promise<void> {
    try {
      await this.opts.spool.remove(seq);
    } catch (e) {
      this.log.debug({ seq, err: (e as Error).message }, 'spool remove failed (already gone?)');
    }
  }

  /** Fills the window with the next dumps in sequence order. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    const c = this.conn;
    if (!c || !c.welcomed || c.ws.readyState !== WebSocket.OPEN) return;
    if (c.blockedUntil > Date.now()) return;
    c.blockedUntil = 0;
    this.pumping = true;
    void this.fill(c)
      .catch((e: unknown) => {
        this.s.lastError = `reading the spool: ${(e as Error).message}`;
        this.log.error({ err: e }, 'shipper could not read the spool');
      })
      .finally(() => {
        this.pumping = false;
        if (this.pumpAgain) {
          this.pumpAgain = false;
          this.pump();
        }
      });
  }

  private async fill(c: Conn): Promise<void> {
    if (c.inflight.size >= c.window) return;
    const seqs = await this.opts.spool.list();
    // candidates above what this epoch already sent, ascending
    const next = seqs.filter((s) => s > c.sentUpTo && !c.inflight.has(s)).sort((a, b) => a - b);
    for (const seq of next) {
      if (this.conn !== c || c.ws.readyState !== WebSocket.OPEN || c.blockedUntil > Date.now()) return;
      if (c.inflight.size >= c.window) return;
      let bytes: Uint8Array;
      try {
        bytes = await this.opts.spool.read(seq);
      } catch (e) {
        // the spool may have dropped it meanwhile (byte limit); move on
        this.log.debug({ seq, err: (e as Error).message }, 'spooled dump unreadable; skipping');
        c.sentUpTo = Math.max(c.sentUpTo, seq);
        continue;
      }
      if (this.conn !== c || c.blockedUntil > Date.now()) return;
      if (bytes.length > c.maxDumpBytes) {
        this.s.rejected++;
        this.log.error({ seq, bytes: bytes.length, max: c.maxDumpBytes }, 'dump exceeds the collector limit; not sending it');
        c.sentUpTo = Math.max(c.sentUpTo, seq);
        const why = `dump of ${bytes.length} bytes exceeds the collector limit of ${c.maxDumpBytes}`;
        this.emitSafely('rejected', seq, 'too-large', why);
        await (this.opts.onRejected ? this.opts.onRejected(seq, 'too-large', why) : this.removeFromSpool(seq));
        continue;
      }
      c.inflight.set(seq, Date.now());
      c.sentUpTo = seq;
      c.ws.send(encodeUploadFrame(seq, c.epoch, bytes));
    }
  }

  private maybeRenew(c: Conn): void {
    const r = this.opts.renewal;
    if (!r || c.renewTried || !r.due(Date.now())) return;
    c.renewTried = true;
    r.prepareCsr().then(
      (csr) => this.sendJson(c, { type: 'renew', csr }),
      (e: unknown) => this.log.error({ err: e }, 'could not prepare a renewal CSR'),
    );
  }

  private async installRenewal(cert: string, ca: string): Promise<void> {
    try {
      await this.opts.renewal?.install(cert, ca);
      this.log.info('certificate renewed; used from the next connection');
      this.emitSafely('renewed');
    } catch (e) {
      this.log.error({ err: e }, 'renewed certificate not installed');
    }
  }

  private async runCommand(c: Conn, id: string, command: unknown): Promise<void> {
    if (!this.opts.onCommand) {
      this.sendJson(c, { type: 'command-result', id, ok: false, error: 'this agent has no command handler' });
      return;
    }
    try {
      const r = await this.opts.onCommand(id, command);
      this.sendJson(c, { type: 'command-result', id, ok: r.ok, ...(r.result !== undefined ? { result: r.result } : {}), ...(r.error ? { error: r.error } : {}) });
    } catch (e) {
      this.sendJson(c, { type: 'command-result', id, ok: false, error: (e as Error).message });
    }
  }
}
