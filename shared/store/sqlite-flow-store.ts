// FlowStore on SQLite (better-sqlite3): WAL journal, prepared statements reused,
// batches inside one transaction, schema from the ordered migration list.
//
// Durability: dumps are acknowledged to agents only after their transaction commits,
// so the default is synchronous=FULL (in WAL mode: one fsync of the WAL per commit;
// a commit survives power loss). Bulk offline imports can choose 'normal' (a commit
// survives a process crash but the last ones may be lost on power loss) for speed.
import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { FLOW_COLUMNS, flowRecordFromRow, flowRowProblem, flowRowValues, type FlowRow } from './flow-columns.js';
import {
  DEFAULT_RETENTION, StoreError,
  type AgentRow, type AppLogFilter, type DumpInfo, type FlowFilter, type FlowPage, type FlowStore, type FlowSummary, type InsertFlowsResult, type RetentionPolicy, type RetentionResult,
  type StoredDump,
} from './flow-store.js';
import { cidrContains, formatCidr, parseCidr, parseIp, type Cidr } from '../net/ip-address.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from './sqlite-migrations.js';
import { decodeCursor, encodeCursor } from './flow-cursor.js';
import { deferIndexes, restoreDeferredIndexes } from './sqlite-deferred-indexes.js';
import type { FlowRecord } from '../flow/flow-record.js';
import type { DnsRecord, TlsRecord } from '../flow/app-records.js';
import {
  appLogWhere, DNS_LOG_COLUMNS, dnsFromRow, dnsRowValues, insertSql, nameCondition, TLS_LOG_COLUMNS, tlsFromRow, tlsRowValues,
} from './app-log-sql.js';

export interface SqliteFlowStoreOptions {
  /** open without writing (no migrations; the schema must already be current) */
  readonly?: boolean;
  /** 'full' (default: commits are durable before dumps are acknowledged) or 'normal' */
  synchronous?: 'full' | 'normal';
  retention?: Partial<RetentionPolicy>;
  /** ms to wait for a lock held by another connection (default 5000) */
  busyTimeoutMs?: number;
  /** the clock that stamps stored flow records (µs since the epoch; tests pin it) */
  nowUs?: () => number;
  /** the newest-first page windows (tests shrink them to reach every path with few rows) */
  pageWindow?: PageWindow;
}

const DAY_US = 86_400_000_000;
/** page cache sizes (negative: KiB): SQLite's default, and during a bulk import into a new database */
const DEFAULT_CACHE_KIB = -2000;
const BULK_CACHE_KIB = -65536;

type Db = Database.Database;
type Stmt = Database.Statement;

interface DumpRow {
  agent_id: string; sequence: number; received_us: number; first_ts_us: number; last_ts_us: number;
  packet_count: number; format_version: number | null; link_type: number | null; anon_key_id: string | null;
  snap_len: number | null; compression: string | null; raw_path: string | null; raw_bytes: number | null;
  raw_deleted_us: number | null; extra_json: string | null;
}

/**
 * Opens the file; read-write creates it and any missing directory above it (0700: a fresh
 * state directory), read-only says plainly when it or its directory does not exist.
 */
