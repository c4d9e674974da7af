// AsyncFlowStore on PostgreSQL, one organisation's schema (pg-schema.ts). A dump commits with
// its flows in one transaction keyed by (agent id, sequence): INSERT ... ON CONFLICT DO NOTHING
// on the dump row decides whether the rest is written. The flow workers add their own work to
// that transaction (the partition fencing check before, the agent's replay point after) through
// the hooks of commitDump.
import type pg from 'pg';
import type { FlowRecord } from '../../flow/flow-record.js';
import type { DnsRecord, TlsRecord } from '../../flow/app-records.js';
import type { AsyncFlowStore, DumpCommit, DumpCommitResult } from '../async-flow-store.js';
import { DEFAULT_RETENTION, StoreError, type AgentRow, type FlowFilter, type FlowPage, type FlowSummary, type InsertFlowsResult, type RetentionPolicy, type StoredDump } from '../flow-store.js';
import { formatCidr, parseCidr, parseIp, type Cidr } from '../../net/ip-address.js';
import { decodeCursor, encodeCursor } from '../flow-cursor.js';
import { FLOW_COLUMNS, flowRecordFromRow, flowRowProblem, flowRowValues, type FlowRow } from '../flow-columns.js';
import { nameCondition } from '../app-log-sql.js';
import { ensureSchemas } from './pg-schema.js';
import { inPgTransaction } from './pg-transaction.js';

/** Work a caller adds to a dump's transaction. */
export interface CommitHooks {
  /** before the dump row; throwing rolls everything back */
  before?: (tx: pg.PoolClient) => Promise<void>;
  /** after the dump's rows (stored: whether the dump was new), same transaction */
  after?: (tx: pg.PoolClient, stored: boolean) => Promise<void>;
}

/** Work a caller adds to a batch's transaction (stored: per dump, whether it was new). */
export interface BatchCommitHooks {
  before?: (tx: pg.PoolClient) => Promise<void>;
  after?: (tx: pg.PoolClient, stored: readonly boolean[]) => Promise<void>;
  /** records not tied to a dump of the batch (flows ended by an agent's watermark), same transaction */
  extra?: { flows: readonly FlowRecord[]; dns: readonly DnsRecord[]; tls: readonly TlsRecord[] };
}

/** rows per INSERT statement (47 parameters each; PostgreSQL takes at most 65535) */
const ROWS_PER_INSERT = 1000;
const FLOW_INSERT_COLUMNS = [...FLOW_COLUMNS, 'stored_us'];

interface DumpRowPg {
  agent_id: string; sequence: number; received_us: number; first_ts_us: number; last_ts_us: number; packet_count: number;
  format_version: number | null; link_type: number | null; anon_key_id: string | null; snap_len: number | null; compression: string | null;
  raw_path: string | null; raw_bytes: number | null; extra: Record<string, unknown> | null; raw_deleted_us: number | null;
}

/**
 * A whole address compares as text (records carry canonical text, as in the SQLite store); a
 * prefix as inet containment, which the B-tree indexes on the addresses cast to inet answer as a
 * range (flows_orig_inet / flows_resp_inet, pg-schema.ts). `pseudonym`: only a side that is one
 * (the "*" notation).
 */
function addrCondition(addr: string, pseudonym: boolean, p: (v: unknown) => string): string {
  let c: Cidr;
  try {
    c = parseCidr(addr);
  } catch {
    throw new StoreError(`not an address or CIDR prefix: ${JSON.stringify(addr)}`);
  }
  const full = c.prefixLen === (c.version === 4 ? 32 : 128);
  const v = p(full ? formatCidr(c).replace(/\/\d+$/, '') : formatCidr(c));
  const side = (col: string, anonCol: string): string =>
    `${full ? `${col} = ${v}` : `(${col})::inet <<= ${v}::cidr`}${pseudonym ? ` AND ${anonCol} = 1` : ''}`;
  return `((${side('orig_addr', 'orig_anon')}) OR (${side('resp_addr', 'resp_anon')}))`;
}

