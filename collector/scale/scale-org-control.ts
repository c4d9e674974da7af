// One organisation as the operators' API sees it on a scale-out front-end (OrgControl,
// docs/scale-out.md "Operators' API on the front-ends"): agents from the presence bucket (connected
// to any front-end) and from PostgreSQL (known, offline); the command queue and audit in
// PostgreSQL, shared by every front-end; delivery through AgentRelay to whichever front-end holds
// the agent; results recorded by the front-end the agent answered on, then announced on
// meerkat.cmdresult.<org>.<agent id> so a waiting request on any front-end wakes at once; flows,
// the DNS/TLS logs and the console's overview read from the schema the flow workers write. A tick on every front-end ends
// expired commands and delivers what waits for the agents connected to it.
import type { PcapRoute } from '../control/pcap-export.js';
import { notInScaleOut } from './pg-data-access.js';
import type { NatsConnection, Subscription } from 'nats';
import type { Logger } from '../../shared/log.js';
import { readOutcome, TERMINAL_STATES } from '../../shared/commands/command-schema.js';
import type { LiveAgentInfo } from '../control/agent-registry.js';
import type { QueuedCommand } from '../control/command-queue.js';
import type { OrgAgentDirectory, OrgAppLogs, OrgAudit, OrgControl, OrgDataAccess, OrgViews } from '../control/admin-api.js';
import type { FeedStatus } from '../respond/threat-watchlist.js';
import type { AgentRelay, PresenceEntry } from './agent-relay.js';
import type { PgControlStore } from './pg-control-store.js';

export interface ScaleOrgControlDeps {
  org: string;
  store: PgControlStore;
  relay: AgentRelay;
  nc: NatsConnection;
  data: OrgDataAccess;
  appLogs: OrgAppLogs;
  /** the console's overview and single alert (pg-views.ts); absent: they answer 501 */
  views?: OrgViews;
  /** the agents of this organisation connected to THIS front-end, with their connection time */
  local(): Array<{ agentId: string; connectedSince: string | null }>;
  feeds?(): FeedStatus[];
  log: Logger;
  /** delivery / expiry sweep (default 1000 ms) */
  tickMs?: number;
}

const dec = new TextDecoder();
/** A waiting request looks at the command again this often even without a wake-up (a lost message, an expiry). */
const WAIT_POLL_MS = 1000;

export class ScaleOrgControl implements OrgControl {
  readonly org: string;
  readonly dbPath = null;
  readonly queue: PgControlStore;
  readonly audit: OrgAudit;
  readonly registry: OrgAgentDirectory;
  readonly data: OrgDataAccess;
  readonly appLogs: OrgAppLogs;
  readonly views?: OrgViews;
  /** packet export reads dump files; in scale-out the raw dumps are in the stream: a clear 501 */
  readonly pcap: PcapRoute = () => Promise.reject(notInScaleOut('packet export (the raw dumps are in the stream, not in files)'));
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly results: Subscription;
  private readonly timer: NodeJS.Timeout;
  private presence: PresenceEntry[] = [];
  private ticking = false;
  private ticks = 0;

  constructor(private readonly d: ScaleOrgControlDeps) {
    this.org = d.org;
    this.queue = d.store;
    this.audit = d.store.audit;
    this.registry = d.store.agents;
    this.data = d.data;
    this.appLogs = d.appLogs;
    if (d.views) this.views = d.views;
    // results recorded by any front-end wake the requests waiting here
    this.results = d.nc.subscribe(`meerkat.cmdresult.${d.org}.*`, { callback: (err, m) => {
      if (err) return;
      try {
        const id = (JSON.parse(dec.decode(m.data)) as { id?: unknown }).id;
        if (typeof id === 'string') this.wake(id);
      } catch { /* not a result message: nothing to wake */ }
    } });
    this.timer = setInterval(() => void this.tick(), d.tickMs ?? 1000);
    this.timer.unref();
  }

  /** Agents connected to any front-end, from the presence bucket. */
  async liveAgents(): Promise<LiveAgentInfo[]> {
    const mine = new Map(this.d.local().map((a) => [a.agentId, a.connectedSince]));
    this.presence = (await this.d.relay.agents()).filter((p) => p.org === this.org);
    return this.presence.map((p) => ({ agentId: p.agentId, connected: true, connectedSince: mine.get(p.agentId) ?? null }));
  }

  /** Which front-end holds each connected agent. */
  async transportAgents(): Promise<unknown[]> {
    await this.liveAgents();
    return this.presence.map((p) => ({ agentId: p.agentId, connected: true, frontend: p.frontend }));
  }

  async hasAgent(agentId: string): Promise<boolean> {
    if (await this.d.store.knows(agentId)) return true;
    return (await this.liveAgents()).some((a) => a.agentId === agentId);
  }

  submitted(cmd: QueuedCommand): void {
    void this.deliver(cmd).catch((e: Error) => this.d.log.error({ err: e.message, commandId: cmd.id }, 'command delivery failed (retried by the tick)'));
  }

