// Read queries of one organisation's database for the web console's own routes: the flows of a
// filter as a stream for export (newest first; address prefixes answered by the address indexes),
// and the OrgViews of the single process (sqliteOrgViews): one alert and the overview's aggregates
// (traffic per minute, top talkers, ports, protocols, alerts by severity). A read-only connection per request: the writers (flow service, analyzers) keep
// theirs, WAL lets both run at once.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { cidrContains, ipv4ToUint32, parseCidr, parseIp, uint32ToIpv4, type Cidr } from '../../shared/net/ip-address.js';
import { flowRecordFromRow, type FlowRow } from '../../shared/store/flow-columns.js';
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import { rowToAlert, type AlertRow } from '../../shared/alerts/sqlite-alert-store.js';
import type { StoredAlert } from '../../shared/alerts/alert-types.js';
import { InputError } from '../../shared/errors.js';
import type { OrgViews } from './admin-api.js';
import { minuteSeries, overviewWindow, type MinuteRow, type Overview, type Top } from './overview-shape.js';

export interface FlowQuery {
  agentId?: string;
  /** an address, or a CIDR prefix (either side of the flow) */
  addr?: string;
  port?: number;
  proto?: string;
  state?: string;
  communityId?: string;
  uid?: string;
  /** µs: records overlapping [since, until] */
  since?: number;
  until?: number;
  /** keyset cursor: rows strictly older than this (start_us, id), newest first */
  before?: { startUs: number; id: number };
}

export type FlowRow2 = FlowRecord & { id: number };

/** An export's `cursor` that is not a START_US.ID position. */
export class CursorError extends InputError {
  readonly code = 'MEERKAT_ERR_CONSOLE_CURSOR';
  constructor(message: string) {
    super(message);
    this.name = 'CursorError';
  }
}

/** "startUs.id": export the rows older than this one (a CSV row's start and id). */
export function parseCursor(s: string): { startUs: number; id: number } {
  const m = /^(\d{1,17})\.(\d{1,15})$/.exec(s);
  if (!m) throw new CursorError(`cursor ${JSON.stringify(s.slice(0, 40))}: expected START_US.ID as the previous page returned`);
  return { startUs: Number(m[1]), id: Number(m[2]) };
}

interface Where {
  sql: string;
  params: unknown[];
  post: ((r: FlowRecord) => boolean) | null;
}

/**
 * IPv4 prefixes become ranges over the address text ("10.1." <= a < "10.1/": '/' follows '.')
 * that the address indexes answer; a prefix not on an octet boundary becomes the prefixes of
 * the next boundary (at most 128). IPv6 prefixes are checked on the rows (text forms compress).
 */
function addrCondition(text: string): { sql: string; params: unknown[]; post: ((r: FlowRecord) => boolean) | null } {
  if (!text.includes('/')) {
    parseIp(text); // refuses what is no address
    const canon = text.trim().toLowerCase();
    return { sql: '(orig_addr = ? OR resp_addr = ?)', params: [canon, canon], post: null };
  }
  const c: Cidr = parseCidr(text);
  if (c.prefixLen === 0) return { sql: 'ip_version = ?', params: [c.version], post: null };
  if (c.version === 6) {
    const inside = (s: string): boolean => {
      try { const a = parseIp(s); return cidrContains(c, a.version, a.bytes); } catch { return false; }
    };
    return { sql: 'ip_version = 6', params: [], post: (r) => inside(r.orig_addr) || inside(r.resp_addr) };
  }
  if (c.prefixLen === 32) {
    const a = `${c.bytes[0]}.${c.bytes[1]}.${c.bytes[2]}.${c.bytes[3]}`;
    return { sql: '(orig_addr = ? OR resp_addr = ?)', params: [a, a], post: null };
  }
  const net = ipv4ToUint32(c.bytes);
  const full = Math.floor(c.prefixLen / 8);
  // /25../31: the addresses themselves (at most 128)
  if (c.prefixLen > 24) {
    const texts: string[] = [];
    const b = new Uint8Array(4);
    for (let k = 0; k < 2 ** (32 - c.prefixLen); k++) {
      uint32ToIpv4(net + k, b, 0);
      texts.push(b.join('.'));
    }
    const marks = texts.map(() => '?').join(', ');
    return { sql: `(orig_addr IN (${marks}) OR resp_addr IN (${marks}))`, params: [...texts, ...texts], post: null };
  }
  const exact = c.prefixLen % 8 === 0;
  if (full === 0) {
    // /1../7: no text range; the prefix check on the IPv4 rows
    return { sql: `(ip_version = 4 AND (${V4_IN}(orig_addr, ?, ?) OR ${V4_IN}(resp_addr, ?, ?)))`, params: [net, c.prefixLen, net, c.prefixLen], post: null };
  }
  // the enclosing octet-aligned prefix as a text range the index answers, then (not aligned) the exact check on its rows
  const lo = `${[...c.bytes.subarray(0, full)].join('.')}.`;
  const hi = `${lo.slice(0, -1)}/`;
  const side = (col: string): string => `(${col} >= ? AND ${col} < ?${exact ? '' : ` AND ${V4_IN}(${col}, ?, ?)`})`;
  const sideParams = exact ? [lo, hi] : [lo, hi, net, c.prefixLen];
  return { sql: `(${side('orig_addr')} OR ${side('resp_addr')})`, params: [...sideParams, ...sideParams], post: null };
}

