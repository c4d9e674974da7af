// Generated flow records for analyzer tests: a complete FlowRecord with sensible
// defaults (a finished TCP connection from an internal pseudonymized host to a public
// web server), overridden per test; and a seeded PRNG so generated traffic is repeatable.
import { NO_APP_FIELDS, type FlowRecord } from '../../../shared/flow/flow-record.js';
import { seededRandom } from '../../../collector/analyze/signature/random-forest.js';

let counter = 0;

export const T0 = Date.UTC(2024, 0, 8, 9, 0, 0) * 1000; // Monday 2024-01-08 09:00 UTC, µs

export function flow(p: Partial<FlowRecord> = {}): FlowRecord {
  const start = p.start ?? p.flow_start ?? T0;
  const end = p.end ?? start + 1_000_000;
  const proto = p.proto ?? (p.ip_proto === 17 ? 'udp' : p.ip_proto === 1 ? 'icmp' : 'tcp');
  const ipProto = p.ip_proto ?? (proto === 'udp' ? 17 : proto === 'icmp' ? 1 : 6);
  const rec: FlowRecord = {
    uid: `T${(++counter).toString(36)}`,
    record_seq: 0,
    community_id: `1:test${counter}`,
    agent_id: 'agent-a',
    proto,
    ip_proto: ipProto,
    ip_version: 4,
    orig_addr: '10.1.2.3',
    orig_port: 40000 + (counter % 20000),
    resp_addr: '93.184.216.34',
    resp_port: 443,
    vlan: 0,
    flow_start: start,
    start,
    end,
    duration: (end - start) / 1e6,
    orig_pkts: 10,
    resp_pkts: 10,
    orig_ip_bytes: 1200,
    resp_ip_bytes: 8000,
    orig_payload_bytes: 600,
    resp_payload_bytes: 7400,
    conn_state: 'SF',
    history: 'ShADadFf',
    record_cause: 'close',
    rtt_syn_synack_us: 20_000,
    rtt_synack_ack_us: 100,
    retransmits_orig: 0,
    retransmits_resp: 0,
    zero_windows_orig: 0,
    zero_windows_resp: 0,
    iat_mean_orig_us: 100_000,
    iat_stddev_orig_us: 10_000,
    iat_mean_resp_us: 100_000,
    iat_stddev_resp_us: 10_000,
    pcr: -0.85,
    tunnel: '',
    orig_anon: true,
    resp_anon: false,
    ...NO_APP_FIELDS,
    ...p,
  };
  rec.proto = proto;
  rec.ip_proto = ipProto;
  rec.flow_start = p.flow_start ?? start;
  rec.start = start;
  rec.end = end;
  rec.duration = (end - start) / 1e6;
  return rec;
}

/** A TCP attempt nobody answered (a scan probe). */
export function probe(p: Partial<FlowRecord> = {}): FlowRecord {
  return flow({
    orig_pkts: 1, resp_pkts: 0, orig_ip_bytes: 44, resp_ip_bytes: 0, orig_payload_bytes: 0, resp_payload_bytes: 0,
    conn_state: 'S0', history: 'S', record_cause: 'timeout', pcr: null, rtt_syn_synack_us: null, rtt_synack_ack_us: null,
    iat_mean_orig_us: null, iat_stddev_orig_us: null, iat_mean_resp_us: null, iat_stddev_resp_us: null, ...p,
  });
}

export { seededRandom };

/** Exponential variate with the given mean (Poisson process inter-arrival). */
export function exponential(rand: () => number, mean: number): number {
  return -Math.log(1 - rand()) * mean;
}