/** The address indexes cast each address to inet: a record whose address is none would fail its whole transaction, so it is refused alone. */
function addrProblem(r: FlowRecord): string | null {
  for (const [col, v] of [['orig_addr', r.orig_addr], ['resp_addr', r.resp_addr]] as const) {
    try {
      parseIp(v);
    } catch {
      return `${col} ${JSON.stringify(String(v).slice(0, 60))} is not an IP address`;
    }
  }
  return null;
}

export class PgFlowStore implements AsyncFlowStore {
  readonly backend = 'postgres';

  private constructor(readonly pool: pg.Pool, readonly schema: string, private readonly owns: boolean, private readonly nowUs: () => number,
    private readonly retention: RetentionPolicy) {}

  /** Opens (creating when new) the organisation's schema. `owns`: close() ends the pool. */
  static async open(pool: pg.Pool, org: string, opts: { owns?: boolean; nowUs?: () => number; retention?: Partial<RetentionPolicy> } = {}): Promise<PgFlowStore> {
    const retention = { ...DEFAULT_RETENTION, ...(opts.retention ?? {}) };
    if (!(retention.flowsDays > 0)) throw new StoreError(`retention flowsDays must be a positive number of days, got ${String(retention.flowsDays)}`);
    const schema = await ensureSchemas(pool, org);
    return new PgFlowStore(pool, schema, opts.owns ?? false, opts.nowUs ?? (() => Date.now() * 1000), retention);
  }

  /**
   * Retention by store / receive time (as SqliteFlowStore.applyRetention). Raw dumps are the
   * stream's (its max_age), so there are no files to release. One process at a time per schema
   * (a transaction-scoped advisory lock; the others skip this round).
   */
  applyRetention(nowUs: number): Promise<{ flowsDeleted: number; dumpRowsDeleted: number }> {
    const cutoff = nowUs - this.retention.flowsDays * 86_400_000_000;
    return this.inTransaction(async (tx) => {
      const got = await tx.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok', [`meerkat-retention ${this.schema}`]);
      if (!got.rows[0]!.ok) return { flowsDeleted: 0, dumpRowsDeleted: 0 };
      const flows = await tx.query(`DELETE FROM ${this.schema}.flows WHERE stored_us < $1`, [cutoff]);
      await tx.query(`DELETE FROM ${this.schema}.dns_log WHERE stored_us < $1`, [cutoff]);
      await tx.query(`DELETE FROM ${this.schema}.tls_log WHERE stored_us < $1`, [cutoff]);
      const dumps = await tx.query(`DELETE FROM ${this.schema}.dumps WHERE received_us < $1`, [cutoff]);
      return { flowsDeleted: flows.rowCount ?? 0, dumpRowsDeleted: dumps.rowCount ?? 0 };
    });
  }

  async hasDump(agentId: string, sequence: number): Promise<boolean> {
    const r = await this.pool.query(`SELECT 1 FROM ${this.schema}.dumps WHERE agent_id = $1 AND sequence = $2`, [agentId, sequence]);
    return r.rowCount !== null && r.rowCount > 0;
  }

  async getDump(agentId: string, sequence: number): Promise<StoredDump | null> {
    const r = await this.pool.query<DumpRowPg>(`SELECT * FROM ${this.schema}.dumps WHERE agent_id = $1 AND sequence = $2`, [agentId, sequence]);
    const d = r.rows[0];
    if (d === undefined) return null;
    return {
      agentId: d.agent_id, sequence: d.sequence, receivedUs: d.received_us, firstTsUs: d.first_ts_us, lastTsUs: d.last_ts_us, packetCount: d.packet_count,
      ...(d.format_version !== null ? { formatVersion: d.format_version } : {}),
      ...(d.link_type !== null ? { linkType: d.link_type } : {}),
      ...(d.anon_key_id !== null ? { anonKeyId: d.anon_key_id } : {}),
      ...(d.snap_len !== null ? { snapLen: d.snap_len } : {}),
      ...(d.compression !== null ? { compression: d.compression } : {}),
      rawPath: d.raw_path,
      ...(d.raw_bytes !== null ? { rawBytes: d.raw_bytes } : {}),
      ...(d.extra !== null ? { extra: d.extra } : {}),
      rawDeletedUs: d.raw_deleted_us,
    };
  }

