// Mapping between FlowRecord fields and flow table columns (same names except
// start/end, which are reserved-ish words in SQL and carry a _us suffix there).
import type { AppProto, ConnState, FlowRecord, RecordCause } from '../flow/flow-record.js';

/**
 * Column names in insert order; the record field of each is the same name unless mapped below.
 * server_name_rev is not a field: the name lower-cased with its labels reversed
 * ("com.example.www"), so a suffix search is an index range (nameSearchKey).
 */
export const FLOW_COLUMNS = [
  'uid', 'record_seq', 'community_id', 'agent_id', 'proto', 'ip_proto', 'ip_version',
  'orig_addr', 'orig_port', 'resp_addr', 'resp_port', 'vlan', 'flow_start', 'start_us', 'end_us', 'duration',
  'orig_pkts', 'resp_pkts', 'orig_ip_bytes', 'resp_ip_bytes', 'orig_payload_bytes', 'resp_payload_bytes',
  'conn_state', 'history', 'record_cause', 'rtt_syn_synack_us', 'rtt_synack_ack_us',
  'retransmits_orig', 'retransmits_resp', 'zero_windows_orig', 'zero_windows_resp',
  'iat_mean_orig_us', 'iat_stddev_orig_us', 'iat_mean_resp_us', 'iat_stddev_resp_us', 'pcr', 'tunnel',
  'orig_anon', 'resp_anon',
  'app_proto', 'server_name', 'server_name_rev', 'server_name_anon', 'alpn', 'ja4', 'ja4s',
] as const;

export type FlowColumn = (typeof FLOW_COLUMNS)[number];

/** Values of one record in FLOW_COLUMNS order (booleans as 0/1 for SQLite). */
export function flowRowValues(r: FlowRecord, out: unknown[]): unknown[] {
  out[0] = r.uid;
  out[1] = r.record_seq;
  out[2] = r.community_id;
  out[3] = r.agent_id;
  out[4] = r.proto;
  out[5] = r.ip_proto;
  out[6] = r.ip_version;
  out[7] = r.orig_addr;
  out[8] = r.orig_port;
  out[9] = r.resp_addr;
  out[10] = r.resp_port;
  out[11] = r.vlan;
  out[12] = r.flow_start;
  out[13] = r.start;
  out[14] = r.end;
  out[15] = r.duration;
  out[16] = r.orig_pkts;
  out[17] = r.resp_pkts;
  out[18] = r.orig_ip_bytes;
  out[19] = r.resp_ip_bytes;
  out[20] = r.orig_payload_bytes;
  out[21] = r.resp_payload_bytes;
  out[22] = r.conn_state;
  out[23] = r.history;
  out[24] = r.record_cause;
  out[25] = r.rtt_syn_synack_us;
  out[26] = r.rtt_synack_ack_us;
  out[27] = r.retransmits_orig;
  out[28] = r.retransmits_resp;
  out[29] = r.zero_windows_orig;
  out[30] = r.zero_windows_resp;
  out[31] = r.iat_mean_orig_us;
  out[32] = r.iat_stddev_orig_us;
  out[33] = r.iat_mean_resp_us;
  out[34] = r.iat_stddev_resp_us;
  out[35] = r.pcr;
  out[36] = r.tunnel;
  out[37] = r.orig_anon ? 1 : 0;
  out[38] = r.resp_anon ? 1 : 0;
  out[39] = r.app_proto;
  out[40] = r.server_name;
  out[41] = r.server_name === null ? null : nameSearchKey(r.server_name);
  out[42] = r.server_name_anon ? 1 : 0;
  out[43] = r.alpn;
  out[44] = r.ja4;
  out[45] = r.ja4s;
  return out;
}

/** A name as server_name_rev holds it: lower case, labels in reverse order, no trailing dot. */
export function nameSearchKey(name: string): string {
  let n = name.toLowerCase();
  if (n.endsWith('.')) n = n.slice(0, -1);
  return n.split('.').reverse().join('.');
}

