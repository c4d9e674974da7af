// Alerts on PostgreSQL (scale-out): the table org_<id>.alerts in the organisation's schema, with
// the columns, aggregation and states of the SQLite store (alert-merge.ts holds the rules both
// apply): one live (open or acknowledged) row per key, enforced by a partial unique index;
// closing a row lets the next occurrence start a new one. recordIn() merges a batch inside a
// transaction the caller owns: the flow workers write a batch's alerts in the same transaction
// as the dumps they came from, so a replayed dump can never count an alert twice.
import type pg from 'pg';
import type { AggregatedAlert, AlertChange, AlertFilter, AlertState, StoredAlert } from './alert-types.js';
import { AlertStoreError } from './alert-store-error.js';
import { alertWhere, decodeAlertCursor, encodeAlertCursor, mergedRowValues, newRowValues, rowToAlert, rowValues, type AlertRow } from './alert-merge.js';
import type { AlertPage, AlertReader, AsyncAlertStore } from './async-alert-store.js';
import { ensureSchemas } from '../store/postgres/pg-schema.js';
import { inPgTransaction } from '../store/postgres/pg-transaction.js';

export const PG_ALERT_SCHEMA_VERSION = 1;

function alertDdl(s: string): string {
  return `
    CREATE TABLE IF NOT EXISTS ${s}.alerts_schema (version integer NOT NULL);
    CREATE TABLE IF NOT EXISTS ${s}.alerts (
      id bigserial PRIMARY KEY, dedup_key text NOT NULL, agent_id text NOT NULL, host text NOT NULL DEFAULT '',
      category text NOT NULL, rule text NOT NULL, peer text NOT NULL, analyzer text NOT NULL,
      severity text NOT NULL, severity_rank integer NOT NULL, state text NOT NULL, summary text NOT NULL, count bigint NOT NULL,
      first_seen_us bigint NOT NULL, last_seen_us bigint NOT NULL, flow_uid text, community_id text,
      flow_uids_json text NOT NULL, evidence_json text NOT NULL, response_json text,
      created_us bigint NOT NULL, updated_us bigint NOT NULL, state_changed_us bigint);
    CREATE UNIQUE INDEX IF NOT EXISTS alerts_live_key ON ${s}.alerts (dedup_key) WHERE state <> 'closed';
    CREATE INDEX IF NOT EXISTS alerts_last_seen ON ${s}.alerts (last_seen_us, id);
    CREATE INDEX IF NOT EXISTS alerts_agent ON ${s}.alerts (agent_id, last_seen_us);
    CREATE INDEX IF NOT EXISTS alerts_state ON ${s}.alerts (state, last_seen_us);
    CREATE INDEX IF NOT EXISTS alerts_host ON ${s}.alerts (host, last_seen_us);
  `;
}

/** PostgreSQL's code for a unique violation */
const UNIQUE_VIOLATION = '23505';

export interface PgAlertStoreOptions {
  /** wall clock for created/updated times (µs); tests may pin it */
  nowUs?: () => number;
  /** close() ends the pool */
  owns?: boolean;
}

export class PgAlertStore implements AsyncAlertStore {
  readonly backend = 'postgres';

  private constructor(readonly pool: pg.Pool, readonly schema: string, private readonly nowUs: () => number, private readonly owns: boolean) {}