  async commitDump(c: DumpCommit, hooks: CommitHooks = {}): Promise<DumpCommitResult> {
    const [r] = await this.commitDumps([c], { ...(hooks.before ? { before: hooks.before } : {}), ...(hooks.after ? { after: (tx, stored) => hooks.after!(tx, stored[0]!) } : {}) });
    return r!;
  }

  commitDumps(cs: readonly DumpCommit[], hooks: BatchCommitHooks = {}): Promise<DumpCommitResult[]> {
    for (const c of cs) {
      if (!Number.isSafeInteger(c.sequence) || c.sequence < 0) {
        return Promise.reject(new StoreError(`dump sequence must be a non-negative integer, got ${String(c.sequence)}`));
      }
    }
    return this.inTransaction(async (tx) => {
      if (hooks.before) await hooks.before(tx);
      const stored = cs.length === 0 ? [] : await this.insertDumpRows(tx, cs);
      const results: DumpCommitResult[] = cs.map((_, i) => ({ stored: stored[i]!, flows: { inserted: 0, refused: [] } }));
      const fresh = cs.filter((_, i) => stored[i]);
      if (fresh.length > 0) {
        // agents: the latest receive time of each
        const seen = new Map<string, number>();
        for (const c of fresh) seen.set(c.agentId, Math.max(seen.get(c.agentId) ?? 0, c.info.receivedUs));
        await tx.query(`INSERT INTO ${this.schema}.agents (agent_id, first_seen_us, last_seen_us) SELECT a, t, t FROM unnest($1::text[], $2::bigint[]) AS u(a, t)
          ON CONFLICT (agent_id) DO UPDATE SET last_seen_us = GREATEST(${this.schema}.agents.last_seen_us, EXCLUDED.last_seen_us),
            first_seen_us = LEAST(${this.schema}.agents.first_seen_us, EXCLUDED.first_seen_us)`, [[...seen.keys()], [...seen.values()]]);
        const flows = await this.insertFlows(tx, fresh.flatMap((c) => c.flows));
        await this.insertAppRecords(tx, fresh.flatMap((c) => c.dns), fresh.flatMap((c) => c.tls));
        // per dump: its share of the inserted and refused records
        const refusedByUid = new Set(flows.refused.map((r) => `${r.agentId}/${r.uid}`));
        cs.forEach((c, i) => {
          if (!stored[i]) return;
          const refused = flows.refused.filter((r) => r.agentId === c.agentId && c.flows.some((f) => f.uid === r.uid));
          results[i]!.flows = { inserted: c.flows.filter((f) => !refusedByUid.has(`${f.agent_id}/${f.uid}`)).length, refused };
        });
      }
      if (hooks.extra) {
        await this.insertFlows(tx, hooks.extra.flows);
        await this.insertAppRecords(tx, hooks.extra.dns, hooks.extra.tls);
      }
      if (hooks.after) await hooks.after(tx, stored);
      return results;
    });
  }

  /** Inserts the dump rows; per dump, whether its row is new (a key twice in the batch: the first). */
  private async insertDumpRows(tx: pg.PoolClient, cs: readonly DumpCommit[]): Promise<boolean[]> {
    const cols = ['agent_id', 'sequence', 'received_us', 'first_ts_us', 'last_ts_us', 'packet_count', 'format_version', 'link_type',
      'anon_key_id', 'snap_len', 'compression', 'raw_path', 'raw_bytes', 'extra'];
    // one statement cannot insert a key twice, even with DO NOTHING: the first of each key goes in
    const keys = cs.map((c) => `${c.agentId}/${c.sequence}`);
    const firstOf = new Map<string, number>();
    keys.forEach((k, i) => { if (!firstOf.has(k)) firstOf.set(k, i); });
    const params: unknown[] = [];
    const tuples = [...firstOf.values()].map((idx, r) => {
      const c = cs[idx]!;
      const i = c.info;
      params.push(c.agentId, c.sequence, i.receivedUs, i.firstTsUs, i.lastTsUs, i.packetCount, i.formatVersion ?? null, i.linkType ?? null,
        i.anonKeyId ?? null, i.snapLen ?? null, i.compression ?? null, i.rawPath ?? null, i.rawBytes ?? null,
        i.extra === undefined ? null : JSON.stringify(i.extra));
      return `(${cols.map((_, k) => `$${r * cols.length + k + 1}`).join(',')})`;
    });
    const ins = await tx.query<{ agent_id: string; sequence: number }>(
      `INSERT INTO ${this.schema}.dumps (${cols.join(', ')}) VALUES ${tuples.join(',')} ON CONFLICT (agent_id, sequence) DO NOTHING RETURNING agent_id, sequence`, params);
    const inserted = new Set(ins.rows.map((r) => `${r.agent_id}/${r.sequence}`));
    return keys.map((k, i) => firstOf.get(k) === i && inserted.has(k));
  }

