// The collector-level audit (collector_audit in collector.db): what the collector's own
// administrators did (organisations created, suspended, deleted; users added, changed, granted),
// requests to the API that named no organisation or one the caller may not see, and refused
// attempts to cross from one organisation into another (an agent certificate naming another
// organisation than its CA's, an agent id enrolled elsewhere). Append-only. What happens inside
// an organisation is in that organisation's own audit (control_audit in its database).
import type { CollectorDatabase } from './collector-db.js';

export interface CollectorAuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  org: string | null;
  outcome: string;
  detail: unknown;
}

export interface CollectorAuditInput {
  actor: string;
  action: string;
  org?: string | null;
  outcome: string;
  detail?: unknown;
}

interface Row { seq: number; at: number; actor: string; action: string; org: string | null; outcome: string; detail: string | null }

export class CollectorAudit {
  private readonly insert;

  constructor(private readonly db: CollectorDatabase, private readonly now: () => number = Date.now) {
    this.insert = db.prepare('INSERT INTO collector_audit (at, actor, action, org, outcome, detail) VALUES (?, ?, ?, ?, ?, ?)');
  }

  record(e: CollectorAuditInput): number {
    const detail = e.detail === undefined ? null : JSON.stringify(e.detail);
    return Number(this.insert.run(this.now(), e.actor.slice(0, 200), e.action.slice(0, 200), e.org ?? null, e.outcome.slice(0, 500), detail).lastInsertRowid);
  }

  /** Oldest first; at most `limit` (default 200) of the most recent matching entries. */
  list(f: { org?: string; action?: string; after?: number; limit?: number } = {}): CollectorAuditEntry[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (f.org) { where.push('org = ?'); args.push(f.org); }
    if (f.action) { where.push('action = ?'); args.push(f.action); }
    if (f.after !== undefined) { where.push('seq > ?'); args.push(f.after); }
    const limit = Math.min(Math.max(1, f.limit ?? 200), 10_000);
    const rows = this.db.prepare(`SELECT * FROM collector_audit ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY seq DESC LIMIT ${limit}`).all(...args) as Row[];
    return rows.reverse().map((r) => ({
      seq: r.seq, at: new Date(r.at).toISOString(), actor: r.actor, action: r.action, org: r.org, outcome: r.outcome,
      detail: r.detail === null ? null : (JSON.parse(r.detail) as unknown),
    }));
  }
}
