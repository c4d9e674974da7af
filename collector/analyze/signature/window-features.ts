// Behavioural feature vector of one agent over one time window, from its flow records
// (pure). The same accumulator serves training (records read back from the store) and
// the live analyzer (records as they stream), so both see identical features.
// Records are assigned to the window of their `start` (first packet of the record).
import type { FlowRecord } from '../../../shared/flow/flow-record.js';
import type { AddressScope } from '../address-scope.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '../../../shared/packet/packet-record.js';

export const FEATURE_NAMES: readonly string[] = [
  'log_records', 'log_new_flows', 'log_peers', 'log_ports', 'peers_per_flow',
  'frac_tcp', 'frac_udp', 'frac_icmp', 'frac_ipv6',
  'frac_orig_internal', 'frac_resp_external', 'frac_failed',
  'mean_log_orig_bytes', 'mean_log_resp_bytes', 'sd_log_orig_bytes', 'sd_log_resp_bytes',
  'log_bytes_orig_total', 'log_bytes_resp_total', 'mean_log_pkts', 'mean_log_duration',
  'mean_pcr', 'mean_log_rtt',
  'port_web', 'port_dns', 'port_mail', 'port_remote_admin', 'port_file_share', 'port_database',
  'port_other_low', 'port_high',
  'log_mean_iat_orig',
];

export const FEATURE_COUNT = FEATURE_NAMES.length;

const WEB = new Set([80, 443, 8080, 8443, 8000, 8008, 3128]);
const MAIL = new Set([25, 110, 143, 465, 587, 993, 995]);
const ADMIN = new Set([22, 23, 3389, 5900, 5985, 5986]);
const FILES = new Set([139, 445, 2049, 111, 20, 21, 69]);
const DB = new Set([1433, 1521, 3306, 5432, 6379, 9200, 27017]);

const FAILED = new Set(['S0', 'REJ', 'RSTOS0', 'SH', 'SHR']);

/** Sums for one (agent, window); turned into a vector by features(). */
export class WindowAccumulator {
  records = 0;
  newFlows = 0;
  readonly peers = new Set<string>();
  readonly ports = new Set<number>();
  tcp = 0;
  udp = 0;
  icmp = 0;
  v6 = 0;
  origInternal = 0;
  respExternal = 0;
  failed = 0;
  sumLogOrig = 0;
  sumLogResp = 0;
  sumSqLogOrig = 0;
  sumSqLogResp = 0;
  bytesOrig = 0;
  bytesResp = 0;
  sumLogPkts = 0;
  sumLogDur = 0;
  pcrSum = 0;
  pcrN = 0;
  rttSum = 0;
  rttN = 0;
  iatSum = 0;
  iatN = 0;
  readonly portClass = new Float64Array(8);

  constructor(readonly agentId: string, readonly windowIndex: number) {}

  add(rec: FlowRecord, scope: AddressScope): void {
    this.records++;
    const lo = Math.log1p(rec.orig_ip_bytes);
    const lr = Math.log1p(rec.resp_ip_bytes);
    this.sumLogOrig += lo;
    this.sumLogResp += lr;
    this.sumSqLogOrig += lo * lo;
    this.sumSqLogResp += lr * lr;
    this.bytesOrig += rec.orig_ip_bytes;
    this.bytesResp += rec.resp_ip_bytes;
    this.sumLogPkts += Math.log1p(rec.orig_pkts + rec.resp_pkts);
    this.sumLogDur += Math.log1p(rec.duration);
    if (rec.iat_mean_orig_us !== null) { this.iatSum += Math.log1p(rec.iat_mean_orig_us / 1000); this.iatN++; }
    if (rec.record_seq !== 0) return;
    // per-flow features from the first record
    this.newFlows++;
    const oi = scope.isInternal(rec.orig_addr, rec.orig_anon);
    const ri = scope.isInternal(rec.resp_addr, rec.resp_anon);
    if (oi) this.origInternal++;
    if (!ri) this.respExternal++;
    if (this.peers.size < 4096) this.peers.add(oi ? rec.resp_addr : rec.orig_addr);
    if (this.ports.size < 4096) this.ports.add(rec.ip_proto * 65536 + rec.resp_port);
    if (rec.ip_proto === IPPROTO_TCP) this.tcp++;
    else if (rec.ip_proto === IPPROTO_UDP) this.udp++;
    else if (rec.ip_proto === IPPROTO_ICMP || rec.ip_proto === IPPROTO_ICMPV6) this.icmp++;
    if (rec.ip_version === 6) this.v6++;
    if (FAILED.has(rec.conn_state) || (rec.ip_proto === IPPROTO_UDP && rec.resp_pkts === 0)) this.failed++;
    if (rec.pcr !== null) { this.pcrSum += rec.pcr; this.pcrN++; }
    if (rec.rtt_syn_synack_us !== null) { this.rttSum += Math.log1p(rec.rtt_syn_synack_us); this.rttN++; }
    const p = rec.resp_port;
    const isPorted = rec.ip_proto === IPPROTO_TCP || rec.ip_proto === IPPROTO_UDP || rec.ip_proto === IPPROTO_SCTP;
    if (!isPorted) return;
    if (WEB.has(p)) this.portClass[0]!++;
    else if (p === 53 || p === 853 || p === 5353) this.portClass[1]!++;
    else if (MAIL.has(p)) this.portClass[2]!++;
    else if (ADMIN.has(p)) this.portClass[3]!++;
    else if (FILES.has(p)) this.portClass[4]!++;
    else if (DB.has(p)) this.portClass[5]!++;
    else if (p < 1024) this.portClass[6]!++;
    else this.portClass[7]!++;
  }