  /**
   * Delivers a command to its agent wherever it is connected: a queued one, or (`again`: the
   * agent's connection here) a delivered one that went out on a connection since dropped. Claimed
   * in PostgreSQL first so one front-end sends it; given back when the agent is connected nowhere.
   */
  private async deliver(cmd: QueuedCommand, again?: string): Promise<boolean> {
    if (!(again === undefined ? await this.d.store.claim(cmd.id) : await this.d.store.claimRedelivery(cmd.id, again))) return false;
    const sentAt = this.d.store.now();
    const on = await this.d.relay.deliver(cmd.agentId, cmd.id, cmd.envelope);
    if (on === null) {
      await this.d.store.unclaim(cmd.id, again !== undefined);
      return false;
    }
    await this.d.store.deliveredOn(cmd.id, on);
    await this.d.store.record({ actor: 'collector', action: cmd.deliveries > 0 ? 'command.redeliver' : 'command.deliver', agentId: cmd.agentId, commandId: cmd.id, outcome: 'delivered', detail: { kind: cmd.kind, delivery: cmd.deliveries + 1 } }, sentAt);
    this.d.log.info({ commandId: cmd.id, agentId: cmd.agentId, kind: cmd.kind }, 'command delivered');
    this.wake(cmd.id);
    return true;
  }

  /**
   * The agent answered on this front-end: the command's new state and its audit row, the
   * inventory or the state now in force. Called before the result is announced on NATS.
   */
  async recordResult(agentId: string, id: string, ok: boolean, result: unknown, error: string | undefined): Promise<void> {
    const outcome = readOutcome(ok, result, error);
    const label = `${outcome.status}${outcome.code ? `:${outcome.code}` : ''}`;
    const cmd = await this.d.store.get(id);
    if (!cmd || cmd.agentId !== agentId) {
      await this.d.store.record({ actor: `agent:${agentId}`, action: 'command.result-unknown', agentId, commandId: id.slice(0, 200), outcome: label, detail: { reason: outcome.reason ?? null, kind: outcome.kind ?? null } });
      this.d.log.warn({ agentId, id, outcome: label }, 'result for an unknown command');
      return;
    }
    const done = await this.d.store.complete(id, outcome);
    if (!done) {
      await this.d.store.record({ actor: `agent:${agentId}`, action: 'command.result-late', agentId, commandId: id, outcome: label, detail: { state: cmd.state } });
      return;
    }
    await this.d.store.record({
      actor: `agent:${agentId}`, action: 'command.result', agentId, commandId: id, outcome: label,
      detail: { kind: cmd.kind, ...(outcome.reason ? { reason: outcome.reason } : {}), ...(outcome.redelivered ? { redelivered: true } : {}) },
    });
    if (cmd.kind === 'inventory' && outcome.status === 'done' && outcome.data !== undefined) await this.d.store.saveInventory(agentId, id, outcome.data);
    this.d.log[outcome.status === 'done' ? 'info' : 'warn']({ commandId: id, agentId, kind: cmd.kind, outcome: label }, 'command result');
    this.wake(id);
  }

  /** Ends expired commands; delivers what waits for the agents connected here; writes heartbeats every few ticks. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      for (const c of await this.d.store.expireDue()) {
        await this.d.store.record({ actor: 'collector', action: 'command.expire', agentId: c.agentId, commandId: c.id, outcome: c.state === 'expired' ? 'expired' : `failed:${c.error ?? ''}`, detail: { kind: c.kind } });
        this.wake(c.id);
      }
      const here = new Map(this.d.local().map((a) => [a.agentId, this.d.relay.connectionKey(a.connectedSince)]));
      if (here.size > 0) {
        for (const c of await this.d.store.unanswered([...here.keys()])) await this.deliver(c, c.state === 'queued' ? undefined : here.get(c.agentId));
      }
      if (++this.ticks % 5 === 0) await this.d.store.flushHeartbeats();
    } catch (e) {
      this.d.log.error({ err: (e as Error).message }, 'control tick failed (retried)');
    } finally {
      this.ticking = false;
    }
  }

  private wake(id: string): void {
    for (const fn of [...(this.waiters.get(id) ?? [])]) fn();
  }

  /** Resolves when the command has ended (or after timeoutMs with its current state). */
  async waitFor(id: string, timeoutMs: number): Promise<QueuedCommand | null> {
    const end = Date.now() + timeoutMs;
    let set = this.waiters.get(id);
    if (!set) this.waiters.set(id, (set = new Set()));
    let wake: () => void = () => undefined;
    const listener = (): void => wake();
    set.add(listener);
    try {
      for (;;) {
        const c = await this.d.store.get(id);
        const left = end - Date.now();
        if (!c || TERMINAL_STATES.has(c.state) || left <= 0) return c;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(left, WAIT_POLL_MS));
          wake = () => { clearTimeout(t); resolve(); };
        });
      }
    } finally {
      set.delete(listener);
      if (set.size === 0) this.waiters.delete(id);
    }
  }

  status(): Record<string, unknown> {
    return { agents: { connected: this.presence.length, connectedHere: this.d.local().length }, scaleOut: true };
  }

  feeds(): FeedStatus[] {
    return this.d.feeds?.() ?? [];
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.results.unsubscribe();
    for (const id of [...this.waiters.keys()]) this.wake(id);
    await this.d.store.flush().catch(() => undefined);
  }
}
