// What the collector knows about each agent for `meerkat agents` / `meerkat info`: the last
// heartbeat (persisted, so an agent that is offline right now is still listed with when it was
// last seen and how it was doing), merged with the live connection state, and the last machine
// inventory (its sensitive half sealed: the collector only ever stores ciphertext).
import type { ControlDatabase } from './control-db.js';
import type { AgentView } from '../../shared/commands/admin-views.js';

export interface LiveAgentInfo {
  agentId: string;
  connected: boolean;
  connectedSince: string | null;
}

export interface StoredInventory {
  agentId: string;
  at: string;
  commandId: string;
  report: unknown;
}

/** A stored agent row (control_agents, SQLite or PostgreSQL): times in ms, health as JSON text. */
export interface AgentRow { agent_id: string; first_seen: number; last_seen: number; health: string | null }

/** What the operators see of the organisation's agents: the stored rows joined with those connected now (nowMs), by id. */
export function agentViews(rows: Iterable<AgentRow>, live: readonly LiveAgentInfo[], nowMs: number, extra: (agentId: string) => Pick<AgentView, 'revoked' | 'pendingCommands'>): AgentView[] {
  const byId = new Map([...rows].map((r) => [r.agent_id, r]));
  const liveById = new Map(live.map((l) => [l.agentId, l]));
  const ids = new Set([...byId.keys(), ...liveById.keys()]);
  return [...ids].sort().map((id) => {
    const r = byId.get(id);
    const l = liveById.get(id);
    const health = r?.health ? (JSON.parse(r.health) as Record<string, unknown> | null) : null;
    return {
      agentId: id,
      online: l?.connected ?? false,
      connectedSince: l?.connected ? l.connectedSince : null,
      firstSeen: r ? new Date(r.first_seen).toISOString() : null,
      lastSeen: l?.connected ? new Date(nowMs).toISOString() : r ? new Date(r.last_seen).toISOString() : null,
      version: health && typeof health.agentVersion === 'string' ? health.agentVersion : null,
      health,
      ...extra(id),
    };
  });
}

export class AgentRegistry {
  private readonly upsert;
  /** heartbeats not yet written: many agents' heartbeats go to disk in one transaction */
  private readonly pending = new Map<string, { at: number; health: string }>();

  constructor(private readonly db: ControlDatabase, private readonly now: () => number = Date.now) {
    this.upsert = db.prepare(`INSERT INTO control_agents (agent_id, first_seen, last_seen, health) VALUES (?, ?, ?, ?)
      ON CONFLICT(agent_id) DO UPDATE SET last_seen = excluded.last_seen, health = excluded.health`);
  }

  /** Keeps the latest heartbeat in memory; flush() writes it. */
  heartbeat(agentId: string, health: unknown): void {
    this.pending.set(agentId, { at: this.now(), health: JSON.stringify(health ?? null) });
  }

  /** Writes pending heartbeats (one transaction). */
  flush(): void {
    if (this.pending.size === 0) return;
    const batch = [...this.pending];
    this.pending.clear();
    this.db.transaction(() => {
      for (const [id, h] of batch) this.upsert.run(id, h.at, h.at, h.health);
    })();
  }

  /** An agent connected (even before its first heartbeat). */
  seen(agentId: string): void {
    const now = this.now();
    this.db.prepare(`INSERT INTO control_agents (agent_id, first_seen, last_seen, health) VALUES (?, ?, ?, NULL)
      ON CONFLICT(agent_id) DO UPDATE SET last_seen = excluded.last_seen`).run(agentId, now, now);
  }

  /**
   * A command the agent carried out changes what is in force before its next heartbeat says
   * so: its result (the capture state, or what interdiction is active) replaces that part of
   * the stored health, so `meerkat agents` shows what is applied now.
   */
  applyResult(agentId: string, kind: string, data: unknown): void {
    if (typeof data !== 'object' || data === null) return;
    const part = (kind.startsWith('capture.') && kind !== 'capture.retro') || kind.startsWith('component.') ? 'control'
      : kind.startsWith('interdiction.') ? 'interdiction' : null;
    if (part === null) return;
    this.flush();
    const r = this.db.prepare('SELECT health FROM control_agents WHERE agent_id = ?').get(agentId) as { health: string | null } | undefined;
    const health = (r?.health ? JSON.parse(r.health) as Record<string, unknown> | null : null) ?? {};
    const { expired: _expired, ...rest } = data as Record<string, unknown>;
    health[part] = part === 'interdiction' ? rest : data;
    this.db.prepare('UPDATE control_agents SET health = ? WHERE agent_id = ?').run(JSON.stringify(health), agentId);
  }

  list(live: readonly LiveAgentInfo[], extra: (agentId: string) => Pick<AgentView, 'revoked' | 'pendingCommands'> = () => ({ revoked: false, pendingCommands: [] })): AgentView[] {
    this.flush();
    return agentViews(this.db.prepare('SELECT * FROM control_agents').all() as AgentRow[], live, this.now(), extra);
  }

  saveInventory(agentId: string, commandId: string, report: unknown): void {
    this.db.prepare(`INSERT INTO control_inventory (agent_id, at, command_id, report) VALUES (?, ?, ?, ?)
      ON CONFLICT(agent_id) DO UPDATE SET at = excluded.at, command_id = excluded.command_id, report = excluded.report`)
      .run(agentId, this.now(), commandId, JSON.stringify(report));
  }

  inventory(agentId: string): StoredInventory | null {
    const r = this.db.prepare('SELECT * FROM control_inventory WHERE agent_id = ?').get(agentId) as { agent_id: string; at: number; command_id: string; report: string } | undefined;
    return r ? { agentId: r.agent_id, at: new Date(r.at).toISOString(), commandId: r.command_id, report: JSON.parse(r.report) as unknown } : null;
  }
}