/** SQL function: whether IPv4 text lies in the prefix (network as uint32, length). */
const V4_IN = 'meerkat_v4_in';

function v4In(addr: unknown, net: unknown, len: unknown): number {
  if (typeof addr !== 'string' || typeof net !== 'number' || typeof len !== 'number') return 0;
  const p = addr.split('.');
  if (p.length !== 4) return 0;
  const a = ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return ((a & mask) >>> 0) === ((net & mask) >>> 0) ? 1 : 0;
}

function flowWhere(q: FlowQuery): Where {
  const cond: string[] = [];
  const params: unknown[] = [];
  let post: Where['post'] = null;
  if (q.agentId !== undefined) { cond.push('agent_id = ?'); params.push(q.agentId); }
  if (q.addr !== undefined) {
    const a = addrCondition(q.addr);
    cond.push(a.sql);
    params.push(...a.params);
    post = a.post;
  }
  if (q.port !== undefined) { cond.push('(orig_port = ? OR resp_port = ?)'); params.push(q.port, q.port); }
  if (q.proto !== undefined) { cond.push('proto = ?'); params.push(q.proto); }
  if (q.state !== undefined) { cond.push('conn_state = ?'); params.push(q.state); }
  if (q.communityId !== undefined) { cond.push('community_id = ?'); params.push(q.communityId); }
  if (q.uid !== undefined) { cond.push('uid = ?'); params.push(q.uid); }
  if (q.since !== undefined) { cond.push('end_us >= ?'); params.push(q.since); }
  if (q.until !== undefined) { cond.push('start_us <= ?'); params.push(q.until); }
  // "start_us <= ?" first: the start index answers it as a range
  if (q.before !== undefined) { cond.push('start_us <= ? AND (start_us < ? OR id < ?)'); params.push(q.before.startUs, q.before.startUs, q.before.id); }
  return { sql: cond.length ? ` WHERE ${cond.join(' AND ')}` : '', params, post };
}



export class OrgDataReader {
  private readonly db: Database.Database | null;

  constructor(dbPath: string) {
    // a fresh organisation may have no database yet: it has no data either
    this.db = existsSync(dbPath) ? new Database(dbPath, { readonly: true, fileMustExist: true }) : null;
    this.db?.pragma('busy_timeout = 5000');
    this.db?.function(V4_IN, { deterministic: true }, v4In);
  }

  close(): void {
    this.db?.close();
  }

  private hasTable(name: string): boolean {
    return this.db !== null && this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
  }

  /** Every matching record, newest first, for export (at most `max`). */
  *iterateFlows(q: FlowQuery, max: number): IterableIterator<FlowRow2> {
    if (!this.hasTable('flows')) return;
    const w = flowWhere(q);
    let n = 0;
    for (const row of this.db!.prepare(`SELECT * FROM flows${w.sql} ORDER BY start_us DESC, id DESC`).iterate(...w.params) as IterableIterator<FlowRow & { id: number }>) {
      const r = { ...flowRecordFromRow(row), id: row.id };
      if (w.post && !w.post(r)) continue;
      yield r;
      if (++n >= max) return;
    }
  }