const TEXT_COLUMNS: ReadonlySet<FlowColumn> = new Set<FlowColumn>([
  'uid', 'community_id', 'agent_id', 'proto', 'orig_addr', 'resp_addr', 'conn_state', 'history', 'record_cause', 'tunnel',
  'app_proto', 'alpn', 'ja4', 'ja4s',
]);
/** text or null */
const NULLABLE_TEXT_COLUMNS: ReadonlySet<FlowColumn> = new Set<FlowColumn>(['server_name', 'server_name_rev']);
const NULLABLE_COLUMNS: ReadonlySet<FlowColumn> = new Set<FlowColumn>([
  'rtt_syn_synack_us', 'rtt_synack_ack_us', 'iat_mean_orig_us', 'iat_stddev_orig_us', 'iat_mean_resp_us', 'iat_stddev_resp_us', 'pcr',
]);
/** Per column in FLOW_COLUMNS order: 0 text, 1 finite number, 2 finite number or null, 3 text or null. */
const COLUMN_KINDS: readonly number[] = FLOW_COLUMNS.map((c) => (TEXT_COLUMNS.has(c) ? 0 : NULLABLE_TEXT_COLUMNS.has(c) ? 3 : NULLABLE_COLUMNS.has(c) ? 2 : 1));

/**
 * Why a row (flowRowValues) cannot be stored as it is, or null: a text column that is not a
 * string, a number column that is not a finite number (NaN would become NULL and fail the
 * NOT NULL constraint; Infinity would be stored as a REAL no query expects).
 */
export function flowRowProblem(values: readonly unknown[]): string | null {
  for (let i = 0; i < COLUMN_KINDS.length; i++) {
    const v = values[i];
    const kind = COLUMN_KINDS[i]!;
    if (kind === 0 || kind === 3) {
      if (typeof v !== 'string' && !(kind === 3 && v === null)) return `${FLOW_COLUMNS[i]} is ${v === null ? 'null' : typeof v}, expected text`;
    } else if (!(typeof v === 'number' && Number.isFinite(v)) && !(kind === 2 && v === null)) {
      return `${FLOW_COLUMNS[i]} is ${typeof v === 'number' ? String(v) : v === null ? 'null' : typeof v}, expected a finite number`;
    }
  }
  return null;
}

/** A row as SQLite returns it. */
export type FlowRow = Record<FlowColumn, unknown>;

function num(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : (v as number);
}

function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : num(v);
}

export function flowRecordFromRow(row: FlowRow): FlowRecord {
  return {
    uid: row.uid as string,
    record_seq: num(row.record_seq),
    community_id: row.community_id as string,
    agent_id: row.agent_id as string,
    proto: row.proto as string,
    ip_proto: num(row.ip_proto),
    ip_version: num(row.ip_version),
    orig_addr: row.orig_addr as string,
    orig_port: num(row.orig_port),
    resp_addr: row.resp_addr as string,
    resp_port: num(row.resp_port),
    vlan: num(row.vlan),
    flow_start: num(row.flow_start),
    start: num(row.start_us),
    end: num(row.end_us),
    duration: num(row.duration),
    orig_pkts: num(row.orig_pkts),
    resp_pkts: num(row.resp_pkts),
    orig_ip_bytes: num(row.orig_ip_bytes),
    resp_ip_bytes: num(row.resp_ip_bytes),
    orig_payload_bytes: num(row.orig_payload_bytes),
    resp_payload_bytes: num(row.resp_payload_bytes),
    conn_state: row.conn_state as ConnState,
    history: row.history as string,
    record_cause: row.record_cause as RecordCause,
    rtt_syn_synack_us: numOrNull(row.rtt_syn_synack_us),
    rtt_synack_ack_us: numOrNull(row.rtt_synack_ack_us),
    retransmits_orig: num(row.retransmits_orig),
    retransmits_resp: num(row.retransmits_resp),
    zero_windows_orig: num(row.zero_windows_orig),
    zero_windows_resp: num(row.zero_windows_resp),
    iat_mean_orig_us: numOrNull(row.iat_mean_orig_us),
    iat_stddev_orig_us: numOrNull(row.iat_stddev_orig_us),
    iat_mean_resp_us: numOrNull(row.iat_mean_resp_us),
    iat_stddev_resp_us: numOrNull(row.iat_stddev_resp_us),
    pcr: numOrNull(row.pcr),
    tunnel: row.tunnel as string,
    orig_anon: num(row.orig_anon) !== 0,
    resp_anon: num(row.resp_anon) !== 0,
    app_proto: (row.app_proto ?? '') as AppProto,
    server_name: (row.server_name ?? null) as string | null,
    server_name_anon: num(row.server_name_anon ?? 0) !== 0,
    alpn: (row.alpn ?? '') as string,
    ja4: (row.ja4 ?? '') as string,
    ja4s: (row.ja4s ?? '') as string,
  };
}
