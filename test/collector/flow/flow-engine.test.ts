// Flow engine behaviour other than TCP states: keys, packet-time timeouts, status
// records spanning dumps, ICMP pairing, fragments, UDP states and record invariants.
import assert from 'node:assert/strict';
import { A, Harness, P, S, TcpScript } from './packet-script.js';
import { FragFlag, PacketRecord, RecordFlag } from '../../../shared/packet/packet-record.js';
import type { FlowRecord } from '../../../shared/flow/flow-record.js';

const T0 = 1_700_000_000_000_000;
const SEC = 1_000_000;

function udp(h: Harness, tsUs: number, src: string, sport: number, dst: string, dport: number, len = 20,
  extra: { vlan?: number; flags?: number } = {}, agent?: string): void {
  h.add({ tsUs, src, dst, proto: 17, sport, dport, payloadLen: len, ...extra }, agent);
}

function sum(recs: FlowRecord[], k: 'orig_pkts' | 'resp_pkts' | 'orig_ip_bytes' | 'resp_ip_bytes'): number {
  return recs.reduce((a, r) => a + r[k], 0);
}

describe('flow engine: keys and directions', () => {
  it('joins both directions of a UDP exchange; SF when both spoke', () => {
    const h = new Harness();
    udp(h, T0, '10.1.1.1', 50000, '10.1.1.2', 5000, 30);
    udp(h, T0 + 500, '10.1.1.2', 5000, '10.1.1.1', 50000, 60);
    udp(h, T0 + 900, '10.1.1.1', 50000, '10.1.1.2', 5000, 10);
    const recs = h.finish();
    assert.equal(recs.length, 1);
    const r = recs[0]!;
    assert.equal(r.proto, 'udp');
    assert.equal(r.conn_state, 'SF');
    assert.equal(r.history, 'Dd');
    assert.deepEqual([r.orig_pkts, r.resp_pkts], [2, 1]);
    assert.deepEqual([r.orig_ip_bytes, r.resp_ip_bytes], [28 + 30 + 28 + 10, 28 + 60]);
    assert.equal(r.start, T0);
    assert.equal(r.end, T0 + 900);
    assert.equal(r.duration, 0.0009);
    assert.equal(r.iat_mean_orig_us, 900);
    assert.equal(r.iat_mean_resp_us, null);
  });

  it('UDP: S0 when only the originator spoke; a reply from a server port flips roles', () => {
    const h = new Harness();
    udp(h, T0, '10.1.1.1', 40000, '10.1.1.2', 7777);
    udp(h, T0, '8.8.8.8', 53, '10.1.1.1', 41000); // a DNS answer whose query was not captured
    const recs = h.finish();
    assert.equal(recs.length, 2);
    const a = recs.find((r) => r.resp_port === 7777)!;
    assert.equal(a.conn_state, 'S0');
    const dns = recs.find((r) => r.resp_port === 53)!;
    assert.equal(dns.orig_addr, '10.1.1.1');
    assert.equal(dns.conn_state, 'SHR');
    assert.equal(dns.history, '^d');
  });

  it('keeps flows apart by VLAN, by agent and by pseudonym flag', () => {
    const h = new Harness({ agentId: 'a1' });
    udp(h, T0, '10.1.1.1', 1000, '10.1.1.2', 2000, 1);
    udp(h, T0 + 1, '10.1.1.1', 1000, '10.1.1.2', 2000, 1, { vlan: 7 });
    udp(h, T0 + 2, '10.1.1.1', 1000, '10.1.1.2', 2000, 1, {}, 'a2');
    udp(h, T0 + 3, '10.1.1.1', 1000, '10.1.1.2', 2000, 1, { flags: RecordFlag.SrcAnon });
    udp(h, T0 + 4, '10.1.1.2', 2000, '10.1.1.1', 1000, 1, { flags: RecordFlag.DstAnon }); // reply to the previous one
    const recs = h.finish();
    assert.equal(recs.length, 4);
    const anon = recs.find((r) => r.orig_anon)!;
    assert.equal(anon.resp_anon, false);
    assert.deepEqual([anon.orig_pkts, anon.resp_pkts], [1, 1]);
    assert.deepEqual(recs.map((r) => r.agent_id).sort(), ['a1', 'a1', 'a1', 'a2']);
    assert.deepEqual(recs.map((r) => r.vlan).sort(), [0, 0, 0, 7]);
  });

  it('a flow that ended leaves the recent-flow index, and its key makes a new flow after it', () => {
    const h = new Harness({ agentId: 'a1', timeouts: { udpIdleUs: 10e6 } });
    const index = (): unknown[] => (h.engine as unknown as { recentFlows: unknown[] }).recentFlows;
    udp(h, T0, '10.1.1.1', 1000, '10.1.1.2', 2000, 1);
    udp(h, T0 + 1, '10.1.1.2', 2000, '10.1.1.1', 1000, 1);
    udp(h, T0 + 2, '10.1.1.1', 1000, '10.1.1.2', 2000, 1);
    assert.equal(index().filter((f) => f !== null).length, 2); // one entry per direction
    // past the idle timeout: the flow ends (and is no longer held by the index), the same key starts another
    udp(h, T0 + 20e6, '10.1.1.1', 1000, '10.1.1.2', 2000, 1);
    assert.equal(index().filter((f) => f !== null).length, 1);
    const recs = h.finish();
    assert.deepEqual(recs.map((r) => [r.orig_pkts, r.resp_pkts]), [[2, 1], [1, 0]]);
    assert.notEqual(recs[0]!.uid, recs[1]!.uid);
    assert.equal(index().filter((f) => f !== null).length, 0);
  });

  it('a flow that grows the recent-flow index is not remembered at its old place in the new one', () => {
    // the index's hash (flow-engine.ts recentEntry) for a UDP key with no flags, VLAN 0, agent 0:
    // the all-zero key (0.0.0.0:0 -> 0.0.0.0:0) is at entry 0 at every size
    const word = (a: string): number => new Int32Array(Uint8Array.from(a.split('.').map(Number)).buffer)[0]!;
    const entryOf = (src: string, dst: string, sport: number, dport: number, shift: number): number =>
      Math.imul(word(src) ^ Math.imul(word(dst), 0x9e3779b1) ^ Math.imul((sport << 16) | dport, 0x85ebca6b), 0xc2b2ae35) >>> shift;
    const h = new Harness({ agentId: 'a1' });
    for (let i = 0; i < 128; i++) udp(h, T0 + i, '10.2.0.1', 1000 + i, '10.2.0.2', 53, 1);
    // the 129th flow doubles the index (256 -> 512 entries); its key lay at entry 0 of the old one
    let sport = 20000;
    while (entryOf('10.3.0.1', '10.3.0.2', sport, 53, 24) !== 0) sport++;
    udp(h, T0 + 200, '10.3.0.1', sport, '10.3.0.2', 53, 1);
    // the all-zero key, at entry 0 of the new index: a flow of its own
    udp(h, T0 + 201, '0.0.0.0', 0, '0.0.0.0', 0, 1);
    const recs = h.finish();
    assert.equal(recs.length, 130);
    const grown = recs.find((r) => r.orig_port === sport)!;
    assert.deepEqual([grown.orig_pkts, grown.resp_pkts], [1, 0]);
    assert.ok(recs.some((r) => r.orig_port === 0 && r.resp_port === 0 && r.orig_pkts === 1));
  });

  it('keeps IPv6 flows apart that differ only past the first address word, packet after packet, in either direction', () => {
    const h = new Harness();
    udp(h, T0, '2001:db8::1', 1000, '2001:db8::2', 2000, 1);
    udp(h, T0 + 1, '2001:db8::1', 1000, '2001:db8::3', 2000, 1); // another destination, same first word
    udp(h, T0 + 2, '2001:db8::3', 2000, '2001:db8::1', 1000, 1); // its reply, right after it
    udp(h, T0 + 3, '2001:db8::2', 2000, '2001:db8::9', 1000, 1); // the first flow's ports, other hosts
    const recs = h.finish();
    assert.equal(recs.length, 3);
    const byResp = new Map(recs.map((r) => [r.resp_addr, r]));
    assert.deepEqual([byResp.get('2001:db8::2')!.orig_pkts, byResp.get('2001:db8::2')!.resp_pkts], [1, 0]);
    assert.deepEqual([byResp.get('2001:db8::3')!.orig_pkts, byResp.get('2001:db8::3')!.resp_pkts], [1, 1]);
    assert.equal(byResp.get('2001:db8::9')!.orig_addr, '2001:db8::2');
  });

  it('finds every flow again as the table grows, and ends flows of the same start in the order they began', () => {
    const h = new Harness();
    const n = 5000; // several doublings of the table
    for (let i = 0; i < n; i++) udp(h, T0, `10.2.${i >> 8}.${i & 255}`, 40000, '192.0.2.1', 53, 1);
    for (let i = n - 1; i >= 0; i--) udp(h, T0 + 10, '192.0.2.1', 53, `10.2.${i >> 8}.${i & 255}`, 40000, 1);
    const recs = h.finish();
    assert.equal(recs.length, n);
    assert.ok(recs.every((r) => r.orig_pkts === 1 && r.resp_pkts === 1), 'each reply found its flow');
    assert.deepEqual(recs.map((r) => r.orig_addr), Array.from({ length: n }, (_, i) => `10.2.${i >> 8}.${i & 255}`));
  });

  it('never mixes tunnelled (inner) packets with outer ones of the same endpoints', () => {
    const h = new Harness();
    const base = { src: '10.172.64.6', dst: '10.172.64.7', proto: 47 };
    h.add({ ...base, tsUs: T0 });
    h.add({ ...base, tsUs: T0 + 1, flags: RecordFlag.Inner, tunnel: 1 });
    const recs = h.finish();
    assert.equal(recs.length, 2);
    assert.deepEqual(recs.map((r) => r.tunnel).sort(), ['', 'gre']);
    assert.deepEqual(recs.map((r) => r.proto), ['gre', 'gre']);
  });

  it('ignores non-IP records; counts damaged ones in a port-less flow, capped at the wire length', () => {
    const h = new Harness();
    h.add({ tsUs: T0, src: '10.0.0.1', dst: '10.0.0.2', proto: 17, sport: 1234, dport: 53, ipLen: 9000, wireLen: 60,
      flags: RecordFlag.Truncated });
    h.engine.add(makeNonIp());
    const recs = h.finish();
    assert.equal(recs.length, 1);
    assert.deepEqual([recs[0]!.orig_port, recs[0]!.resp_port, recs[0]!.orig_pkts, recs[0]!.orig_ip_bytes], [0, 0, 1, 60]);
    assert.equal(h.engine.stats.damaged, 1);
    assert.equal(h.engine.stats.nonIp, 1);
  });

  it('builds no flow from a record whose IP header itself was unusable (BadIpHeader), and counts it', () => {
    const h = new Harness();
    h.add({ tsUs: T0, src: '10.0.0.1', dst: '10.0.0.2', proto: 6, sport: 1, dport: 2, flags: RecordFlag.Malformed | RecordFlag.BadIpHeader });
    h.add({ tsUs: T0 + 1, src: '0.0.0.0', dst: '0.0.0.0', proto: 0, flags: RecordFlag.Truncated | RecordFlag.BadIpHeader });
    h.add({ tsUs: T0 + 2, src: '10.0.0.1', dst: '10.0.0.2', proto: 6, sport: 1, dport: 2, flags: RecordFlag.Malformed });
    const recs = h.finish();
    assert.equal(recs.length, 1, 'only the merely damaged record makes a (port-less) flow');
    assert.deepEqual([recs[0]!.orig_port, recs[0]!.resp_port, recs[0]!.orig_pkts], [0, 0, 1]);
    assert.equal(h.engine.stats.badIpHeader, 2);
    assert.equal(h.engine.stats.damaged, 1);
  });
});