  /** Alerts, newest first (by id), after the cursor `beforeId`. */
  alerts(f: { state?: string; severity?: string; agentId?: string; category?: string; beforeId?: number }, limit: number): { alerts: StoredAlert[]; next: string | null } {
    if (!this.hasTable('alerts')) return { alerts: [], next: null };
    const cond: string[] = [];
    const params: unknown[] = [];
    if (f.state !== undefined) { cond.push('state = ?'); params.push(f.state); }
    if (f.severity !== undefined) { cond.push('severity = ?'); params.push(f.severity); }
    if (f.agentId !== undefined) { cond.push('agent_id = ?'); params.push(f.agentId); }
    if (f.category !== undefined) { cond.push('category = ?'); params.push(f.category); }
    if (f.beforeId !== undefined) { cond.push('id < ?'); params.push(f.beforeId); }
    const rows = this.db!.prepare(`SELECT * FROM alerts${cond.length ? ` WHERE ${cond.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${limit + 1}`).all(...params) as AlertRow[];
    const page = rows.slice(0, limit).map(rowToAlert);
    return { alerts: page, next: rows.length > limit ? String(page[page.length - 1]!.id) : null };
  }

  /** One alert, or null. */
  alert(id: number): StoredAlert | null {
    if (!this.hasTable('alerts')) return null;
    const row = this.db!.prepare('SELECT * FROM alerts WHERE id = ?').get(id) as AlertRow | undefined;
    return row === undefined ? null : rowToAlert(row);
  }

  /** The overview's aggregates over the `minutes` before `endUs` (default: now, or the newest record when nothing is that recent). */
  overview(minutes: number, nowUs: number): Overview {
    const empty: Overview = { window: { fromUs: nowUs - minutes * 60e6, toUs: nowUs }, series: [], topTalkers: [], topPorts: [], protocols: [], alertsBySeverity: {}, flowsInWindow: 0 };
    if (!this.hasTable('flows')) return { ...empty, alertsBySeverity: this.alertsBySeverity() };
    const db = this.db!;
    const newest = (db.prepare('SELECT MAX(start_us) AS t FROM flows').get() as { t: number | null }).t;
    const { fromUs, toUs } = overviewWindow(minutes, nowUs, newest);
    const rows = db.prepare(`SELECT start_us / 60000000 AS m, SUM(orig_pkts + resp_pkts) AS pkts, SUM(orig_ip_bytes + resp_ip_bytes) AS bytes, COUNT(*) AS flows
      FROM flows WHERE start_us >= ? AND start_us <= ? GROUP BY m ORDER BY m`).all(fromUs, toUs) as MinuteRow[];
    const series = minuteSeries({ fromUs, toUs }, rows);
    const top = (sql: string): Top[] =>
      (db.prepare(sql).all(fromUs, toUs) as { k: string | number; bytes: number; flows: number; anon?: number }[])
        .map((r) => ({ key: String(r.k), bytes: r.bytes, flows: r.flows, ...(r.anon !== undefined ? { anon: r.anon === 1 } : {}) }));
    return {
      window: { fromUs, toUs },
      series,
      topTalkers: top(`SELECT orig_addr AS k, SUM(orig_ip_bytes + resp_ip_bytes) AS bytes, COUNT(*) AS flows, MAX(orig_anon) AS anon FROM flows WHERE start_us >= ? AND start_us <= ? GROUP BY orig_addr ORDER BY bytes DESC, k LIMIT 10`),
      topPorts: top(`SELECT proto || '/' || resp_port AS k, SUM(orig_ip_bytes + resp_ip_bytes) AS bytes, COUNT(*) AS flows FROM flows WHERE start_us >= ? AND start_us <= ? AND proto IN ('tcp', 'udp', 'sctp') GROUP BY proto, resp_port ORDER BY flows DESC, bytes DESC, proto, resp_port LIMIT 10`),
      protocols: top(`SELECT proto AS k, SUM(orig_ip_bytes + resp_ip_bytes) AS bytes, COUNT(*) AS flows FROM flows WHERE start_us >= ? AND start_us <= ? GROUP BY proto ORDER BY bytes DESC, k`),
      alertsBySeverity: this.alertsBySeverity(),
      flowsInWindow: series.reduce((n, s) => n + s.flows, 0),
    };
  }

  /** Changes whenever an alert is stored or changed (newest id and latest update). */
  alertsSignature(): string {
    if (!this.hasTable('alerts')) return 'none';
    const r = this.db!.prepare('SELECT MAX(id) AS id, MAX(updated_us) AS u, COUNT(*) AS n FROM alerts').get() as { id: number | null; u: number | null; n: number };
    return `${r.id ?? 0}:${r.u ?? 0}:${r.n}`;
  }

  private alertsBySeverity(): Record<string, number> {
    if (!this.hasTable('alerts')) return {};
    const rows = this.db!.prepare("SELECT severity, COUNT(*) AS n FROM alerts WHERE state != 'closed' GROUP BY severity").all() as { severity: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.severity, r.n]));
  }
}

/** The console's views read from the organisation's SQLite file, a read-only connection per call. */
export function sqliteOrgViews(dbPath: string): OrgViews {
  const once = <T>(fn: (r: OrgDataReader) => T): T => {
    const r = new OrgDataReader(dbPath);
    try {
      return fn(r);
    } finally {
      r.close();
    }
  };
  return {
    overview: (minutes, nowUs) => once((r) => r.overview(minutes, nowUs)),
    alert: (id) => once((r) => r.alert(id)),
  };
}
