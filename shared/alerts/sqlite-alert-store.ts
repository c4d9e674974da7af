// Alerts in SQLite (better-sqlite3), in the same database file as the flows but through
// their own connection, tables and version table. record() merges a batch of
// aggregated alerts into the live rows in one transaction: an open or acknowledged row
// with the same key gets its count, last seen, severity (the highest) and latest
// evidence updated; otherwise a new row is inserted.
import Database from 'better-sqlite3';
import { ALERT_MIGRATIONS, LATEST_ALERT_SCHEMA } from './alert-migrations.js';
import {
  type AggregatedAlert, type AlertChange, type AlertFilter, type AlertState, type StoredAlert,
} from './alert-types.js';
import { AlertStoreError } from './alert-store-error.js';
import { alertWhere, decodeAlertCursor, encodeAlertCursor, mergedRowValues, newRowValues, rowToAlert, rowValues, type AlertRow } from './alert-merge.js';

export { AlertStoreError, rowToAlert, type AlertRow };

export interface SqliteAlertStoreOptions {
  readonly?: boolean;
  /** 'full' (default) or 'normal' */
  synchronous?: 'full' | 'normal';
  busyTimeoutMs?: number;
  /** wall clock for created/updated times (µs); tests may pin it */
  nowUs?: () => number;
}

export class SqliteAlertStore {
  private readonly db: Database.Database;
  private readonly nowUs: () => number;
  private readonly readonly: boolean;
  private closed = false;

  constructor(readonly path: string, opts: SqliteAlertStoreOptions = {}) {
    this.nowUs = opts.nowUs ?? (() => Date.now() * 1000);
    this.readonly = opts.readonly ?? false;
    try {
      this.db = new Database(path, { readonly: this.readonly, fileMustExist: this.readonly });
    } catch (e) {
      throw new AlertStoreError(`cannot open database ${path}: ${(e as Error).message}`);
    }
    try {
      this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
      if (!this.readonly) {
        this.db.pragma('journal_mode = WAL');
        this.db.pragma(`synchronous = ${opts.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
        this.migrate();
      } else {
        const v = this.schemaVersion();
        if (v > LATEST_ALERT_SCHEMA) throw new AlertStoreError(`database ${path} has alert schema ${v}, newer than this build (${LATEST_ALERT_SCHEMA})`);
        if (v > 0 && v < LATEST_ALERT_SCHEMA) throw new AlertStoreError(`database ${path} has alert schema ${v} (open it once read-write to migrate)`);
      }
    } catch (e) {
      this.db.close();
      throw e instanceof AlertStoreError ? e : new AlertStoreError(`cannot use database ${path}: ${(e as Error).message}`);
    }
  }

  /** Alert schema version (0: no alert tables yet). */
  schemaVersion(): number {
    const t = this.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alerts_schema'`).get();
    if (t === undefined) return 0;
    const r = this.db.prepare('SELECT MAX(version) AS v FROM alerts_schema').get() as { v: number | null };
    return r.v ?? 0;
  }

  private migrate(): void {
    this.db.exec(`CREATE TABLE IF NOT EXISTS alerts_schema (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_us INTEGER NOT NULL)`);
    const current = this.schemaVersion();
    if (current > LATEST_ALERT_SCHEMA) {
      throw new AlertStoreError(`database ${this.path} has alert schema ${current}, newer than this build (${LATEST_ALERT_SCHEMA})`);
    }
    for (const m of ALERT_MIGRATIONS) {
      if (m.version <= current) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO alerts_schema (version, name, applied_us) VALUES (?, ?, ?)').run(m.version, m.name, this.nowUs());
      })();
    }
  }

  private get hasTables(): boolean {
    return this.schemaVersion() > 0;
  }

