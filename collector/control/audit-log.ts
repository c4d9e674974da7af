// The audit log: who did what to which agent, when, and how it ended - every operators' API request,
// every command submitted, delivered, answered or expired, every refusal an agent reported.
// Append-only table control_audit (rows are never updated or deleted by the collector).
import type { ControlDatabase } from './control-db.js';

export interface AuditEntry {
  seq: number;
  at: string;
  /** operator:NAME, agent:ID, collector, anonymous */
  actor: string;
  action: string;
  agentId: string | null;
  commandId: string | null;
  outcome: string;
  detail: unknown;
}

export interface AuditInput {
  actor: string;
  action: string;
  agentId?: string | null;
  commandId?: string | null;
  outcome: string;
  detail?: unknown;
}

export interface AuditFilter {
  agentId?: string;
  commandId?: string;
  /** entries with seq greater than this */
  after?: number;
  /** entries at or after / at or before (ms since the epoch) */
  sinceMs?: number;
  untilMs?: number;
  limit?: number;
}

interface Row { seq: number; at: number; actor: string; action: string; agent_id: string | null; command_id: string | null; outcome: string; detail: string | null }

export class AuditLog {
  private readonly insert;

  constructor(private readonly db: ControlDatabase, private readonly now: () => number = Date.now) {
    this.insert = db.prepare('INSERT INTO control_audit (at, actor, action, agent_id, command_id, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)');
  }

  record(e: AuditInput): number {
    const detail = e.detail === undefined ? null : JSON.stringify(e.detail);
    const r = this.insert.run(this.now(), e.actor.slice(0, 200), e.action.slice(0, 200), e.agentId ?? null, e.commandId ?? null, e.outcome.slice(0, 500), detail);
    return Number(r.lastInsertRowid);
  }

  /** Newest last; at most `limit` (default 200) of the most recent matching entries. */
  list(f: AuditFilter = {}): AuditEntry[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (f.agentId) { where.push('agent_id = ?'); args.push(f.agentId); }
    if (f.commandId) { where.push('command_id = ?'); args.push(f.commandId); }
    if (f.after !== undefined) { where.push('seq > ?'); args.push(f.after); }
    if (f.sinceMs !== undefined) { where.push('at >= ?'); args.push(f.sinceMs); }
    if (f.untilMs !== undefined) { where.push('at <= ?'); args.push(f.untilMs); }
    const limit = Math.min(Math.max(1, f.limit ?? 200), 10_000);
    const sql = `SELECT * FROM control_audit ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY seq DESC LIMIT ${limit}`;
    const rows = this.db.prepare(sql).all(...args) as Row[];
    return rows.reverse().map((r) => ({
      seq: r.seq,
      at: new Date(r.at).toISOString(),
      actor: r.actor,
      action: r.action,
      agentId: r.agent_id,
      commandId: r.command_id,
      outcome: r.outcome,
      detail: r.detail === null ? null : (JSON.parse(r.detail) as unknown),
    }));
  }
}
