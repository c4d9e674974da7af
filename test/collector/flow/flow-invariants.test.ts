// Property test: whatever packets arrive (random endpoints, protocols, TCP flags,
// sequence numbers, out-of-order times, fragments), the engine accounts for every
// packet and byte exactly once and its records stay well formed.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Harness } from './packet-script.js';
import { CONN_STATES, RECORD_CAUSES, type FlowRecord } from '../../../shared/flow/flow-record.js';
import { FragFlag, RecordFlag } from '../../../shared/packet/packet-record.js';

const HOSTS = ['10.0.0.1', '10.0.0.2', '192.0.2.7', 'fe80::1', 'fe80::2'];

const packet = fc.record({
  dt: fc.integer({ min: -2_000_000, max: 90_000_000 }),
  v6: fc.boolean(),
  a: fc.integer({ min: 0, max: 2 }),
  b: fc.integer({ min: 0, max: 2 }),
  proto: fc.constantFrom(6, 6, 6, 17, 17, 1, 58, 47),
  sport: fc.constantFrom(80, 443, 40000, 40001, 53),
  dport: fc.constantFrom(80, 443, 40000, 40001, 53),
  tcpFlags: fc.integer({ min: 0, max: 0x3f }),
  seq: fc.integer({ min: 0, max: 0xffffffff }),
  ack: fc.integer({ min: 0, max: 0xffffffff }),
  window: fc.constantFrom(0, 1024, 65535),
  payloadLen: fc.integer({ min: 0, max: 1460 }),
  frag: fc.constantFrom(0, 0, 0, 1, 2),
  anon: fc.constantFrom(0, 0, RecordFlag.SrcAnon),
  vlan: fc.constantFrom(0, 0, 5),
});

describe('flow engine invariants (property)', () => {
  it('counts every packet and IP byte exactly once; records are well formed', () => {
    fc.assert(fc.property(fc.array(packet, { minLength: 1, maxLength: 300 }), fc.integer({ min: 0, max: 120_000_000 }),
      (pkts, activeUs) => {
        const h = new Harness({ agentId: 'p', timeouts: { activeUs } });
        let t = 1_700_000_000_000_000;
        let bytes = 0;
        for (const p of pkts) {
          t += p.dt;
          const base = p.v6 ? 3 : 0;
          const src = HOSTS[p.v6 ? base + (p.a % 2) : p.a]!;
          const dst = HOSTS[p.v6 ? base + (p.b % 2) : p.b]!;
          const proto = p.proto === 1 && p.v6 ? 58 : p.proto === 58 && !p.v6 ? 1 : p.proto;
          const ipLen = (p.v6 ? 40 : 20) + 20 + p.payloadLen;
          bytes += ipLen;
          h.add({
            tsUs: t, src, dst, proto, sport: proto === 1 || proto === 58 ? p.sport & 0xff : p.sport, dport: p.dport & 0xff,
            tcpFlags: p.tcpFlags, seq: p.seq, ack: p.ack, window: p.window, payloadLen: p.payloadLen, ipLen, vlan: p.vlan,
            flags: p.anon | (p.frag > 0 ? RecordFlag.Fragment : 0),
            fragFlags: p.frag === 1 ? FragFlag.MoreFragments : 0, fragOffset: p.frag === 2 ? 1480 : 0, ipId: 7,
          });
        }
        const recs = h.finish();
        assert.equal(recs.reduce((a, r) => a + r.orig_pkts + r.resp_pkts, 0), pkts.length);
        assert.equal(recs.reduce((a, r) => a + r.orig_ip_bytes + r.resp_ip_bytes, 0), bytes);
        assert.equal(h.engine.activeFlows, 0);
        const byUid = new Map<string, FlowRecord[]>();
        for (const r of recs) {
          assert.ok(CONN_STATES.includes(r.conn_state));
          assert.ok(RECORD_CAUSES.includes(r.record_cause));
          assert.ok(r.end >= r.start && r.duration >= 0);
          assert.ok(r.orig_pkts >= 0 && r.resp_pkts >= 0 && r.retransmits_orig >= 0 && r.zero_windows_resp >= 0);
          assert.match(r.community_id, /^1:[A-Za-z0-9+/]{27}=$/);
          const list = byUid.get(r.uid) ?? [];
          list.push(r);
          byUid.set(r.uid, list);
        }
        for (const list of byUid.values()) {
          assert.deepEqual(list.map((r) => r.record_seq), list.map((_, i) => i));
          assert.ok(list.slice(0, -1).every((r) => r.record_cause === 'start' || r.record_cause === 'status'));
          assert.ok(['close', 'timeout', 'flush'].includes(list[list.length - 1]!.record_cause));
          assert.equal(new Set(list.map((r) => r.community_id)).size, 1);
        }
      }), { numRuns: 300 });
  });

  it('finds the same flow for every packet through the recent-flow index as the long way: the same records', () => {
    // a small key space and long pauses, so keys repeat after their flows ended (idle, close,
    // reset, a SYN reusing the ports), and packets differ from each other only in VLAN or
    // pseudonym flags
    const keyed = fc.record({
      dt: fc.constantFrom(1000, 20_000, 2_000_000, 7_000_000, 40_000_000, 90_000_000),
      a: fc.integer({ min: 0, max: 1 }),
      b: fc.integer({ min: 0, max: 1 }),
      proto: fc.constantFrom(6, 6, 17),
      sport: fc.constantFrom(80, 40000),
      dport: fc.constantFrom(80, 40000),
      tcpFlags: fc.constantFrom(0x10, 0x10, 0x18, 0x02, 0x12, 0x11, 0x04),
      seq: fc.integer({ min: 0, max: 0xffffffff }),
      payloadLen: fc.constantFrom(0, 100),
      frag: fc.constantFrom(0, 0, 0, 0, 1, 2),
      flags: fc.constantFrom(0, 0, RecordFlag.SrcAnon, RecordFlag.DstAnon),
      vlan: fc.constantFrom(0, 0, 5),
    });
    fc.assert(fc.property(fc.array(keyed, { minLength: 1, maxLength: 200 }), (pkts) => {
      const run = (recentIndex: boolean): FlowRecord[] => {
        const h = new Harness({ agentId: 'p', uidPrefix: 'F', recentIndex, timeouts: { udpIdleUs: 30e6, tcpIdleUs: 60e6 } });
        let t = 1_700_000_000_000_000;
        for (const p of pkts) {
          t += p.dt;
          h.add({
            tsUs: t, src: HOSTS[p.a]!, dst: HOSTS[p.b]!, proto: p.proto, sport: p.sport, dport: p.dport,
            tcpFlags: p.tcpFlags, seq: p.seq, ack: 1, window: 1024, payloadLen: p.payloadLen, ipLen: 40 + p.payloadLen,
            vlan: p.vlan, flags: p.flags | (p.frag > 0 ? RecordFlag.Fragment : 0),
            fragFlags: p.frag === 1 ? FragFlag.MoreFragments : 0, fragOffset: p.frag === 2 ? 1480 : 0, ipId: 7,
          });
        }
        return h.finish();
      };
      assert.deepEqual(run(true), run(false));
    }), { numRuns: 500 });
  });
});