function makeNonIp(): PacketRecord {
  const r = new PacketRecord();
  r.tsUs = T0;
  r.ipVersion = 0;
  return r;
}

describe('flow engine: ICMP', () => {
  it('pairs echo request and reply into one flow keyed like Zeek (8 -> 0)', () => {
    const h = new Harness();
    for (let i = 0; i < 3; i++) {
      h.add({ tsUs: T0 + i * SEC, src: '10.0.0.1', dst: '10.0.0.2', proto: 1, sport: 8, dport: 0, payloadLen: 56 });
      h.add({ tsUs: T0 + i * SEC + 300, src: '10.0.0.2', dst: '10.0.0.1', proto: 1, sport: 0, dport: 0, payloadLen: 56 });
    }
    const recs = h.finish();
    assert.equal(recs.length, 1);
    const r = recs[0]!;
    assert.equal(r.proto, 'icmp');
    assert.deepEqual([r.orig_port, r.resp_port], [8, 0]);
    assert.deepEqual([r.orig_pkts, r.resp_pkts], [3, 3]);
    assert.equal(r.conn_state, 'OTH');
    assert.equal(r.history, '');
  });

  it('keys one-way messages by type and code in their own direction', () => {
    const h = new Harness();
    h.add({ tsUs: T0, src: '10.0.0.1', dst: '10.0.0.2', proto: 1, sport: 3, dport: 3 });
    h.add({ tsUs: T0 + 1, src: '10.0.0.1', dst: '10.0.0.2', proto: 1, sport: 3, dport: 3 });
    h.add({ tsUs: T0 + 2, src: '10.0.0.2', dst: '10.0.0.1', proto: 1, sport: 3, dport: 3 });
    h.add({ tsUs: T0 + 3, src: '10.0.0.1', dst: '10.0.0.2', proto: 1, sport: 3, dport: 1 });
    const recs = h.finish();
    assert.equal(recs.length, 3);
    const main = recs.find((r) => r.orig_addr === '10.0.0.1' && r.resp_port === 3)!;
    assert.deepEqual([main.orig_pkts, main.resp_pkts], [2, 0]);
  });

  it('ICMPv6 neighbour solicitation and advertisement pair up (135 <-> 136)', () => {
    const h = new Harness();
    h.add({ tsUs: T0, src: 'fe80::1', dst: 'fe80::2', proto: 58, sport: 135, dport: 0 });
    h.add({ tsUs: T0 + 10, src: 'fe80::2', dst: 'fe80::1', proto: 58, sport: 136, dport: 0 });
    const recs = h.finish();
    assert.equal(recs.length, 1);
    assert.deepEqual([recs[0]!.orig_port, recs[0]!.resp_port, recs[0]!.ip_proto], [135, 136, 58]);
  });
});