function openDatabase(path: string, readonly: boolean): Db {
  if (path !== ':memory:') {
    const dir = dirname(path);
    if (readonly) {
      if (!existsSync(path)) throw new StoreError(`database ${path} does not exist${existsSync(dir) ? '' : ` (no directory ${dir})`}`);
    } else {
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
      } catch (e) {
        throw new StoreError(`cannot create the directory ${dir} for database ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
  }
  try {
    return new Database(path, { readonly, fileMustExist: readonly });
  } catch (e) {
    throw new StoreError(`cannot open database ${path}: ${(e as Error).message}`);
  }
}

/**
 * SQL function meerkat_in_cidr(address_text, cidr_text): 1 when the address lies in the prefix.
 * Prefixes are parsed once per query text; an address that does not parse is outside.
 */
function registerCidrFunction(db: Db): void {
  const cache = new Map<string, Cidr>();
  db.function('meerkat_in_cidr', { deterministic: true }, (addr: unknown, cidr: unknown) => {
    if (typeof addr !== 'string' || typeof cidr !== 'string') return 0;
    let c = cache.get(cidr);
    if (c === undefined) {
      c = parseCidr(cidr);
      if (cache.size > 64) cache.clear();
      cache.set(cidr, c);
    }
    try {
      const a = parseIp(addr);
      return cidrContains(c, a.version, a.bytes) ? 1 : 0;
    } catch {
      return 0;
    }
  });
}

type PageRow = FlowRow & { id: number; start_us: number };

/** An IPv4 prefix of /8 or longer: the address indexes answer it (ipv4TextCondition). */
const IPV4_INDEXED_PREFIX = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\/([89]|[12]\d|3[01])$/;

/** How pageFlows walks newest first when no index narrows a filter (see pageRows). */
export interface PageWindow {
  /** rows of the first window (a common match fills a page in it) */
  rows: number;
  /** each further window is this many times the last, up to `max` rows */
  growth: number;
  max: number;
  /** fewer matches than this (counted through the indexes) are gathered and sorted at once */
  fewMatches: number;
}

export const DEFAULT_PAGE_WINDOW: PageWindow = { rows: 20_000, growth: 8, max: 160_000, fewMatches: 20_000 };

/**
 * An IPv4 prefix of /8 or longer as conditions over canonical address text the address indexes
 * answer: the whole octets as one range ("10.2." <= a < "10.2/": '/' follows '.'); a part octet
 * of up to 4 free bits as one range per value, or in the last octet the addresses themselves
 * (exact); more free bits as the whole octets' range, to be checked row by row (not exact).
 */
function ipv4TextCondition(c: Cidr): { sql: (col: string) => string; params: string[]; exact: boolean } | null {
  const octets = Math.floor(c.prefixLen / 8);
  if (octets === 0) return null;
  const head = [...c.bytes.subarray(0, octets)].join('.');
  const free = 8 - (c.prefixLen % 8);
  const ranges = (texts: string[], exact: boolean): ReturnType<typeof ipv4TextCondition> => ({
    sql: (col) => `(${texts.map(() => `(${col} >= ? AND ${col} < ?)`).join(' OR ')})`,
    params: texts.flatMap((t) => [`${t}.`, `${t}/`]),
    exact,
  });
  if (free === 8) return ranges([head], true);
  if (free > 4) return ranges([head], false);
  const texts = Array.from({ length: 1 << free }, (_, k) => `${head}.${c.bytes[octets]! + k}`);
  if (octets < 3) return ranges(texts, true);
  return { sql: (col) => `${col} IN (${texts.map(() => '?').join(', ')})`, params: texts, exact: true };
}

/** An error that belongs to one row's values (a constraint, a type SQLite cannot bind), not to the database. */
function isRowError(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string') return code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_MISMATCH' || code === 'SQLITE_TOOBIG';
  return e instanceof TypeError || e instanceof RangeError;
}

export class SqliteFlowStore implements FlowStore {
  readonly backend = 'sqlite';
  private readonly db: Db;
  private readonly retention: RetentionPolicy;
  private readonly statements = new Map<string, Stmt>();
  private readonly rowBuf: unknown[] = new Array(FLOW_COLUMNS.length + 1);
  private readonly nowUs: () => number;
  private readonly pageWindow: PageWindow;
  private insertFlow!: Stmt;
  private closed = false;
  private readonly synchronous: 'NORMAL' | 'FULL';

  constructor(readonly path: string, opts: SqliteFlowStoreOptions = {}) {
    this.retention = { ...DEFAULT_RETENTION, ...(opts.retention ?? {}) };
    this.nowUs = opts.nowUs ?? (() => Date.now() * 1000);
    this.pageWindow = opts.pageWindow ?? DEFAULT_PAGE_WINDOW;
    this.synchronous = opts.synchronous === 'normal' ? 'NORMAL' : 'FULL';
    const pw = this.pageWindow;
    if (![pw.rows, pw.max, pw.fewMatches].every((n) => Number.isSafeInteger(n) && n > 0) || !Number.isSafeInteger(pw.growth) || pw.growth < 2) {
      throw new StoreError(`pageWindow needs positive whole rows, max and fewMatches and a growth of 2 or more, got ${JSON.stringify(pw)}`);
    }
    for (const [k, v] of Object.entries(this.retention)) {
      if (typeof v !== 'number' || !(v > 0)) throw new StoreError(`retention ${k} must be a positive number of days, got ${String(v)}`);
    }
    this.db = openDatabase(path, opts.readonly ?? false);
    registerCidrFunction(this.db);
    try {
      this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
      if (!opts.readonly) {
        this.db.pragma('journal_mode = WAL');
        this.db.pragma(`synchronous = ${this.synchronous}`);
        // indexes an interrupted bulk import set aside, in the schema they were made for
        restoreDeferredIndexes(this.db);
        this.migrate();
      } else {
        const v = this.schemaVersion();
        if (v !== LATEST_SCHEMA_VERSION) {
          throw new StoreError(`database ${path} has schema version ${v}, this build reads version ${LATEST_SCHEMA_VERSION}` +
            (v < LATEST_SCHEMA_VERSION ? ' (open it once read-write to migrate)' : ''));
        }
      }
      // stored_us (last): when the record was stored, what retention goes by
      this.insertFlow = this.db.prepare(
        `INSERT INTO flows (${FLOW_COLUMNS.join(', ')}, stored_us) VALUES (${FLOW_COLUMNS.map(() => '?').join(', ')}, ?)`);
    } catch (e) {
      this.db.close();
      throw e instanceof StoreError ? e : new StoreError(`cannot use database ${path}: ${(e as Error).message}`);
    }
  }

  private stmt(sql: string): Stmt {
    let s = this.statements.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  schemaVersion(): number {
    const exists = this.db.prepare(
      `SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).get();
    if (exists === undefined) return 0;
    const row = this.db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
    return row.v ?? 0;
  }

  /**
   * For a bulk import into a new database: sets the flow and log tables' secondary indexes
   * aside while they are empty (sqlite-deferred-indexes.ts); restoreIndexes() builds them at
   * the end, or the next open does after a crash. Returns how many were set aside.
   */
  deferIndexes(): number {
    const n = deferIndexes(this.db);
    if (n > 0) {
      // A database new to this import holds nothing but what the import writes, and the import
      // is recorded as done (import ledger) only at its end: its commits need not wait for the
      // disk. WAL with synchronous NORMAL stays consistent after a crash (the last commits may
      // be lost, never half-written); restoreIndexes() goes back to this store's setting and
      // syncs everything. A larger page cache lets the final index build sort in memory.
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma(`cache_size = ${BULK_CACHE_KIB}`);
    }
    return n;
  }

  /** This connection's commit durability now: 'full' (each commit synced) or 'normal' (synced at checkpoints). */
  get syncMode(): 'full' | 'normal' | 'off' {
    const v = this.db.pragma('synchronous', { simple: true }) as number;
    return v >= 2 ? 'full' : v === 1 ? 'normal' : 'off';
  }

  /** Builds the indexes deferIndexes() set aside (nothing when none are), then makes all of it durable. */
  restoreIndexes(): number {
    const n = restoreDeferredIndexes(this.db);
    this.db.pragma(`synchronous = ${this.synchronous}`);
    this.db.pragma(`cache_size = ${DEFAULT_CACHE_KIB}`);
    if (n > 0) this.db.pragma('wal_checkpoint(FULL)');
    return n;
  }

  private migrate(): void {
    this.db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_us INTEGER NOT NULL)`);
    const current = this.schemaVersion();
    if (current > LATEST_SCHEMA_VERSION) {
      throw new StoreError(`database ${this.path} has schema version ${current}, newer than this build (${LATEST_SCHEMA_VERSION})`);
    }
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO schema_migrations (version, name, applied_us) VALUES (?, ?, ?)')
          .run(m.version, m.name, Date.now() * 1000);
      })();
    }
  }

  upsertAgent(agentId: string, seenUs: number, info?: Record<string, unknown>): void {
    this.stmt(`INSERT INTO agents (agent_id, first_seen_us, last_seen_us, info_json) VALUES (?, ?, ?, ?)
      ON CONFLICT (agent_id) DO UPDATE SET
        last_seen_us = MAX(last_seen_us, excluded.last_seen_us),
        first_seen_us = MIN(first_seen_us, excluded.first_seen_us),
        info_json = COALESCE(excluded.info_json, info_json)`)
      .run(agentId, seenUs, seenUs, info === undefined ? null : JSON.stringify(info));
  }

  listAgents(): AgentRow[] {
    const rows = this.stmt('SELECT agent_id, first_seen_us, last_seen_us, info_json FROM agents ORDER BY agent_id').all() as
      { agent_id: string; first_seen_us: number; last_seen_us: number; info_json: string | null }[];
    return rows.map((r) => ({
      agentId: r.agent_id,
      firstSeenUs: r.first_seen_us,
      lastSeenUs: r.last_seen_us,
      info: r.info_json === null ? null : (JSON.parse(r.info_json) as Record<string, unknown>),
    }));
  }

  recordDump(agentId: string, sequence: number, info: DumpInfo): boolean {
    if (!Number.isSafeInteger(sequence) || sequence < 0) {
      throw new StoreError(`dump sequence must be a non-negative integer, got ${String(sequence)}`);
    }
    const res = this.stmt(`INSERT INTO dumps (agent_id, sequence, received_us, first_ts_us, last_ts_us, packet_count,
        format_version, link_type, anon_key_id, snap_len, compression, raw_path, raw_bytes, extra_json)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (agent_id, sequence) DO NOTHING`)
      .run(agentId, sequence, info.receivedUs, info.firstTsUs, info.lastTsUs, info.packetCount,
        info.formatVersion ?? null, info.linkType ?? null, info.anonKeyId ?? null, info.snapLen ?? null,
        info.compression ?? null, info.rawPath ?? null, info.rawBytes ?? null,
        info.extra === undefined ? null : JSON.stringify(info.extra));
    return res.changes === 1;
  }

  markFlowsBuilt(agentId: string, sequence: number): void {
    this.stmt('UPDATE dumps SET flows_built = 1 WHERE agent_id = ? AND sequence = ?').run(agentId, sequence);
  }

  dumpsPendingFlows(limit: number): StoredDump[] {
    const rows = this.stmt('SELECT * FROM dumps WHERE flows_built = 0 ORDER BY agent_id, sequence LIMIT ?').all(limit) as DumpRow[];
    return rows.map((r) => this.dumpFromRow(r));
  }

  getDump(agentId: string, sequence: number): StoredDump | null {
    const r = this.stmt('SELECT * FROM dumps WHERE agent_id = ? AND sequence = ?').get(agentId, sequence) as DumpRow | undefined;
    if (r === undefined) return null;
    return this.dumpFromRow(r);
  }

  private dumpFromRow(r: DumpRow): StoredDump {
    return {
      agentId: r.agent_id,
      sequence: r.sequence,
      receivedUs: r.received_us,
      firstTsUs: r.first_ts_us,
      lastTsUs: r.last_ts_us,
      packetCount: r.packet_count,
      ...(r.format_version !== null ? { formatVersion: r.format_version } : {}),
      ...(r.link_type !== null ? { linkType: r.link_type } : {}),
      ...(r.anon_key_id !== null ? { anonKeyId: r.anon_key_id } : {}),
      ...(r.snap_len !== null ? { snapLen: r.snap_len } : {}),
      ...(r.compression !== null ? { compression: r.compression } : {}),
      rawPath: r.raw_path,
      ...(r.raw_bytes !== null ? { rawBytes: r.raw_bytes } : {}),
      ...(r.extra_json !== null ? { extra: JSON.parse(r.extra_json) as Record<string, unknown> } : {}),
      rawDeletedUs: r.raw_deleted_us,
    };
  }

  insertFlows(records: readonly FlowRecord[]): InsertFlowsResult {
    const out: InsertFlowsResult = { inserted: 0, refused: [] };
    if (records.length === 0) return out;
    const ins = this.insertFlow;
    const buf = this.rowBuf;
    buf[FLOW_COLUMNS.length] = this.nowUs();
    this.transaction(() => {
      for (const r of records) {
        const values = flowRowValues(r, buf);
        const problem = flowRowProblem(values);
        if (problem !== null) {
          out.refused.push({ uid: String(r.uid), agentId: String(r.agent_id), reason: problem });
          continue;
        }
        try {
          // spread: better-sqlite3 binds arguments faster than the elements of one array argument
          ins.run(...values);
          out.inserted++;
        } catch (e) {
          // a constraint on this row fails only this statement; the transaction goes on
          if (!isRowError(e)) throw e;
          out.refused.push({ uid: String(r.uid), agentId: String(r.agent_id), reason: (e as Error).message });
        }
      }
    });
    return out;
  }

  private where(f: FlowFilter): { sql: string; params: unknown[] } {
    const cond: string[] = [];
    const params: unknown[] = [];
    if (f.agentId !== undefined) { cond.push('agent_id = ?'); params.push(f.agentId); }
    if (f.addr !== undefined) {
      let c: Cidr;
      try {
        c = parseCidr(f.addr);
      } catch {
        throw new StoreError(`not an address or CIDR prefix: ${JSON.stringify(f.addr)}`);
      }
      const full = c.prefixLen === (c.version === 4 ? 32 : 128);
      const v = full ? formatCidr(c).replace(/\/\d+$/, '') : formatCidr(c);
      // a whole address compares as text (indexed); an IPv4 prefix of /8 or longer as text ranges
      // the address indexes answer (stored addresses are canonical text, as the whole-address
      // comparison already relies on); any other prefix goes through meerkat_in_cidr
      const text = c.version === 4 && !full ? ipv4TextCondition(c) : null;
      const anon = (col: string): string => (f.addrPseudonym ? ` AND ${col} = 1` : '');
      let side: (col: string, anonCol: string) => string;
      let sideParams: unknown[];
      if (full) {
        side = (col, anonCol) => `${col} = ?${anon(anonCol)}`;
        sideParams = [v];
      } else if (text !== null) {
        side = (col, anonCol) => `${text.sql(col)}${text.exact ? '' : ` AND meerkat_in_cidr(${col}, ?) = 1`}${anon(anonCol)}`;
        sideParams = [...text.params, ...(text.exact ? [] : [v])];
      } else {
        side = (col, anonCol) => `meerkat_in_cidr(${col}, ?) = 1${anon(anonCol)}`;
        sideParams = [v];
      }
      cond.push(`((${side('orig_addr', 'orig_anon')}) OR (${side('resp_addr', 'resp_anon')}))`);
      params.push(...sideParams, ...sideParams);
    }
    if (f.port !== undefined) { cond.push('(orig_port = ? OR resp_port = ?)'); params.push(f.port, f.port); }
    if (f.proto !== undefined) { cond.push('proto = ?'); params.push(f.proto); }
    if (f.since !== undefined) { cond.push('end_us >= ?'); params.push(f.since); }
    if (f.until !== undefined) { cond.push('start_us <= ?'); params.push(f.until); }
    if (f.state !== undefined) { cond.push('conn_state = ?'); params.push(f.state); }
    if (f.uid !== undefined) { cond.push('uid = ?'); params.push(f.uid); }
    if (f.communityId !== undefined) { cond.push('community_id = ?'); params.push(f.communityId); }
    if (f.name !== undefined) cond.push(nameCondition('server_name_rev', f.name, f.nameSuffix ?? false, params));
    return { sql: cond.length > 0 ? ' WHERE ' + cond.join(' AND ') : '', params };
  }

  private selectSql(f: FlowFilter): { sql: string; params: unknown[] } {
    const w = this.where(f);
    const dir = f.order === 'asc' ? 'ASC' : 'DESC';
    let sql = `SELECT * FROM flows${w.sql} ORDER BY start_us ${dir}, id ${dir}`;
    if (f.limit !== undefined) {
      if (!Number.isSafeInteger(f.limit) || f.limit < 0) throw new StoreError(`limit must be a non-negative integer, got ${String(f.limit)}`);
      sql += ` LIMIT ${f.limit}`;
    }
    return { sql, params: w.params };
  }

  queryFlows(filter: FlowFilter = {}): FlowRecord[] {
    const q = this.selectSql(filter);
    return (this.stmt(q.sql).all(...q.params) as FlowRow[]).map(flowRecordFromRow);
  }

  *iterateFlows(filter: FlowFilter = {}): IterableIterator<FlowRecord> {
    const q = this.selectSql(filter);
    // a fresh statement: an iterating statement cannot be reused until it finishes
    for (const row of this.db.prepare(q.sql).iterate(...q.params) as IterableIterator<FlowRow>) {
      yield flowRecordFromRow(row);
    }
  }

  /** Committed dumps (of one agent, or all). */
  countDumps(agentId?: string): number {
    const r = (agentId === undefined ? this.stmt('SELECT COUNT(*) AS n FROM dumps').get() : this.stmt('SELECT COUNT(*) AS n FROM dumps WHERE agent_id = ?').get(agentId)) as { n: number };
    return r.n;
  }

  pageFlows(filter: FlowFilter, limit: number, cursor: string | null): FlowPage {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new StoreError(`limit must be a positive integer, got ${String(limit)}`);
    const w = this.where(filter);
    const c = cursor === null ? null : decodeCursor(cursor);
    // "start_us <= ?" first: the start index answers it as a range
    const after = c === null ? { sql: '', params: [] as unknown[] } : { sql: 'start_us <= ? AND (start_us < ? OR id < ?)', params: [c.startUs, c.startUs, c.id] };
    const rows = this.pageRows(w, after, filter, limit + 1);
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page[page.length - 1];
    return { records: page.map(flowRecordFromRow), next: more && last ? encodeCursor(last.start_us, last.id) : null };
  }

  /**
   * The first `want` rows after the cursor, newest first. A filter an index answers but does not
   * narrow to few rows (a port, a prefix, a server name) would make SQLite gather every match and
   * sort it, or walk the start index through every older row when matches are rare. So: the
   * newest pageWindow.rows rows are walked first (a common match fills a page there); then the
   * matches are counted through the indexes up to pageWindow.fewMatches: fewer are gathered
   * through those indexes and sorted, more are looked for in windows growing by
   * pageWindow.growth up to pageWindow.max rows before the plain query answers. A window that
   * yields `want` matches, or that reaches the oldest row, is the answer exactly (a prefix of the
   * same order). An agent, a whole address, a uid or a Community ID narrows through its index;
   * a filter no index answers (a protocol, a state) is the start index walked, as SQLite does.
   */
  private pageRows(w: { sql: string; params: unknown[] }, after: { sql: string; params: unknown[] }, f: FlowFilter, want: number): PageRow[] {
    const filterSql = w.sql.replace(/^ WHERE /, '');
    const cond = [filterSql, after.sql].filter((s) => s !== '').join(' AND ');
    const params = [...w.params, ...after.params];
    const plain = (order: string): PageRow[] => this.stmt(`SELECT * FROM flows${cond ? ` WHERE ${cond}` : ''} ORDER BY ${order} LIMIT ${want}`).all(...params) as PageRow[];
    const selective = f.agentId !== undefined || f.uid !== undefined || f.communityId !== undefined ||
      (f.addr !== undefined && !f.addr.includes('/'));
    const indexed = f.port !== undefined || f.name !== undefined || (f.addr !== undefined && IPV4_INDEXED_PREFIX.test(f.addr.trim()));
    if (!selective && indexed) {
      const pw = this.pageWindow;
      const first = this.windowRows(filterSql, w.params, after, pw.rows, want);
      if (first !== null) return first;
      const matches = (this.stmt(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM flows WHERE ${cond} LIMIT ${pw.fewMatches})`).get(...params) as { n: number }).n;
      // "+": the sort must not come from the start index, so SQLite gathers through the filter's
      if (matches < pw.fewMatches) return plain('+start_us DESC, +id DESC');
      for (let rows = pw.rows * pw.growth; rows <= pw.max; rows *= pw.growth) {
        const found = this.windowRows(filterSql, w.params, after, rows, want);
        if (found !== null) return found;
      }
    }
    return plain('start_us DESC, id DESC');
  }

  /**
   * The matches among the `rows` newest rows after the cursor, at most `want`, walked in the start
   * index's order; null when the window holds fewer than `want` and older rows remain.
   */
  private windowRows(filterSql: string, filterParams: unknown[], after: { sql: string; params: unknown[] }, rows: number, want: number): PageRow[] | null {
    // the window's oldest row, read from the index alone
    const edge = this.stmt(`SELECT start_us, id FROM flows INDEXED BY flows_start${after.sql ? ` WHERE ${after.sql}` : ''} ORDER BY start_us DESC, id DESC LIMIT 1 OFFSET ${rows - 1}`)
      .get(...after.params) as { start_us: number; id: number } | undefined;
    const cond = [after.sql, filterSql];
    const params = [...after.params, ...filterParams];
    if (edge !== undefined) {
      cond.push('start_us >= ? AND (start_us > ? OR id >= ?)');
      params.push(edge.start_us, edge.start_us, edge.id);
    }
    const found = this.stmt(`SELECT * FROM flows INDEXED BY flows_start WHERE ${cond.filter((s) => s !== '').join(' AND ')} ORDER BY start_us DESC, id DESC LIMIT ${want}`)
      .all(...params) as PageRow[];
    return found.length >= want || edge === undefined ? found : null;
  }

  summarizeFlows(filter: FlowFilter, top: number): FlowSummary {
    if (!Number.isSafeInteger(top) || top < 1) throw new StoreError(`top must be a positive integer, got ${String(top)}`);
    const w = this.where(filter);
    const sel = `SELECT * FROM flows${w.sql}`;
    const totals = this.stmt(`SELECT COUNT(*) AS records, COALESCE(SUM(orig_pkts + resp_pkts), 0) AS packets,
      COALESCE(SUM(orig_ip_bytes + resp_ip_bytes), 0) AS bytes FROM (${sel})`).get(...w.params) as { records: number; packets: number; bytes: number };
    const talkers = this.stmt(`SELECT addr, anon, COUNT(*) AS records, SUM(pkts) AS packets, SUM(bytes) AS bytes FROM (
        SELECT orig_addr AS addr, orig_anon AS anon, orig_pkts + resp_pkts AS pkts, orig_ip_bytes + resp_ip_bytes AS bytes FROM (${sel})
        UNION ALL
        SELECT resp_addr, resp_anon, orig_pkts + resp_pkts, orig_ip_bytes + resp_ip_bytes FROM (${sel}))
      GROUP BY addr, anon ORDER BY bytes DESC, records DESC, addr, anon LIMIT ${top}`).all(...w.params, ...w.params) as Array<{ addr: string; anon: number; records: number; packets: number; bytes: number }>;
    const ports = this.stmt(`SELECT proto, resp_port AS port, COUNT(*) AS records, SUM(orig_pkts + resp_pkts) AS packets, SUM(orig_ip_bytes + resp_ip_bytes) AS bytes
      FROM (${sel}) GROUP BY proto, resp_port ORDER BY bytes DESC, records DESC, proto, resp_port LIMIT ${top}`).all(...w.params) as FlowSummary['ports'];
    const protocols = this.stmt(`SELECT proto, COUNT(*) AS records, SUM(orig_pkts + resp_pkts) AS packets, SUM(orig_ip_bytes + resp_ip_bytes) AS bytes
      FROM (${sel}) GROUP BY proto ORDER BY bytes DESC, records DESC, proto LIMIT ${top}`).all(...w.params) as FlowSummary['protocols'];
    return {
      ...totals,
      talkers: talkers.map((t) => ({ addr: t.addr, pseudonym: t.anon === 1, records: t.records, packets: t.packets, bytes: t.bytes })),
      ports,
      protocols,
    };
  }

  countFlows(filter: FlowFilter = {}): number {
    const w = this.where(filter);
    return (this.stmt(`SELECT COUNT(*) AS n FROM flows${w.sql}`).get(...w.params) as { n: number }).n;
  }

  /** Bytes of the raw dump files the store still lists as kept (what an organisation's storage quota counts besides the database). */
  rawBytesKept(): number {
    return (this.stmt('SELECT COALESCE(SUM(raw_bytes), 0) AS n FROM dumps WHERE raw_path IS NOT NULL AND raw_deleted_us IS NULL').get() as { n: number }).n;
  }

  insertAppRecords(dns: readonly DnsRecord[], tls: readonly TlsRecord[]): void {
    if (dns.length === 0 && tls.length === 0) return;
    const now = this.nowUs();
    this.transaction(() => {
      if (dns.length > 0) {
        const ins = this.stmt(insertSql('dns_log', DNS_LOG_COLUMNS));
        for (const r of dns) ins.run(dnsRowValues(r, now));
      }
      if (tls.length > 0) {
        const ins = this.stmt(insertSql('tls_log', TLS_LOG_COLUMNS));
        for (const r of tls) ins.run(tlsRowValues(r, now));
      }
    });
  }

  private *iterateLog<T>(table: string, nameColumn: string, f: AppLogFilter, fromRow: (r: Record<string, unknown>) => T): IterableIterator<T> {
    const w = appLogWhere(f, nameColumn);
    const dir = f.order === 'asc' ? 'ASC' : 'DESC';
    let sql = `SELECT * FROM ${table}${w.sql} ORDER BY ts_us ${dir}, id ${dir}`;
    if (f.limit !== undefined) {
      if (!Number.isSafeInteger(f.limit) || f.limit < 0) throw new StoreError(`limit must be a non-negative integer, got ${String(f.limit)}`);
      sql += ` LIMIT ${f.limit}`;
    }
    for (const row of this.db.prepare(sql).iterate(...w.params) as IterableIterator<Record<string, unknown>>) yield fromRow(row);
  }

  iterateDns(filter: AppLogFilter = {}): IterableIterator<DnsRecord> {
    return this.iterateLog('dns_log', 'query_rev', filter, dnsFromRow);
  }

  iterateTls(filter: AppLogFilter = {}): IterableIterator<TlsRecord> {
    return this.iterateLog('tls_log', 'server_name_rev', filter, tlsFromRow);
  }

  applyRetention(nowUs: number): RetentionResult {
    const flowCutoff = nowUs - this.retention.flowsDays * DAY_US;
    // a dump row is never deleted while its raw file is still listed as kept
    const rawCutoff = Math.max(nowUs - this.retention.rawDumpsDays * DAY_US, flowCutoff);
    return this.transaction(() => {
      // by the time the record was stored: an imported old capture is kept as long as fresh traffic
      const flowsDeleted = this.stmt('DELETE FROM flows WHERE stored_us < ?').run(flowCutoff).changes;
      // the DNS and TLS logs live as long as the flows they belong to
      this.stmt('DELETE FROM dns_log WHERE stored_us < ?').run(flowCutoff);
      this.stmt('DELETE FROM tls_log WHERE stored_us < ?').run(flowCutoff);
      const raw = this.stmt(`SELECT id, raw_path FROM dumps
        WHERE received_us < ? AND raw_path IS NOT NULL AND raw_deleted_us IS NULL`).all(rawCutoff) as
        { id: number; raw_path: string }[];
      const mark = this.stmt('UPDATE dumps SET raw_deleted_us = ? WHERE id = ?');
      for (const r of raw) mark.run(nowUs, r.id);
      // dump rows (the duplicate filter) live as long as the flows they produced
      const dumpRowsDeleted = this.stmt('DELETE FROM dumps WHERE received_us < ?').run(flowCutoff).changes;
      return { flowsDeleted, dumpRowsDeleted, rawPathsToDelete: raw.map((r) => r.raw_path) };
    });
  }

  transaction<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    return this.db.transaction(fn)();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
