// One organisation's control side: command queue, delivery, results, audit, plugged into the
// agent server through a transport that reaches only this organisation's agents. Delivery: a
// queued command goes to its agent at once if it is connected, otherwise when it (re)connects;
// a command delivered on a connection that has since dropped without an answer is sent again
// on the next one (the agent answers a repeated delivery from its replay record instead of
// running it twice). Commands that pass their expiry undelivered end as `expired`. Every step
// is audited in the organisation's own audit. The operators' API (admin-api.ts) is one for the
// whole collector and reaches this through OrgControl (collector/orgs/org-runtime.ts).
import type { Logger } from '../../shared/log.js';
import { readOutcome, TERMINAL_STATES } from '../../shared/commands/command-schema.js';
import type { AgentHealth } from '../../shared/protocol/agent-protocol.js';
import { AgentRegistry, type LiveAgentInfo } from './agent-registry.js';
import { AuditLog } from './audit-log.js';
import { CommandQueue, type QueuedCommand } from './command-queue.js';
import { openControlDb, type ControlDatabase } from './control-db.js';

/** What the control side needs of the agent server: its organisation's agents only. */
export interface CommandTransport {
  sendCommand(agentId: string, id: string, command: unknown): boolean;
  agentSummaries(): { agentId: string; connected: boolean; connectedSince: string | null }[];
}

export interface ControlServiceOptions {
  /** the organisation's database (<stateDir>/orgs/<org>/meerkat.db) */
  dbPath: string;
  log: Logger;
  /** delivery / expiry sweep period (default 500 ms) */
  tickMs?: number;
  now?: () => number;
}

export class ControlService {
  readonly queue: CommandQueue;
  readonly audit: AuditLog;
  readonly registry: AgentRegistry;
  private transport: CommandTransport | null = null;
  private timer: NodeJS.Timeout | undefined;
  private readonly waiters = new Map<string, Set<() => void>>();
  /** command id -> the connection (agent's connectedSince) it was last delivered on */
  private readonly deliveredOn = new Map<string, string>();
  /** agent id -> connectedSince of the connection we last saw */
  private readonly connections = new Map<string, string>();
  private readonly log: Logger;
  private readonly now: () => number;
  private ticks = 0;

  private constructor(private readonly db: ControlDatabase, private readonly o: ControlServiceOptions) {
    this.now = o.now ?? Date.now;
    this.log = o.log;
    this.queue = new CommandQueue(db, this.now);
    this.audit = new AuditLog(db, this.now);
    this.registry = new AgentRegistry(db, this.now);
  }

  static open(o: ControlServiceOptions): ControlService {
    return new ControlService(openControlDb(o.dbPath), o);
  }

  /** What the server's transport knows of this organisation's agents now. */
  transportAgents(): unknown[] {
    return this.transport?.agentSummaries() ?? [];
  }

  /** A command was queued: deliver it now if its agent is connected. */
  submitted(cmd: QueuedCommand): void {
    this.deliverPending(cmd.agentId);
  }

  /** Hooks for the agent server (compose with other hooks of the same name). */
  readonly hooks = {
    onHeartbeat: (agentId: string, health: AgentHealth): void => {
      try {
        this.registry.heartbeat(agentId, health);
      } catch (e) {
        this.log.error({ err: (e as Error).message }, 'storing a heartbeat failed');
      }
    },
    onCommandResult: (agentId: string, id: string, ok: boolean, result: unknown, error: string | undefined): void => {
      try {
        this.onResult(agentId, id, ok, result, error);
      } catch (e) {
        this.log.error({ err: (e as Error).message, agentId, id }, 'recording a command result failed');
      }
    },
  };

  /** Starts delivering through the running agent server. */
  attach(transport: CommandTransport): void {
    this.transport = transport;
    this.audit.record({ actor: 'collector', action: 'control.start', outcome: 'ok' });
    this.timer = setInterval(() => this.tick(), this.o.tickMs ?? 500);
    this.timer.unref();
    this.tick();
  }

  liveAgents(): LiveAgentInfo[] {
    return (this.transport?.agentSummaries() ?? []).map((a) => ({ agentId: a.agentId, connected: a.connected, connectedSince: a.connectedSince }));
  }