describe('flow engine: packet-time timeouts', () => {
  it('expires an idle UDP flow after 60 s of packet time, before the next packet is counted', () => {
    const h = new Harness();
    udp(h, T0, '10.1.1.1', 1000, '10.1.1.2', 2000);
    udp(h, T0 + 59 * SEC, '10.1.1.1', 1000, '10.1.1.2', 2000);
    assert.equal(h.records.length, 0);
    udp(h, T0 + 120 * SEC, '10.1.1.1', 1000, '10.1.1.2', 2000);
    assert.equal(h.records.length, 1);
    assert.equal(h.records[0]!.record_cause, 'timeout');
    assert.equal(h.records[0]!.orig_pkts, 2);
    const recs = h.finish();
    assert.equal(recs.length, 2);
    assert.notEqual(recs[0]!.uid, recs[1]!.uid);
  });

  it('uses configurable per-protocol idle timeouts and advance() without packets', () => {
    const h = new Harness({ timeouts: { udpIdleUs: 5 * SEC } });
    udp(h, T0, '10.1.1.1', 1000, '10.1.1.2', 2000);
    h.engine.advance(T0 + 4 * SEC);
    assert.equal(h.records.length, 0);
    h.engine.advance(T0 + 5 * SEC);
    assert.equal(h.records.length, 1);
    assert.equal(h.engine.activeFlows, 0);
  });

  it('ends an unanswered TCP attempt 5 s after the SYN: a later SYN retry is a new flow (as Zeek)', () => {
    const h = new Harness();
    const c = new TcpScript(h, '10.0.0.1:40000', '192.0.2.10:80', T0);
    c.send('a', S);
    c.send('a', S, 0, { seq: 1000, dtUs: 3 * SEC });
    c.send('a', S, 0, { seq: 1000, dtUs: 4 * SEC });
    const recs = h.finish();
    assert.equal(recs.length, 2);
    assert.deepEqual(recs.map((r) => [r.conn_state, r.orig_pkts, r.record_cause]),
      [['S0', 2, 'timeout'], ['S0', 1, 'flush']]);
  });

  it('keeps an established TCP flow for 5 min idle, a handshake-only one for 1 min', () => {
    const h = new Harness({ timeouts: { activeUs: 0 } });
    const c = new TcpScript(h, '10.0.0.1:40000', '192.0.2.10:80', T0);
    c.handshake();
    c.send('a', P | A, 10, { dtUs: 200 * SEC });
    assert.equal(h.records.length, 0);
    c.send('a', P | A, 10, { dtUs: 301 * SEC });
    assert.equal(h.records.length, 1);
    assert.equal(h.records[0]!.record_cause, 'timeout');
  });

  it('lets trailing packets of a closed connection in during the close delay, then closes', () => {
    const h = new Harness();
    const c = new TcpScript(h, '10.0.0.1:40000', '192.0.2.10:80', T0);
    c.handshake();
    c.send('a', 0x01 | A);
    c.send('b', 0x01 | A);
    c.send('a', A, 0, { dtUs: 2 * SEC });
    assert.equal(h.records.length, 0);
    h.engine.advance(c.t + 5 * SEC);
    assert.equal(h.records.length, 1);
    assert.equal(h.records[0]!.record_cause, 'close');
    assert.equal(h.records[0]!.orig_pkts, 4);
  });
});