  /** Merges aggregated alerts into the live rows (one transaction); what changed, in order. */
  record(batch: readonly AggregatedAlert[]): AlertChange[] {
    if (this.readonly) throw new AlertStoreError(`database ${this.path} is open read-only`);
    const find = this.db.prepare(`SELECT * FROM alerts WHERE dedup_key = ? AND state != 'closed'`);
    const update = this.db.prepare(`UPDATE alerts SET count = ?, first_seen_us = ?, last_seen_us = ?, severity = ?,
      severity_rank = ?, summary = ?, flow_uid = ?, community_id = ?, flow_uids_json = ?, evidence_json = ?, response_json = ?,
      analyzer = ?, updated_us = ? WHERE id = ?`);
    const insert = this.db.prepare(`INSERT INTO alerts (dedup_key, agent_id, host, category, rule, peer, analyzer, severity,
      severity_rank, state, summary, count, first_seen_us, last_seen_us, flow_uid, community_id, flow_uids_json,
      evidence_json, response_json, created_us, updated_us, state_changed_us)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`);
    const byId = this.db.prepare('SELECT * FROM alerts WHERE id = ?');
    const changes: AlertChange[] = [];
    const now = this.nowUs();
    this.db.transaction(() => {
      for (const agg of batch) {
        const a = agg.latest;
        const row = find.get(agg.key) as AlertRow | undefined;
        if (row === undefined) {
          const v = newRowValues(agg);
          const r = insert.run(agg.key, a.agentId, a.host ?? '', a.category, a.rule ?? '', a.peer ?? '', v.analyzer, v.severity,
            v.severityRank, v.summary, v.count, v.firstSeenUs, v.lastSeenUs, v.flowUid, v.communityId, v.flowUidsJson, v.evidenceJson,
            v.responseJson, now, now);
          changes.push({ kind: 'new', alert: rowToAlert(byId.get(r.lastInsertRowid) as AlertRow) });
          continue;
        }
        const { values: v, escalated } = mergedRowValues(rowValues(row), agg);
        update.run(v.count, v.firstSeenUs, v.lastSeenUs, v.severity, v.severityRank, v.summary, v.flowUid, v.communityId, v.flowUidsJson,
          v.evidenceJson, v.responseJson, v.analyzer, now, row.id);
        changes.push({ kind: escalated ? 'escalated' : 'repeat', alert: rowToAlert(byId.get(row.id) as AlertRow) });
      }
    })();
    return changes;
  }

  get(id: number): StoredAlert | null {
    if (!this.hasTables) return null;
    const r = this.db.prepare('SELECT * FROM alerts WHERE id = ?').get(id) as AlertRow | undefined;
    return r === undefined ? null : rowToAlert(r);
  }

  private where(f: AlertFilter): { sql: string; args: unknown[] } {
    const args: unknown[] = [];
    const conds = alertWhere(f, (v) => { args.push(v); return '?'; });
    return { sql: conds.length > 0 ? ` WHERE ${conds.join(' AND ')}` : '', args };
  }

  /** Alerts, most recently seen first. */
  list(filter: AlertFilter = {}): StoredAlert[] {
    if (!this.hasTables) return [];
    const w = this.where(filter);
    const limit = filter.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(filter.limit))}` : '';
    const rows = this.db.prepare(`SELECT * FROM alerts${w.sql} ORDER BY last_seen_us DESC, id DESC${limit}`).all(...w.args) as AlertRow[];
    return rows.map(rowToAlert);
  }

  /**
   * At most `limit` alerts, most recently seen first, after the cursor of the previous page
   * (null for the first); `next` is null on the last page. @throws AlertStoreError on a bad cursor
   */
  page(filter: AlertFilter, limit: number, cursor: string | null): { alerts: StoredAlert[]; next: string | null } {
    if (!this.hasTables) return { alerts: [], next: null };
    const w = this.where(filter);
    const conds = w.sql ? [w.sql.replace(/^ WHERE /, '')] : [];
    const args = [...w.args];
    if (cursor !== null) {
      const c = decodeAlertCursor(cursor);
      conds.push('(last_seen_us < ? OR (last_seen_us = ? AND id < ?))');
      args.push(c.lastSeenUs, c.lastSeenUs, c.id);
    }
    const n = Math.max(1, Math.floor(limit));
    const rows = this.db.prepare(`SELECT * FROM alerts${conds.length ? ' WHERE ' + conds.join(' AND ') : ''} ORDER BY last_seen_us DESC, id DESC LIMIT ${n + 1}`).all(...args) as AlertRow[];
    const alerts = rows.slice(0, n).map(rowToAlert);
    const last = alerts[alerts.length - 1];
    return { alerts, next: rows.length > n && last ? encodeAlertCursor(last.lastSeenUs, last.id) : null };
  }

  count(filter: AlertFilter = {}): number {
    if (!this.hasTables) return 0;
    const w = this.where(filter);
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM alerts${w.sql}`).get(...w.args) as { n: number }).n;
  }

  /**
   * Moves an alert to a new state; null when there is no such alert. Reopening a closed
   * alert is refused when its key already has a live row (the live row carries on).
   */
  setState(id: number, state: AlertState): StoredAlert | null {
    if (this.readonly) throw new AlertStoreError(`database ${this.path} is open read-only`);
    const cur = this.get(id);
    if (cur === null) return null;
    if (cur.state === state) return cur;
    if (cur.state === 'closed') {
      const live = this.db.prepare(`SELECT id FROM alerts WHERE dedup_key = ? AND state != 'closed'`).get(cur.key) as { id: number } | undefined;
      if (live !== undefined) throw new AlertStoreError(`alert ${id} is closed and alert ${live.id} now tracks the same key; change that one`);
    }
    this.db.prepare('UPDATE alerts SET state = ?, state_changed_us = ?, updated_us = ? WHERE id = ?').run(state, this.nowUs(), this.nowUs(), id);
    return this.get(id);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