  tick(): void {
    try {
      for (const c of this.queue.expireDue()) {
        this.audit.record({ actor: 'collector', action: 'command.expire', agentId: c.agentId, commandId: c.id, outcome: c.state === 'expired' ? 'expired' : `failed:${c.error ?? ''}`, detail: { kind: c.kind } });
        this.log.info({ commandId: c.id, agentId: c.agentId, kind: c.kind, state: c.state }, 'command ended without an answer');
        this.deliveredOn.delete(c.id);
        this.wake(c.id);
      }
      const live = this.liveAgents();
      for (const a of live) {
        if (!a.connected || !a.connectedSince) continue;
        if (this.connections.get(a.agentId) !== a.connectedSince) {
          this.connections.set(a.agentId, a.connectedSince);
          this.registry.seen(a.agentId);
        }
      }
      const online = new Map(live.filter((a) => a.connected && a.connectedSince).map((a) => [a.agentId, a.connectedSince!]));
      for (const agentId of this.queue.agentsWithPending()) {
        const conn = online.get(agentId);
        if (conn) this.deliverPending(agentId, conn);
      }
      // heartbeats go to disk in batches (one transaction for all agents every few seconds)
      if (++this.ticks % 10 === 0) this.registry.flush();
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'control tick failed');
    }
  }

  /** Sends an agent every command it has not had on its current connection (`connection`: its connectedSince). */
  private deliverPending(agentId: string, connection?: string): void {
    const t = this.transport;
    if (!t) return;
    const since = connection ?? t.agentSummaries().find((a) => a.agentId === agentId && a.connected)?.connectedSince;
    if (!since) return;
    for (const c of this.queue.pendingFor(agentId)) {
      if (c.state === 'delivered' && this.deliveredOn.get(c.id) === since) continue;
      if (!t.sendCommand(agentId, c.id, c.envelope)) return;
      this.queue.markDelivered(c.id);
      this.deliveredOn.set(c.id, since);
      const again = c.deliveries > 0;
      this.audit.record({ actor: 'collector', action: again ? 'command.redeliver' : 'command.deliver', agentId, commandId: c.id, outcome: 'delivered', detail: { kind: c.kind, delivery: c.deliveries + 1 } });
      this.log.info({ commandId: c.id, agentId, kind: c.kind, delivery: c.deliveries + 1 }, 'command delivered');
      this.wake(c.id);
    }
  }

  private onResult(agentId: string, id: string, ok: boolean, result: unknown, error: string | undefined): void {
    const outcome = readOutcome(ok, result, error);
    const label = `${outcome.status}${outcome.code ? `:${outcome.code}` : ''}`;
    const cmd = this.queue.get(id);
    if (!cmd || cmd.agentId !== agentId) {
      // an answer to something this collector did not send (or sent to another agent)
      this.audit.record({ actor: `agent:${agentId}`, action: 'command.result-unknown', agentId, commandId: id.slice(0, 200), outcome: label, detail: { reason: outcome.reason ?? null, kind: outcome.kind ?? null } });
      this.log.warn({ agentId, id, outcome: label, reason: outcome.reason }, 'result for an unknown command');
      return;
    }
    // the new state and its audit row commit together: a reader never sees one without the other
    const updated = this.db.transaction(() => {
      const done = this.queue.complete(id, outcome);
      if (!done) {
        this.audit.record({ actor: `agent:${agentId}`, action: 'command.result-late', agentId, commandId: id, outcome: label, detail: { state: cmd.state } });
        return false;
      }
      this.audit.record({
        actor: `agent:${agentId}`, action: 'command.result', agentId, commandId: id, outcome: label,
        detail: { kind: cmd.kind, ...(outcome.reason ? { reason: outcome.reason } : {}), ...(outcome.redelivered ? { redelivered: true } : {}) },
      });
      return true;
    })();
    this.deliveredOn.delete(id);
    if (!updated) return;
    const level = outcome.status === 'done' ? 'info' : 'warn';
    this.log[level]({ commandId: id, agentId, kind: cmd.kind, outcome: label, reason: outcome.reason }, 'command result');
    if (cmd.kind === 'inventory' && outcome.status === 'done' && outcome.data !== undefined) this.registry.saveInventory(agentId, id, outcome.data);
    else if (outcome.status === 'done' && outcome.data !== undefined) this.registry.applyResult(agentId, cmd.kind, outcome.data);
    this.wake(id);
  }

  private wake(id: string): void {
    const set = this.waiters.get(id);
    if (!set) return;
    for (const fn of [...set]) fn();
  }

  /** Resolves when the command has ended (or after timeoutMs with its current state). */
  waitFor(id: string, timeoutMs: number): Promise<QueuedCommand | null> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        const c = this.queue.get(id);
        if (!c || TERMINAL_STATES.has(c.state)) {
          finish(c);
          return true;
        }
        return false;
      };
      let set = this.waiters.get(id);
      if (!set) this.waiters.set(id, (set = new Set()));
      const listener = (): void => void check();
      const finish = (c: QueuedCommand | null): void => {
        clearTimeout(timer);
        set!.delete(listener);
        if (set!.size === 0) this.waiters.delete(id);
        resolve(c);
      };
      const timer = setTimeout(() => finish(this.queue.get(id)), timeoutMs);
      set.add(listener);
      check();
    });
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const id of [...this.waiters.keys()]) this.wake(id);
    try {
      this.registry.flush();
      this.audit.record({ actor: 'collector', action: 'control.stop', outcome: 'ok' });
    } catch { /* closing anyway */ }
    this.db.close();
  }
}