describe('flow engine: bounded table', () => {
  it('ends the flow closest to its idle timeout when maxFlows is reached', () => {
    const h = new Harness({ maxFlows: 3 });
    for (let i = 0; i < 5; i++) udp(h, T0 + i * SEC, '10.1.1.1', 1000 + i, '10.1.1.2', 53);
    assert.equal(h.engine.activeFlows, 3);
    assert.equal(h.engine.stats.evicted, 2);
    assert.deepEqual(h.records.map((r) => r.orig_port), [1000, 1001]);
    assert.equal(h.finish().length, 5);
    assert.throws(() => new Harness({ maxFlows: 0 }), RangeError);
  });
});

describe('flow engine: status records for long flows', () => {
  it('reports a 150 s flow as start, status, final; counters add up; flow state spans dumps', () => {
    const h = new Harness({ agentId: 'agent-7' });
    const c = new TcpScript(h, '10.0.0.1:40000', '192.0.2.10:22', T0);
    c.handshake();
    let sent = 0;
    // three "dumps" of traffic; state is carried between them by the same engine
    for (let dump = 0; dump < 3; dump++) {
      for (let i = 0; i < 10; i++) {
        c.send('a', P | A, 100, { dtUs: 5 * SEC });
        c.send('b', A);
        sent++;
      }
    }
    c.send('a', 0x01 | A);
    c.send('b', 0x01 | A);
    c.send('a', A);
    const recs = h.finish();
    assert.deepEqual(recs.map((r) => r.record_cause), ['start', 'status', 'close']);
    assert.deepEqual(recs.map((r) => r.record_seq), [0, 1, 2]);
    assert.equal(new Set(recs.map((r) => r.uid)).size, 1);
    assert.equal(sum(recs, 'orig_pkts'), 2 + sent + 2);
    assert.equal(sum(recs, 'resp_pkts'), 1 + sent + 1);
    assert.equal(recs.reduce((a, r) => a + r.orig_payload_bytes, 0), 100 * sent);
    for (const r of recs) {
      assert.equal(r.flow_start, T0 + 1000);
      assert.ok(r.start >= r.flow_start && r.end >= r.start);
    }
    assert.ok(recs[1]!.start > recs[0]!.end, 'records cover consecutive intervals');
    assert.equal(recs[0]!.conn_state, 'S1');
    assert.equal(recs[2]!.conn_state, 'SF');
  });

  it('emits no status record for an interval without packets', () => {
    const h = new Harness({ timeouts: { udpIdleUs: 600 * SEC } });
    udp(h, T0, '10.1.1.1', 1000, '10.1.1.2', 2000);
    udp(h, T0 + 10 * SEC, '10.1.1.1', 1000, '10.1.1.2', 2000);
    udp(h, T0 + 300 * SEC, '10.1.1.1', 1000, '10.1.1.2', 2000);
    const recs = h.finish();
    assert.deepEqual(recs.map((r) => [r.record_cause, r.orig_pkts]), [['start', 2], ['flush', 1]]);
  });
});