  /** Which of these (agent id, sequence) are committed, as "agent/sequence" keys. */
  async committedAmong(keys: ReadonlyArray<{ agentId: string; sequence: number }>): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const r = await this.pool.query<{ agent_id: string; sequence: number }>(
      `SELECT d.agent_id, d.sequence FROM ${this.schema}.dumps d JOIN unnest($1::text[], $2::bigint[]) AS u(a, q) ON d.agent_id = u.a AND d.sequence = u.q`,
      [keys.map((k) => k.agentId), keys.map((k) => k.sequence)]);
    return new Set(r.rows.map((x) => `${x.agent_id}/${x.sequence}`));
  }

  writeFlows(flows: readonly FlowRecord[], dns: readonly DnsRecord[], tls: readonly TlsRecord[], hooks: CommitHooks = {}): Promise<InsertFlowsResult> {
    return this.inTransaction(async (tx) => {
      if (hooks.before) await hooks.before(tx);
      const r = await this.insertFlows(tx, flows);
      await this.insertAppRecords(tx, dns, tls);
      if (hooks.after) await hooks.after(tx, true);
      return r;
    });
  }

  /** Runs fn in one transaction on one pooled connection; rolls back if it throws. */
  inTransaction<T>(fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
    return inPgTransaction(this.pool, fn);
  }

  private async upsertAgent(tx: pg.PoolClient, agentId: string, seenUs: number): Promise<void> {
    await tx.query(`INSERT INTO ${this.schema}.agents (agent_id, first_seen_us, last_seen_us) VALUES ($1, $2, $2)
      ON CONFLICT (agent_id) DO UPDATE SET last_seen_us = GREATEST(${this.schema}.agents.last_seen_us, EXCLUDED.last_seen_us),
        first_seen_us = LEAST(${this.schema}.agents.first_seen_us, EXCLUDED.first_seen_us)`, [agentId, seenUs]);
  }

  private async insertFlows(tx: pg.PoolClient, records: readonly FlowRecord[]): Promise<InsertFlowsResult> {
    const out: InsertFlowsResult = { inserted: 0, refused: [] };
    const stored = this.nowUs();
    let params: unknown[] = [];
    let rows = 0;
    const flush = async (): Promise<void> => {
      if (rows === 0) return;
      const n = FLOW_INSERT_COLUMNS.length;
      const tuples = Array.from({ length: rows }, (_, r) => `(${Array.from({ length: n }, (_, c) => `$${r * n + c + 1}`).join(',')})`);
      await tx.query(`INSERT INTO ${this.schema}.flows (${FLOW_INSERT_COLUMNS.join(', ')}) VALUES ${tuples.join(',')}`, params);
      out.inserted += rows;
      params = [];
      rows = 0;
    };
    for (const r of records) {
      const values = flowRowValues(r, new Array<unknown>(FLOW_COLUMNS.length));
      const problem = flowRowProblem(values) ?? addrProblem(r);
      if (problem !== null) {
        out.refused.push({ uid: String(r.uid), agentId: String(r.agent_id), reason: problem });
        continue;
      }
      params.push(...values, stored);
      if (++rows >= ROWS_PER_INSERT) await flush();
    }
    await flush();
    return out;
  }

  private async insertAppRecords(tx: pg.PoolClient, dns: readonly DnsRecord[], tls: readonly TlsRecord[]): Promise<void> {
    const stored = this.nowUs();
    for (const [table, recs] of [['dns_log', dns], ['tls_log', tls]] as const) {
      for (let i = 0; i < recs.length; i += ROWS_PER_INSERT) {
        const chunk = recs.slice(i, i + ROWS_PER_INSERT);
        const params: unknown[] = [];
        const tuples = chunk.map((r, j) => {
          params.push(r.uid, r.agent_id, r.ts, JSON.stringify(r), stored);
          return `($${j * 5 + 1}, $${j * 5 + 2}, $${j * 5 + 3}, $${j * 5 + 4}, $${j * 5 + 5})`;
        });
        await tx.query(`INSERT INTO ${this.schema}.${table} (uid, agent_id, ts_us, record, stored_us) VALUES ${tuples.join(',')}`, params);
      }
    }
  }

  async listAgents(): Promise<AgentRow[]> {
    const r = await this.pool.query<{ agent_id: string; first_seen_us: number; last_seen_us: number; info: Record<string, unknown> | null }>(
      `SELECT agent_id, first_seen_us, last_seen_us, info FROM ${this.schema}.agents ORDER BY agent_id`);
    return r.rows.map((a) => ({ agentId: a.agent_id, firstSeenUs: a.first_seen_us, lastSeenUs: a.last_seen_us, info: a.info }));
  }

  private where(f: FlowFilter): { sql: string; params: unknown[] } {
    const cond: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown): string => { params.push(v); return `$${params.length}`; };
    if (f.agentId !== undefined) cond.push(`agent_id = ${p(f.agentId)}`);
    if (f.addr !== undefined) cond.push(addrCondition(f.addr, f.addrPseudonym ?? false, p));
    if (f.port !== undefined) { const a = p(f.port); cond.push(`(orig_port = ${a} OR resp_port = ${a})`); }
    if (f.proto !== undefined) cond.push(`proto = ${p(f.proto)}`);
    if (f.since !== undefined) cond.push(`end_us >= ${p(f.since)}`);
    if (f.until !== undefined) cond.push(`start_us <= ${p(f.until)}`);
    if (f.state !== undefined) cond.push(`conn_state = ${p(f.state)}`);
    if (f.uid !== undefined) cond.push(`uid = ${p(f.uid)}`);
    if (f.communityId !== undefined) cond.push(`community_id = ${p(f.communityId)}`);
    if (f.name !== undefined) {
      // the SQLite condition, with numbered parameters and byte order (the range relies on '.' < '/')
      const own: unknown[] = [];
      let k = 0;
      cond.push(nameCondition('server_name_rev COLLATE "C"', f.name, f.nameSuffix ?? false, own).replace(/\?/g, () => p(own[k++])));
    }
    return { sql: cond.length > 0 ? ' WHERE ' + cond.join(' AND ') : '', params };
  }

  async queryFlows(filter: FlowFilter = {}): Promise<FlowRecord[]> {
    const w = this.where(filter);
    const dir = filter.order === 'asc' ? 'ASC' : 'DESC';
    let sql = `SELECT * FROM ${this.schema}.flows${w.sql} ORDER BY start_us ${dir}, id ${dir}`;
    if (filter.limit !== undefined) {
      if (!Number.isSafeInteger(filter.limit) || filter.limit < 0) throw new StoreError(`limit must be a non-negative integer, got ${String(filter.limit)}`);
      sql += ` LIMIT ${filter.limit}`;
    }
    const r = await this.pool.query<FlowRow>(sql, w.params);
    return r.rows.map(flowRecordFromRow);
  }

  /** One page of records, newest first, and the cursor of the next (the SQLite store's format and order). */
  async pageFlows(filter: FlowFilter, limit: number, cursor: string | null): Promise<FlowPage> {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new StoreError(`limit must be a positive integer, got ${String(limit)}`);
    const w = this.where(filter);
    const c = cursor === null ? null : decodeCursor(cursor);
    let sql = w.sql;
    if (c !== null) {
      w.params.push(c.startUs, c.id);
      const n = w.params.length;
      sql += `${sql ? ' AND' : ' WHERE'} (start_us < $${n - 1} OR (start_us = $${n - 1} AND id < $${n}))`;
    }
    const r = await this.pool.query<FlowRow & { id: number; start_us: number }>(`SELECT * FROM ${this.schema}.flows${sql} ORDER BY start_us DESC, id DESC LIMIT ${limit + 1}`, w.params);
    const more = r.rows.length > limit;
    const page = more ? r.rows.slice(0, limit) : r.rows;
    const last = page[page.length - 1];
    return { records: page.map(flowRecordFromRow), next: more && last ? encodeCursor(last.start_us, last.id) : null };
  }

  /** Totals, top talkers, ports and protocols of the matching records (SqliteFlowStore.summarizeFlows: the same groups and order). */
  async summarizeFlows(filter: FlowFilter, top: number): Promise<FlowSummary> {
    if (!Number.isSafeInteger(top) || top < 1) throw new StoreError(`top must be a positive integer, got ${String(top)}`);
    const w = this.where(filter);
    const sel = `WITH sel AS MATERIALIZED (SELECT orig_addr, resp_addr, orig_anon, resp_anon, proto, resp_port,
      orig_pkts + resp_pkts AS pkts, orig_ip_bytes + resp_ip_bytes AS bytes FROM ${this.schema}.flows${w.sql})`;
    const sums = 'COUNT(*)::bigint AS records, COALESCE(SUM(pkts), 0)::bigint AS packets, COALESCE(SUM(bytes), 0)::bigint AS bytes';
    // one statement: the filter runs once, its rows feed every group; n keeps each group's order
    const ranked = (order: string): string => `row_number() OVER (ORDER BY ${order}) AS n`;
    const talkOrder = 'SUM(bytes) DESC, COUNT(*) DESC, addr COLLATE "C", anon';
    const portOrder = 'SUM(bytes) DESC, COUNT(*) DESC, proto COLLATE "C", resp_port';
    const protoOrder = 'SUM(bytes) DESC, COUNT(*) DESC, proto COLLATE "C"';
    const r = await this.pool.query<{ part: string; k1: string | null; k2: number | null; records: number; packets: number; bytes: number }>(`${sel}
      SELECT * FROM (
        SELECT 't' AS part, NULL AS k1, NULL::bigint AS k2, ${sums}, 0::bigint AS n FROM sel
        UNION ALL (SELECT 'a', addr, anon, ${sums}, ${ranked(talkOrder)} FROM (SELECT orig_addr AS addr, orig_anon AS anon, pkts, bytes FROM sel
            UNION ALL SELECT resp_addr, resp_anon, pkts, bytes FROM sel) x
          GROUP BY addr, anon ORDER BY ${talkOrder} LIMIT ${top})
        UNION ALL (SELECT 'p', proto, resp_port, ${sums}, ${ranked(portOrder)} FROM sel GROUP BY proto, resp_port ORDER BY ${portOrder} LIMIT ${top})
        UNION ALL (SELECT 'r', proto, NULL, ${sums}, ${ranked(protoOrder)} FROM sel GROUP BY proto ORDER BY ${protoOrder} LIMIT ${top})
      ) u ORDER BY part, n`, w.params);
    const of = (part: string): typeof r.rows => r.rows.filter((x) => x.part === part);
    const t = of('t')[0]!;
    return {
      records: t.records, packets: t.packets, bytes: t.bytes,
      talkers: of('a').map((x) => ({ addr: x.k1!, pseudonym: x.k2 === 1, records: x.records, packets: x.packets, bytes: x.bytes })),
      ports: of('p').map((x) => ({ proto: x.k1!, port: x.k2!, records: x.records, packets: x.packets, bytes: x.bytes })),
      protocols: of('r').map((x) => ({ proto: x.k1!, records: x.records, packets: x.packets, bytes: x.bytes })),
    };
  }

  async countFlows(filter: FlowFilter = {}): Promise<number> {
    const w = this.where(filter);
    const r = await this.pool.query<{ n: number }>(`SELECT COUNT(*)::bigint AS n FROM ${this.schema}.flows${w.sql}`, w.params);
    return r.rows[0]!.n;
  }

  async countDumps(agentId?: string): Promise<number> {
    const r = agentId === undefined
      ? await this.pool.query<{ n: number }>(`SELECT COUNT(*)::bigint AS n FROM ${this.schema}.dumps`)
      : await this.pool.query<{ n: number }>(`SELECT COUNT(*)::bigint AS n FROM ${this.schema}.dumps WHERE agent_id = $1`, [agentId]);
    return r.rows[0]!.n;
  }

  async close(): Promise<void> {
    if (this.owns) await this.pool.end();
  }
}
