// The DNS and TLS logs in SQLite (tables dns_log and tls_log, migration 4): row values of the
// records, records from rows, and the WHERE clause of a log filter. A name search uses the
// reversed-label key (flow-columns.ts nameSearchKey), so "example.com and the names under it"
// is an index range, never a scan.
import type { DnsAnswer, DnsRecord, TlsRecord } from '../flow/app-records.js';
import { dnsClassName, dnsRcodeName, dnsTypeName } from '../appmeta/protocol-names.js';
import { nameSearchKey } from './flow-columns.js';
import type { AppLogFilter } from './flow-store.js';

const ENDPOINT_COLUMNS = ['uid', 'agent_id', 'ts_us', 'orig_addr', 'orig_port', 'resp_addr', 'resp_port', 'orig_anon', 'resp_anon'] as const;

export const DNS_LOG_COLUMNS = [
  ...ENDPOINT_COLUMNS, 'proto', 'trans_id', 'rtt_us', 'query', 'query_rev', 'query_anon', 'qclass', 'qtype', 'rcode', 'flags', 'answers_json', 'stored_us',
] as const;

export const TLS_LOG_COLUMNS = [
  ...ENDPOINT_COLUMNS, 'transport', 'version', 'client_version', 'cipher', 'server_name', 'server_name_rev', 'server_name_anon', 'alpn',
  'next_protocol', 'ja4', 'ja4s', 'quic_version', 'stored_us',
] as const;

export function insertSql(table: string, columns: readonly string[]): string {
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
}

const enum DnsFlag { AA = 1, TC = 2, RD = 4, RA = 8 }

type Row = Record<string, unknown>;

function num(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : (v as number);
}

function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : num(v);
}

export function dnsRowValues(r: DnsRecord, storedUs: number): unknown[] {
  return [
    r.uid, r.agent_id, r.ts, r.orig_addr, r.orig_port, r.resp_addr, r.resp_port, r.orig_anon ? 1 : 0, r.resp_anon ? 1 : 0,
    r.proto, r.trans_id, r.rtt_us, r.query, r.query === null ? null : nameSearchKey(r.query), r.query_anon ? 1 : 0, r.qclass, r.qtype, r.rcode,
    (r.AA ? DnsFlag.AA : 0) | (r.TC ? DnsFlag.TC : 0) | (r.RD ? DnsFlag.RD : 0) | (r.RA ? DnsFlag.RA : 0),
    JSON.stringify(r.answers), storedUs,
  ];
}

export function tlsRowValues(r: TlsRecord, storedUs: number): unknown[] {
  return [
    r.uid, r.agent_id, r.ts, r.orig_addr, r.orig_port, r.resp_addr, r.resp_port, r.orig_anon ? 1 : 0, r.resp_anon ? 1 : 0,
    r.transport, r.version, r.client_version, r.cipher, r.server_name, r.server_name === null ? null : nameSearchKey(r.server_name),
    r.server_name_anon ? 1 : 0, r.alpn.join(','), r.next_protocol, r.ja4, r.ja4s, r.quic_version, storedUs,
  ];
}

function endpoints(row: Row): Pick<DnsRecord, 'ts' | 'uid' | 'agent_id' | 'orig_addr' | 'orig_port' | 'resp_addr' | 'resp_port' | 'orig_anon' | 'resp_anon'> {
  return {
    ts: num(row.ts_us), uid: row.uid as string, agent_id: row.agent_id as string,
    orig_addr: row.orig_addr as string, orig_port: num(row.orig_port), resp_addr: row.resp_addr as string, resp_port: num(row.resp_port),
    orig_anon: num(row.orig_anon) !== 0, resp_anon: num(row.resp_anon) !== 0,
  };
}

export function dnsFromRow(row: Row): DnsRecord {
  const flags = num(row.flags);
  const qclass = num(row.qclass);
  const qtype = num(row.qtype);
  const rcode = numOrNull(row.rcode);
  return {
    ...endpoints(row),
    proto: row.proto as 'udp' | 'tcp',
    trans_id: num(row.trans_id),
    rtt_us: numOrNull(row.rtt_us),
    query: (row.query ?? null) as string | null,
    query_anon: num(row.query_anon) !== 0,
    qclass, qclass_name: dnsClassName(qclass),
    qtype, qtype_name: dnsTypeName(qtype),
    rcode, rcode_name: rcode === null ? null : dnsRcodeName(rcode),
    AA: (flags & DnsFlag.AA) !== 0, TC: (flags & DnsFlag.TC) !== 0, RD: (flags & DnsFlag.RD) !== 0, RA: (flags & DnsFlag.RA) !== 0,
    answers: JSON.parse(row.answers_json as string) as DnsAnswer[],
  };
}

export function tlsFromRow(row: Row): TlsRecord {
  const alpn = row.alpn as string;
  return {
    ...endpoints(row),
    transport: row.transport as 'tcp' | 'quic',
    version: (row.version ?? null) as string | null,
    client_version: (row.client_version ?? null) as string | null,
    cipher: (row.cipher ?? null) as string | null,
    server_name: (row.server_name ?? null) as string | null,
    server_name_anon: num(row.server_name_anon) !== 0,
    alpn: alpn === '' ? [] : alpn.split(','),
    next_protocol: (row.next_protocol ?? null) as string | null,
    ja4: (row.ja4 ?? null) as string | null,
    ja4s: (row.ja4s ?? null) as string | null,
    quic_version: numOrNull(row.quic_version),
  };
}

/**
 * "column = key" for an exact name, or also the names under it: keys between "key." and
 * "key/" ('/' follows '.' in byte order), an index range on the reversed-label column.
 */
export function nameCondition(column: string, name: string, suffix: boolean, params: unknown[]): string {
  const key = nameSearchKey(name.startsWith('*.') ? name.slice(2) : name);
  params.push(key);
  if (!suffix) return `${column} = ?`;
  params.push(`${key}.`, `${key}/`);
  return `(${column} = ? OR (${column} > ? AND ${column} < ?))`;
}

/** WHERE clause of a log filter (nameColumn: query_rev or server_name_rev). */
export function appLogWhere(f: AppLogFilter, nameColumn: string): { sql: string; params: unknown[] } {
  const cond: string[] = [];
  const params: unknown[] = [];
  if (f.agentId !== undefined) { cond.push('agent_id = ?'); params.push(f.agentId); }
  if (f.addr !== undefined) { cond.push('(orig_addr = ? OR resp_addr = ?)'); params.push(f.addr, f.addr); }
  if (f.name !== undefined) cond.push(nameCondition(nameColumn, f.name, f.nameSuffix ?? false, params));
  if (f.uid !== undefined) { cond.push('uid = ?'); params.push(f.uid); }
  if (f.since !== undefined) { cond.push('ts_us >= ?'); params.push(f.since); }
  if (f.until !== undefined) { cond.push('ts_us <= ?'); params.push(f.until); }
  if (f.rcode !== undefined) { cond.push('rcode = ?'); params.push(f.rcode); }
  if (f.ja4 !== undefined) { cond.push('ja4 = ?'); params.push(f.ja4); }
  return { sql: cond.length > 0 ? ' WHERE ' + cond.join(' AND ') : '', params };
}
