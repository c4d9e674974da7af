// Agents across front-ends (docs/scale-out.md "Agents across front-ends"): each
// front-end lists the agents connected to it in the JetStream KV bucket meerkat-presence and
// answers NATS requests on meerkat.cmd.<org>.<agent id> for them, so a command given to any
// front-end reaches the agent wherever it is connected, and every front-end lists every agent.
// Command results are published on meerkat.cmdresult.<org>.<agent id>.
import type { JetStreamClient, KV, NatsConnection, Subscription } from 'nats';
import type { Logger } from '../../shared/log.js';

/** What the relay needs of the local agent server (CollectorServer). */
export interface LocalAgents {
  connectedAgents(): string[];
  sendCommand(agentId: string, id: string, command: unknown): boolean;
  /** the agent's current connection here (its connected-since time), null when not connected */
  connectionOf?(agentId: string): string | null;
}

export const PRESENCE_BUCKET = 'meerkat-presence';

export interface PresenceEntry {
  org: string;
  agentId: string;
  frontend: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class AgentRelay {
  private readonly subs = new Map<string, Subscription>();
  private timer: NodeJS.Timeout | null = null;
  private lastRefreshMs = 0;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    private readonly local: LocalAgents,
    private readonly frontendId: string,
    private readonly orgOf: (agentId: string) => string,
    private readonly log: Logger,
    private readonly ttlMs: number,
    private readonly knowsOrg: ((agentId: string) => boolean) | undefined,
  ) {}

  /**
   * `orgOf`: an agent's organisation; `knowsOrg`, when given: whether orgOf knows it (else a
   * command to an agent connected elsewhere finds its organisation in the presence bucket).
   */
  static async start(nc: NatsConnection, js: JetStreamClient, local: LocalAgents, opts: { frontendId: string; orgOf: (agentId: string) => string; knowsOrg?: (agentId: string) => boolean; log: Logger; syncMs?: number; ttlMs?: number }): Promise<AgentRelay> {
    const ttlMs = opts.ttlMs ?? 30_000;
    const kv = await js.views.kv(PRESENCE_BUCKET, { ttl: ttlMs, history: 1 });
    const r = new AgentRelay(nc, kv, local, opts.frontendId, opts.orgOf, opts.log, ttlMs, opts.knowsOrg);
    r.timer = setInterval(() => { void r.sync(); }, opts.syncMs ?? 250);
    r.timer.unref();
    await r.sync();
    return r;
  }

  private key(agentId: string): string {
    return `${this.orgOf(agentId)}.${agentId}`;
  }

  /** Follows the local connections: subscriptions and presence entries for new agents, removal for gone ones. */
  private async sync(): Promise<void> {
    const now = Date.now();
    const connected = new Set(this.local.connectedAgents());
    const refresh = now - this.lastRefreshMs > this.ttlMs / 3;
    if (refresh) this.lastRefreshMs = now;
    try {
      for (const agentId of connected) {
        const fresh = !this.subs.has(agentId);
        if (fresh) this.subs.set(agentId, this.nc.subscribe(`meerkat.cmd.${this.key(agentId)}`, { callback: (err, m) => {
          if (err) return;
          const req = JSON.parse(dec.decode(m.data)) as { id: string; command: unknown };
          const delivered = this.local.sendCommand(agentId, req.id, req.command);
          m.respond(enc.encode(JSON.stringify({ delivered, frontend: this.frontendId, connection: delivered ? this.connection(agentId) : null })));
        } }));
        if (fresh || refresh) await this.kv.put(this.key(agentId), enc.encode(this.frontendId));
      }
      for (const [agentId, sub] of this.subs) {
        if (connected.has(agentId)) continue;
        sub.unsubscribe();
        this.subs.delete(agentId);
        await this.kv.delete(this.key(agentId));
      }
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'agent presence sync failed (retried)');
    }
  }

  /**
   * The presence key of an agent connected to any front-end: its organisation is known here
   * for agents this front-end has seen, else the presence bucket names it.
   */
  private async remoteKey(agentId: string): Promise<string> {
    if (this.knowsOrg?.(agentId) !== false) return this.key(agentId);
    const keys = await this.kv.keys(`*.${agentId}`);
    let found: string | null = null;
    for await (const k of keys) found ??= k;
    return found ?? this.key(agentId);
  }

  /** A connection's name across front-ends: "<front-end id>/<connected since>". */
  connectionKey(connectedSince: string | null): string {
    return `${this.frontendId}/${connectedSince ?? ''}`;
  }

  private connection(agentId: string): string {
    return this.connectionKey(this.local.connectionOf?.(agentId) ?? null);
  }

  /**
   * Sends a command to the agent on whichever front-end holds it; resolves with the connection it
   * went out on ("<front-end id>/<connected since>"), or null when no front-end holds the agent.
   */
  async deliver(agentId: string, id: string, command: unknown): Promise<string | null> {
    if (this.local.sendCommand(agentId, id, command)) return this.connection(agentId);
    try {
      const m = await this.nc.request(`meerkat.cmd.${await this.remoteKey(agentId)}`, enc.encode(JSON.stringify({ id, command })), { timeout: 3000 });
      const r = JSON.parse(dec.decode(m.data)) as { delivered: boolean; frontend: string; connection?: string | null };
      return r.delivered ? r.connection ?? `${r.frontend}/` : null;
    } catch {
      // no responders (not connected anywhere) or timeout
      return null;
    }
  }

  /** Sends a command to the agent on whichever front-end holds it; false when none does. */
  async sendCommand(agentId: string, id: string, command: unknown): Promise<boolean> {
    return (await this.deliver(agentId, id, command)) !== null;
  }

  /** Publishes an agent's command result for every front-end and the API. */
  publishResult(agentId: string, result: { id: string; ok: boolean; result: unknown; error: string | undefined }): void {
    this.nc.publish(`meerkat.cmdresult.${this.key(agentId)}`, enc.encode(JSON.stringify(result)));
  }

  /** Every agent connected to any front-end. */
  async agents(): Promise<PresenceEntry[]> {
    const out: PresenceEntry[] = [];
    // the key lister is a consumer of its own: read it to the end before the lookups
    const keys: string[] = [];
    for await (const k of await this.kv.keys()) keys.push(k);
    for (const k of keys) {
      const e = await this.kv.get(k);
      if (e === null || e.operation !== 'PUT') continue;
      const dot = k.indexOf('.');
      out.push({ org: k.slice(0, dot), agentId: k.slice(dot + 1), frontend: dec.decode(e.value) });
    }
    return out.sort((a, b) => (a.agentId < b.agentId ? -1 : 1));
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const [agentId, sub] of this.subs) {
      sub.unsubscribe();
      await this.kv.delete(this.key(agentId)).catch(() => undefined);
    }
    this.subs.clear();
  }
}