  /** Opens (creating when new) the organisation's schema and its alert table. */
  static async open(pool: pg.Pool, org: string, opts: PgAlertStoreOptions = {}): Promise<PgAlertStore> {
    const schema = await ensureSchemas(pool, org);
    await inPgTransaction(pool, async (tx) => {
      // the lock ensureSchemas takes: processes starting together do not race on CREATE
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('meerkat-schema'))`);
      await tx.query(alertDdl(schema));
      const v = await tx.query<{ version: number }>(`SELECT version FROM ${schema}.alerts_schema`);
      if (v.rows.length === 0) await tx.query(`INSERT INTO ${schema}.alerts_schema (version) VALUES ($1)`, [PG_ALERT_SCHEMA_VERSION]);
      else if (v.rows[0]!.version > PG_ALERT_SCHEMA_VERSION) {
        throw new AlertStoreError(`schema ${schema} has alert schema ${v.rows[0]!.version}, newer than this build (${PG_ALERT_SCHEMA_VERSION})`);
      }
    });
    return new PgAlertStore(pool, schema, opts.nowUs ?? (() => Date.now() * 1000), opts.owns ?? false);
  }

  record(batch: readonly AggregatedAlert[]): Promise<AlertChange[]> {
    return inPgTransaction(this.pool, (tx) => this.recordIn(tx, batch));
  }

  /** record() inside the caller's transaction (the live rows it touches stay locked until it ends). */
  async recordIn(tx: pg.PoolClient, batch: readonly AggregatedAlert[]): Promise<AlertChange[]> {
    const changes: AlertChange[] = [];
    const now = this.nowUs();
    for (const agg of batch) {
      const a = agg.latest;
      const found = await tx.query<AlertRow>(`SELECT * FROM ${this.schema}.alerts WHERE dedup_key = $1 AND state <> 'closed' FOR UPDATE`, [agg.key]);
      const row = found.rows[0];
      if (row === undefined) {
        const v = newRowValues(agg);
        const ins = await tx.query<AlertRow>(`INSERT INTO ${this.schema}.alerts (dedup_key, agent_id, host, category, rule, peer, analyzer,
          severity, severity_rank, state, summary, count, first_seen_us, last_seen_us, flow_uid, community_id, flow_uids_json, evidence_json,
          response_json, created_us, updated_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19)
          RETURNING *`, [agg.key, a.agentId, a.host ?? '', a.category, a.rule ?? '', a.peer ?? '', v.analyzer, v.severity, v.severityRank, v.summary,
          v.count, v.firstSeenUs, v.lastSeenUs, v.flowUid, v.communityId, v.flowUidsJson, v.evidenceJson, v.responseJson, now]);
        changes.push({ kind: 'new', alert: rowToAlert(ins.rows[0]!) });
        continue;
      }
      const { values: v, escalated } = mergedRowValues(rowValues(row), agg);
      const up = await tx.query<AlertRow>(`UPDATE ${this.schema}.alerts SET count = $1, first_seen_us = $2, last_seen_us = $3, severity = $4,
        severity_rank = $5, summary = $6, flow_uid = $7, community_id = $8, flow_uids_json = $9, evidence_json = $10, response_json = $11,
        analyzer = $12, updated_us = $13 WHERE id = $14 RETURNING *`, [v.count, v.firstSeenUs, v.lastSeenUs, v.severity, v.severityRank, v.summary,
        v.flowUid, v.communityId, v.flowUidsJson, v.evidenceJson, v.responseJson, v.analyzer, now, row.id]);
      changes.push({ kind: escalated ? 'escalated' : 'repeat', alert: rowToAlert(up.rows[0]!) });
    }
    return changes;
  }

  async get(id: number): Promise<StoredAlert | null> {
    if (!Number.isSafeInteger(id)) return null;
    const r = await this.pool.query<AlertRow>(`SELECT * FROM ${this.schema}.alerts WHERE id = $1`, [id]);
    return r.rows[0] === undefined ? null : rowToAlert(r.rows[0]);
  }

  private where(f: AlertFilter, params: unknown[] = []): { conds: string[]; params: unknown[] } {
    const conds = alertWhere(f, (v) => { params.push(v); return `$${params.length}`; });
    return { conds, params };
  }

  async list(filter: AlertFilter = {}): Promise<StoredAlert[]> {
    const w = this.where(filter);
    const limit = filter.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(filter.limit))}` : '';
    const r = await this.pool.query<AlertRow>(`SELECT * FROM ${this.schema}.alerts${w.conds.length ? ' WHERE ' + w.conds.join(' AND ') : ''}
      ORDER BY last_seen_us DESC, id DESC${limit}`, w.params);
    return r.rows.map(rowToAlert);
  }

  async page(filter: AlertFilter, limit: number, cursor: string | null): Promise<AlertPage> {
    const w = this.where(filter);
    if (cursor !== null) {
      const c = decodeAlertCursor(cursor);
      w.params.push(c.lastSeenUs, c.id);
      w.conds.push(`(last_seen_us < $${w.params.length - 1} OR (last_seen_us = $${w.params.length - 1} AND id < $${w.params.length}))`);
    }
    const n = Math.max(1, Math.floor(limit));
    const r = await this.pool.query<AlertRow>(`SELECT * FROM ${this.schema}.alerts${w.conds.length ? ' WHERE ' + w.conds.join(' AND ') : ''}
      ORDER BY last_seen_us DESC, id DESC LIMIT ${n + 1}`, w.params);
    const alerts = r.rows.slice(0, n).map(rowToAlert);
    const last = alerts[alerts.length - 1];
    return { alerts, next: r.rows.length > n && last ? encodeAlertCursor(last.lastSeenUs, last.id) : null };
  }

  async count(filter: AlertFilter = {}): Promise<number> {
    const w = this.where(filter);
    const r = await this.pool.query<{ n: number }>(`SELECT COUNT(*)::bigint AS n FROM ${this.schema}.alerts${w.conds.length ? ' WHERE ' + w.conds.join(' AND ') : ''}`, w.params);
    return r.rows[0]!.n;
  }

  async setState(id: number, state: AlertState): Promise<StoredAlert | null> {
    if (!Number.isSafeInteger(id)) return null;
    try {
      return await inPgTransaction(this.pool, async (tx) => {
        const cur = (await tx.query<AlertRow>(`SELECT * FROM ${this.schema}.alerts WHERE id = $1 FOR UPDATE`, [id])).rows[0];
        if (cur === undefined) return null;
        if (cur.state === state) return rowToAlert(cur);
        if (cur.state === 'closed') {
          const live = await tx.query<{ id: number }>(`SELECT id FROM ${this.schema}.alerts WHERE dedup_key = $1 AND state <> 'closed'`, [cur.dedup_key]);
          if (live.rows[0] !== undefined) throw new AlertStoreError(`alert ${id} is closed and alert ${live.rows[0].id} now tracks the same key; change that one`);
        }
        const now = this.nowUs();
        const r = await tx.query<AlertRow>(`UPDATE ${this.schema}.alerts SET state = $1, state_changed_us = $2, updated_us = $2 WHERE id = $3 RETURNING *`, [state, now, id]);
        return rowToAlert(r.rows[0]!);
      });
    } catch (e) {
      // a worker inserted a live row for the key between our check and our update
      if ((e as { code?: string }).code === UNIQUE_VIOLATION) throw new AlertStoreError(`alert ${id} is closed and another alert now tracks the same key; change that one`);
      throw e;
    }
  }

  async close(): Promise<void> {
    if (this.owns) await this.pool.end();
  }
}

/** The read interface for the operators' API on a front-end: an organisation's alerts in PostgreSQL. */
export function openPgAlertReader(pool: pg.Pool, org: string): Promise<AlertReader> {
  return PgAlertStore.open(pool, org);
}
