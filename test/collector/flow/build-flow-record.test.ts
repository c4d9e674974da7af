// buildFlowRecord through the flow engine: the nullable numbers (handshake round trips,
// inter-arrival means and deviations, pcr) are null exactly when there is nothing to report
// and the measured value otherwise - whole or fractional, in whichever order flows come -
// and a record's keys keep their order (JSON output, the store's columns).
import assert from 'node:assert/strict';
import { A, F, Harness, TcpScript } from './packet-script.js';
import type { FlowRecord } from '../../../shared/flow/flow-record.js';

const T0 = 1_700_000_000_000_000;

const KEYS = [
  'uid', 'record_seq', 'community_id', 'agent_id', 'proto', 'ip_proto', 'ip_version', 'orig_addr', 'orig_port', 'resp_addr',
  'resp_port', 'vlan', 'flow_start', 'start', 'end', 'duration', 'orig_pkts', 'resp_pkts', 'orig_ip_bytes', 'resp_ip_bytes',
  'orig_payload_bytes', 'resp_payload_bytes', 'conn_state', 'history', 'record_cause', 'rtt_syn_synack_us', 'rtt_synack_ack_us',
  'retransmits_orig', 'retransmits_resp', 'zero_windows_orig', 'zero_windows_resp', 'iat_mean_orig_us', 'iat_stddev_orig_us',
  'iat_mean_resp_us', 'iat_stddev_resp_us', 'pcr', 'tunnel', 'orig_anon', 'resp_anon', 'app_proto', 'server_name',
  'server_name_anon', 'alpn', 'ja4', 'ja4s',
];

function udp(h: Harness, tsUs: number, sport: number, dport: number, len: number, fromClient = true): void {
  const [src, dst] = fromClient ? ['10.9.0.1', '10.9.0.2'] : ['10.9.0.2', '10.9.0.1'];
  const [s, d] = fromClient ? [sport, dport] : [dport, sport];
  h.add({ tsUs, src, dst, proto: 17, sport: s, dport: d, payloadLen: len });
}

function byPort(recs: FlowRecord[], port: number): FlowRecord {
  const r = recs.find((x) => x.resp_port === port);
  assert.ok(r, `a record for port ${port}`);
  return r;
}

describe('buildFlowRecord', () => {
  it('null where nothing was measured, the values where they were, keys in column order', () => {
    const h = new Harness();
    udp(h, T0, 40001, 7001, 0); // one packet, no payload: no means, no pcr
    udp(h, T0, 40002, 7002, 10); // payload both ways, whole-number means
    udp(h, T0 + 100, 40002, 7002, 30, false);
    udp(h, T0 + 200, 40002, 7002, 10);
    udp(h, T0 + 300, 40002, 7002, 30, false);
    const recs = h.finish();
    const lone = byPort(recs, 7001);
    for (const k of ['rtt_syn_synack_us', 'rtt_synack_ack_us', 'iat_mean_orig_us', 'iat_stddev_orig_us', 'iat_mean_resp_us',
      'iat_stddev_resp_us', 'pcr'] as const) {
      assert.equal(lone[k], null, k);
    }
    const both = byPort(recs, 7002);
    assert.equal(both.iat_mean_orig_us, 200);
    assert.equal(both.iat_stddev_orig_us, 0);
    assert.equal(both.iat_mean_resp_us, 200);
    assert.equal(both.pcr, (20 - 60) / 80);
    assert.equal(both.rtt_syn_synack_us, null, 'UDP has no handshake');
    for (const r of recs) assert.deepEqual(Object.keys(r), KEYS);
  });

  it('fractional means after whole ones (and the reverse) come out exact', () => {
    const h = new Harness();
    for (let i = 0; i < 40; i++) {
      const port = 8000 + i;
      const t = T0 + i * 1_000_000;
      // even flows: gaps 100 and 100 (mean 100); odd flows: gaps 100 and 101 (mean 100.5)
      udp(h, t, 41000 + i, port, 5);
      udp(h, t + 100, 41000 + i, port, 5);
      udp(h, t + 200 + (i % 2), 41000 + i, port, 5);
    }
    const recs = h.finish();
    for (let i = 0; i < 40; i++) {
      const r = byPort(recs, 8000 + i);
      assert.equal(r.iat_mean_orig_us, i % 2 === 0 ? 100 : 100.5, `flow ${i}`);
      assert.equal(r.iat_stddev_orig_us, i % 2 === 0 ? 0 : Math.SQRT1_2, `flow ${i}`); // sample deviation
      assert.equal(r.iat_mean_resp_us, null);
      assert.equal(r.pcr, 1);
    }
  });

  it('TCP: handshake round trips when the handshake was seen, null when it was not', () => {
    const h = new Harness();
    const full = new TcpScript(h, '10.9.1.1:50000', '10.9.1.2:80', T0, 1000);
    full.handshake();
    full.send('a', A | F);
    const mid = new TcpScript(h, '10.9.1.1:50001', '10.9.1.2:81', T0, 1000);
    mid.send('a', A, 10); // joined mid-stream: no SYN seen
    const recs = h.finish();
    const f = byPort(recs, 80);
    assert.equal(f.rtt_syn_synack_us, 1000);
    assert.equal(f.rtt_synack_ack_us, 1000);
    const m = byPort(recs, 81);
    assert.equal(m.rtt_syn_synack_us, null);
    assert.equal(m.rtt_synack_ack_us, null);
  });
});