describe('flow engine: IP fragments', () => {
  it('counts every fragment in the flow of its datagram (ports come from the first)', () => {
    const h = new Harness();
    const base = { src: '10.0.0.1', dst: '10.0.0.2', proto: 17, ipId: 4242 };
    h.add({ ...base, tsUs: T0, sport: 5000, dport: 6000, payloadLen: 3000, ipLen: 1500,
      flags: RecordFlag.Fragment, fragFlags: FragFlag.MoreFragments, fragOffset: 0 });
    h.add({ ...base, tsUs: T0 + 1, ipLen: 1500, flags: RecordFlag.Fragment, fragFlags: FragFlag.MoreFragments, fragOffset: 1480 });
    h.add({ ...base, tsUs: T0 + 2, ipLen: 68, flags: RecordFlag.Fragment, fragOffset: 2960 });
    h.add({ tsUs: T0 + 3, src: '10.0.0.2', dst: '10.0.0.1', proto: 17, sport: 6000, dport: 5000, payloadLen: 10 });
    // a fragment whose first fragment was never seen becomes a port-less flow
    h.add({ ...base, ipId: 9, tsUs: T0 + 4, ipLen: 100, flags: RecordFlag.Fragment, fragOffset: 1480 });
    const recs = h.finish();
    assert.equal(recs.length, 2);
    const r = recs.find((x) => x.orig_port === 5000)!;
    assert.deepEqual([r.orig_pkts, r.orig_ip_bytes, r.orig_payload_bytes], [3, 3068, 3000]);
    assert.equal(r.resp_pkts, 1);
    const orphan = recs.find((x) => x.orig_port === 0)!;
    assert.equal(orphan.orig_pkts, 1);
    assert.equal(h.engine.stats.fragmentsJoined, 2);
  });
});

describe('FlowEngine.oldestOpenStartUs (the replay point of a scale-out worker)', () => {
  it('is the first packet time of the oldest flow still open, null when none is', async () => {
    const { FlowEngine } = await import('../../../collector/flow/flow-engine.js');
    const { referenceRecords } = await import('../../helpers/transport-rig.js');
    const recs = referenceRecords();
    const emitted: FlowRecord[] = [];
    const e = new FlowEngine({ agentId: 'a', onRecord: (r) => emitted.push(r) });
    assert.equal(e.oldestOpenStartUs(), null);
    for (const r of recs.slice(0, 500)) e.add(r);
    const oldest = e.oldestOpenStartUs();
    assert.ok(oldest !== null && oldest >= recs[0]!.tsUs && oldest <= recs[499]!.tsUs);
    // ending every flow: their records' first packet times include the oldest one, none older
    const before = emitted.length;
    e.flushAll();
    const flushed = emitted.slice(before);
    assert.ok(flushed.length > 0);
    assert.equal(Math.min(...flushed.map((r) => r.flow_start)), oldest);
    assert.equal(e.oldestOpenStartUs(), null);
  });
});
