// The import's frame memo (collector/import/frame-flow-memo.ts) against the decoder's fast
// lane: on built and mutated frames it must find a remembered flow for exactly the frames the
// lane decodes as IPv4 TCP without SYN and unmarked (no malformed options), and leave in the record the values the lane gives the
// fields the flow engine and the metadata extractor read; ended flows, other keys in the same
// entry, VLAN 0 and untagged frames, the table growing.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameFlowMemo } from '../../../collector/import/frame-flow-memo.js';
import { Flow } from '../../../collector/flow/flow.js';
import { DecodedPacket, LinkType } from '../../../shared/decode/index.js';
import { decodeFastLane } from '../../../shared/decode/fast-lane.js';
import { IPPROTO_TCP, TCP_ACK, TCP_SYN } from '../../../shared/packet/packet-record.js';
import { build, builtFrame } from '../../shared/decode/lane-frames.js';
import { concat, ethernet, ipv4, tcp, vlanTag } from '../../shared/decode/frame-builder.js';

/** The record fields match() writes (what FlowEngine.addToFlow and AppMetaExtractor.ignoresTcpSegment read but the time, the caller's). */
const FIELDS = ['proto', 'flags', 'wireLen', 'ipLen', 'sport', 'dport', 'tcpFlags', 'tcpSeq', 'tcpAck', 'tcpWindow',
  'frame', 'frameOff', 'capLen', 'payloadOff', 'payloadLen'] as const;

const TS = 1_700_000_000_123_456;

function segment(src: string, dst: string, flags: number, vlan?: number): Uint8Array {
  const ip = ipv4({ src, dst, proto: 6 }, tcp({ sport: 40000, dport: 443, flags, seq: 1, ack: 2 }, new Uint8Array(10)));
  return vlan === undefined ? ethernet(0x0800, ip) : ethernet(0x8100, concat(vlanTag(vlan, 0x0800), ip));
}

describe('FrameFlowMemo', () => {
  it('finds the remembered flow of exactly the frames the fast lane decodes as clean TCP without SYN, fields as the lane sets them (fast-check)', () => {
    let hits = 0;
    let runs = 0;
    const lane = new DecodedPacket();
    const out = new DecodedPacket();
    // a frame as built, or one byte of it changed, cut short, given a longer wire length, at an offset in a larger buffer
    const arb = fc.record({
      b: builtFrame,
      mutate: fc.option(fc.tuple(fc.nat(120), fc.nat(255)), { nil: undefined, freq: 3 }),
      cut: fc.option(fc.nat(140), { nil: undefined, freq: 3 }),
      extraWire: fc.constantFrom(0, 0, 0, 1, 200),
      at: fc.constantFrom(0, 0, 5),
      flags: fc.constantFrom(TCP_ACK, TCP_ACK | 0x08, TCP_SYN, TCP_SYN | TCP_ACK, 0x11, 0x04, 0),
    });
    fc.assert(fc.property(arb, ({ b, mutate, cut, extraWire, at, flags }) => {
      runs++;
      const frame = build({ ...b, flags: b.udp ? b.flags : flags });
      if (mutate !== undefined && mutate[0] < frame.length) frame[mutate[0]] = mutate[1];
      const buf = new Uint8Array(at + frame.length + 3);
      buf.set(frame, at);
      const capLen = cut !== undefined && cut < frame.length ? cut : frame.length;
      const wireLen = frame.length + extraWire;
      const memo = new FrameFlowMemo();
      const flow = new Flow();
      assert.equal(memo.match(LinkType.Ethernet, buf, at, capLen, wireLen, out), null, 'nothing remembered yet');
      memo.remember(flow, false, 1);
      const took = decodeFastLane(buf, at, capLen, wireLen, TS, lane, { payloadView: false });
      // a record the decoder marks (malformed options) is damaged: the engine counts it in another flow
      const expected = took && lane.proto === IPPROTO_TCP && (lane.tcpFlags & TCP_SYN) === 0 && lane.flags === 0;
      out.reset();
      const found = memo.match(LinkType.Ethernet, buf, at, capLen, wireLen, out);
      assert.equal(found !== null, expected, `lane took it: ${took}, proto ${lane.proto}, TCP flags ${lane.tcpFlags}, record flags ${lane.flags}`);
      if (found === null) return;
      hits++;
      assert.equal(found, flow);
      assert.equal(memo.matchFromA, false);
      for (const k of FIELDS) assert.equal(out[k], lane[k], k);
      // and never for another link type
      assert.equal(memo.match(LinkType.Raw, buf, at, capLen, wireLen, out), null);
    }), { numRuns: 4000 });
    assert.ok(hits > runs / 10 && hits < runs, `frames found: ${hits} of ${runs}`);
  });

  it('forgets ended flows, keeps one key per entry, takes VLAN 0 as untagged, and drops its entries when it grows', () => {
    const memo = new FrameFlowMemo();
    const out = new DecodedPacket();
    const f1 = segment('10.0.0.1', '10.0.0.2', TCP_ACK);
    const match = (f: Uint8Array): Flow | null => memo.match(LinkType.Ethernet, f, 0, f.length, f.length, out);
    const a = new Flow();
    assert.equal(match(f1), null);
    memo.remember(a, true, 1);
    assert.equal(match(f1), a);
    assert.equal(memo.matchFromA, true);
    assert.equal(match(segment('10.0.0.1', '10.0.0.2', TCP_ACK, 0)), a, 'VLAN 0 keys as untagged, as the flow engine does');
    assert.equal(match(segment('10.0.0.1', '10.0.0.2', TCP_ACK, 7)), null, 'another VLAN is another key');
    assert.equal(match(segment('10.0.0.2', '10.0.0.1', TCP_ACK)), null, 'the other direction is another key');
    assert.equal(match(f1), a);
    assert.equal(match(segment('10.0.0.1', '10.0.0.2', TCP_SYN)), null, 'a SYN is never taken');
    a.alive = false;
    assert.equal(match(f1), null, 'an ended flow');
    const b = new Flow();
    memo.remember(b, false, 1);
    assert.equal(match(f1), b);
    assert.equal(memo.matchFromA, false);
    // remember() without a frame match() took before it stores nothing
    assert.equal(match(new Uint8Array(10)), null);
    memo.remember(new Flow(), true, 1);
    assert.equal(match(f1), b);
    // as the engine holds more flows the table doubles, empty
    const before = memo.capacity;
    memo.remember(new Flow(), true, before);
    assert.equal(memo.capacity, before * 2);
    assert.equal(match(f1), null);
    memo.remember(b, false, 1);
    assert.equal(match(f1), b);
  });
});
