// Flow records as the console writes them: a table (pseudonyms in the "*" notation, the real
// address beside each with the owner's key), JSON lines (the record of docs/flows.md), CSV
// (the same fields), and Zeek's conn.log (TSV with its header, for Zeek tooling). Pure: each
// returns text.
import type { FlowRecord } from '../shared/flow/flow-record.js';
import { endpointText } from '../shared/commands/peer-ref.js';

export const FLOW_FORMATS = ['table', 'json', 'csv', 'zeek'] as const;
export type FlowFormat = (typeof FLOW_FORMATS)[number];

/** Real addresses behind pseudonyms (the owner's key turns them back on this machine only). */
export type Deanon = ((pseudonym: string) => string) | null;

function isoUs(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString();
}

const HEADER = ['start', 'duration', 'proto', 'originator', 'responder', 'pkts o/r', 'ip bytes o/r', 'state', 'history', 'cause', 'agent', 'server name'];

function endpointCell(addr: string, port: number, anon: boolean, deanon: Deanon): string {
  const text = endpointText(addr, port, anon);
  return anon && deanon ? `${text} (= ${deanon(addr)})` : text;
}

export function tableRow(r: FlowRecord, deanon: Deanon): string[] {
  return [
    isoUs(r.start), `${r.duration.toFixed(3)}s`, r.proto,
    endpointCell(r.orig_addr, r.orig_port, r.orig_anon, deanon),
    endpointCell(r.resp_addr, r.resp_port, r.resp_anon, deanon),
    `${r.orig_pkts}/${r.resp_pkts}`, `${r.orig_ip_bytes}/${r.resp_ip_bytes}`, r.conn_state, r.history || '-', r.record_cause, r.agent_id,
    r.server_name === null ? '-' : `${r.server_name}${r.server_name_anon ? '*' : ''}`,
  ];
}

/** Rows under the header, columns padded to their widest cell. */
export function tableText(rows: readonly string[][], header: readonly string[] = HEADER): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** The record with, given the key, orig_real / resp_real beside its pseudonyms. */
export function withRealAddresses(r: FlowRecord, deanon: Deanon): FlowRecord & { orig_real?: string; resp_real?: string } {
  if (!deanon) return r;
  return { ...r, ...(r.orig_anon ? { orig_real: deanon(r.orig_addr) } : {}), ...(r.resp_anon ? { resp_real: deanon(r.resp_addr) } : {}) };
}

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvHeader(deanon: Deanon, fields: readonly string[]): string {
  return [...fields, ...(deanon ? ['orig_real', 'resp_real'] : [])].join(',') + '\n';
}

export function csvRow(r: FlowRecord, deanon: Deanon, fields: readonly string[]): string {
  const rec = r as unknown as Record<string, unknown>;
  const cells = fields.map((f) => csvField(rec[f]));
  if (deanon) cells.push(csvField(r.orig_anon ? deanon(r.orig_addr) : ''), csvField(r.resp_anon ? deanon(r.resp_addr) : ''));
  return cells.join(',') + '\n';
}

/** The fields of a flow record, in the order docs/flows.md lists them. */
export function recordFields(r: FlowRecord): string[] {
  return Object.keys(r);
}

const ZEEK_FIELDS = ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'service', 'duration', 'orig_bytes', 'resp_bytes',
  'conn_state', 'local_orig', 'local_resp', 'missed_bytes', 'history', 'orig_pkts', 'orig_ip_bytes', 'resp_pkts', 'resp_ip_bytes', 'tunnel_parents'];
const ZEEK_TYPES = ['time', 'string', 'addr', 'port', 'addr', 'port', 'enum', 'string', 'interval', 'count', 'count',
  'string', 'bool', 'bool', 'count', 'string', 'count', 'count', 'count', 'count', 'set[string]'];

/** conn.log's header lines (#separator ... #types), as Zeek writes them. */
export function zeekHeader(openedUs: number): string {
  const d = new Date(Math.floor(openedUs / 1000));
  const p = (n: number): string => String(n).padStart(2, '0');
  const open = `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}-${p(d.getUTCHours())}-${p(d.getUTCMinutes())}-${p(d.getUTCSeconds())}`;
  return ['#separator \\x09', '#set_separator\t,', '#empty_field\t(empty)', '#unset_field\t-', '#path\tconn', `#open\t${open}`,
    `#fields\t${ZEEK_FIELDS.join('\t')}`, `#types\t${ZEEK_TYPES.join('\t')}`].join('\n') + '\n';
}

/**
 * One conn.log line per record. Meerkat reports a long flow in several records sharing its
 * uid (docs/flows.md); each is a line here. Pseudonyms are addresses like any other (with the
 * owner's key, the real ones); local_orig / local_resp are left unset.
 */
export function zeekRow(r: FlowRecord, deanon: Deanon): string {
  const addr = (a: string, anon: boolean): string => (anon && deanon ? deanon(a) : a);
  const ts = (r.start / 1e6).toFixed(6);
  return [ts, r.uid, addr(r.orig_addr, r.orig_anon), r.orig_port, addr(r.resp_addr, r.resp_anon), r.resp_port, r.proto, '-',
    r.duration.toFixed(6), r.orig_payload_bytes, r.resp_payload_bytes, r.conn_state, '-', '-', 0, r.history || '-',
    r.orig_pkts, r.orig_ip_bytes, r.resp_pkts, r.resp_ip_bytes, '-'].join('\t') + '\n';
}

export function zeekFooter(closedUs: number): string {
  return zeekHeader(closedUs).split('\n').find((l) => l.startsWith('#open'))!.replace('#open', '#close') + '\n';
}