  /** The feature vector (FEATURE_NAMES order). */
  features(out: Float64Array = new Float64Array(FEATURE_COUNT)): Float64Array {
    const r = Math.max(1, this.records);
    const f = Math.max(1, this.newFlows);
    const mo = this.sumLogOrig / r;
    const mr = this.sumLogResp / r;
    let i = 0;
    out[i++] = Math.log1p(this.records);
    out[i++] = Math.log1p(this.newFlows);
    out[i++] = Math.log1p(this.peers.size);
    out[i++] = Math.log1p(this.ports.size);
    out[i++] = this.peers.size / f;
    out[i++] = this.tcp / f;
    out[i++] = this.udp / f;
    out[i++] = this.icmp / f;
    out[i++] = this.v6 / f;
    out[i++] = this.origInternal / f;
    out[i++] = this.respExternal / f;
    out[i++] = this.failed / f;
    out[i++] = mo;
    out[i++] = mr;
    out[i++] = Math.sqrt(Math.max(0, this.sumSqLogOrig / r - mo * mo));
    out[i++] = Math.sqrt(Math.max(0, this.sumSqLogResp / r - mr * mr));
    out[i++] = Math.log1p(this.bytesOrig);
    out[i++] = Math.log1p(this.bytesResp);
    out[i++] = this.sumLogPkts / r;
    out[i++] = this.sumLogDur / r;
    out[i++] = this.pcrN > 0 ? this.pcrSum / this.pcrN : 0;
    out[i++] = this.rttN > 0 ? this.rttSum / this.rttN : 0;
    const ported = this.portClass.reduce((a, b) => a + b, 0);
    for (let k = 0; k < 8; k++) out[i++] = ported > 0 ? this.portClass[k]! / ported : 0;
    out[i++] = this.iatN > 0 ? this.iatSum / this.iatN : 0;
    return out;
  }
}

/** Windows of several agents from a record stream (training and evaluation). */
export class WindowSet {
  readonly windows = new Map<string, Map<number, WindowAccumulator>>();

  constructor(readonly windowUs: number, private readonly scope: AddressScope) {}

  add(rec: FlowRecord): void {
    let byIdx = this.windows.get(rec.agent_id);
    if (byIdx === undefined) { byIdx = new Map(); this.windows.set(rec.agent_id, byIdx); }
    const idx = Math.floor(rec.start / this.windowUs);
    let w = byIdx.get(idx);
    if (w === undefined) { w = new WindowAccumulator(rec.agent_id, idx); byIdx.set(idx, w); }
    w.add(rec, this.scope);
  }

  /** Windows with at least minRecords records, per agent in time order. */
  list(minRecords: number): WindowAccumulator[] {
    const out: WindowAccumulator[] = [];
    for (const byIdx of this.windows.values()) {
      const ws = [...byIdx.values()].filter((w) => w.records >= minRecords).sort((a, b) => a.windowIndex - b.windowIndex);
      out.push(...ws);
    }
    return out;
  }
}
