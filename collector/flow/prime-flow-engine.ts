// Type feedback for the flow engine before an import's first packet. V8 optimizes the engine's
// per-packet functions (add, the TCP state machine and history, the timers) with the feedback
// of the packets seen so far; the first packet to take a branch with none (the first FIN, RST,
// retransmission, IPv6 or ICMP packet, the first expiry, the first port reuse...) then
// deoptimizes them and every function they were inlined into, and V8 compiles them again. In a
// 2,000,000-packet import that was ~20 deoptimizations of the engine (--trace-deopt) and
// ~100 ms of recompilation on the main thread (docs/benchmarks.md). Running a short scripted
// exchange of each kind through a throwaway engine first, in the interpreter, gives every
// branch its feedback. The records are the import's own class (DecodedPacket), so no access
// site sees a second shape. The throwaway engine and its records are dropped; nothing reaches
// the caller's engine, store or statistics. Same idea as the decoder's fast lane
// (shared/decode/fast-lane.ts, primeFeedback).
import { DecodedPacket } from '../../shared/decode/decoded-packet.js';
import {
  FragFlag, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, RecordFlag,
} from '../../shared/packet/packet-record.js';
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import { FlowEngine } from './flow-engine.js';

/**
 * Rounds of the script. V8 gives a function its feedback vector only after it has run a while
 * (--interrupt-budget-for-feedback-allocation); until then its sites record nothing, so a
 * branch taken in one round only (a hole filled, a RST repeated) needs the later rounds.
 */
const ROUNDS = 6;

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;

interface Pkt {
  /** µs after the scenario's start */
  t: number;
  /** sent by the first endpoint (else by the second) */
  fromA: boolean;
  proto: number;
  flags?: number;
  seq?: number;
  ack?: number;
  len?: number;
  /** RecordFlag bits */
  rflags?: number;
  fragFlags?: number;
  fragOffset?: number;
  ipId?: number;
  /** ICMP type and code (sport, dport) */
  icmp?: [number, number];
}

interface Scenario {
  v6: boolean;
  portA: number;
  portB: number;
  pkts: Pkt[];
}

const tcp = (t: number, fromA: boolean, flags: number, seq: number, ack: number, len = 0): Pkt =>
  ({ t, fromA, proto: IPPROTO_TCP, flags, seq, ack, len });

/**
 * A handshake, data both ways, a retransmission and a skipped stretch, then FIN/FIN. Over IPv4
 * the skipped stretch is sent late (the hole fills); over IPv6 it never is (the ACK shows a gap).
 */
function tcpClose(v6: boolean): Scenario {
  const a = 0x7ffff000; // the originator's sequence numbers cross 2^31
  const b = 1000;
  const late = v6 ? [] : [tcp(710, false, PSH | ACK, b + 1401, a + 101, 700), tcp(720, false, PSH | ACK, b + 2101, a + 101, 2100)];
  return {
    v6, portA: 40000, portB: 443,
    pkts: [
      tcp(0, true, SYN, a, 0), tcp(100, false, SYN | ACK, b, a + 1), tcp(200, true, ACK, a + 1, b + 1),
      tcp(300, true, PSH | ACK, a + 1, b + 1, 100), tcp(400, false, ACK, b + 1, a + 101),
      tcp(500, false, PSH | ACK, b + 1, a + 101, 1400), tcp(600, false, PSH | ACK, b + 1, a + 101, 1400),
      tcp(700, false, PSH | ACK, b + 4201, a + 101, 1400), ...late, tcp(800, true, ACK, a + 101, b + 5601),
      tcp(900, true, FIN | ACK, a + 101, b + 5601), tcp(950, true, FIN | ACK, a + 101, b + 5601), tcp(1000, false, FIN | ACK, b + 5601, a + 102),
      tcp(1100, true, ACK, a + 102, b + 5602),
    ],
  };
}

/** Every other way a TCP conversation goes: refused, reset, probed, seen from its middle. */
function tcpOthers(): Scenario[] {
  return [
    // refused: SYN, RST-ACK; then the port pair reused with another sequence number
    { v6: false, portA: 40001, portB: 23, pkts: [tcp(0, true, SYN, 5, 0), tcp(10, false, RST | ACK, 0, 6), tcp(20, true, SYN, 9000, 0), tcp(30, false, SYN | ACK, 77, 9001)] },
    // an attempt nobody answers (the attempt timer), a SYN repeated
    { v6: false, portA: 40002, portB: 8080, pkts: [tcp(0, true, SYN, 5, 0), tcp(1_000_000, true, SYN, 5, 0)] },
    // reset mid-connection, then a FIN and a RST from the other side after a close
    { v6: false, portA: 40003, portB: 80, pkts: [tcp(0, true, SYN, 1, 0), tcp(5, false, SYN | ACK, 2, 2), tcp(6, true, ACK, 2, 3),
      tcp(7, true, FIN | ACK, 2, 3), tcp(8, false, RST, 3, 0), tcp(9, true, RST | FIN, 3, 0), tcp(10, false, RST, 40, 0)] },
    // multi-flag probes, a SYN-ACK first (the roles flip), a mid-stream start from a server port
    { v6: false, portA: 40004, portB: 22, pkts: [tcp(0, false, SYN | ACK, 50, 11), tcp(3, true, SYN | FIN | PSH, 10, 0), tcp(4, true, ACK, 11, 51)] },
    { v6: false, portA: 443, portB: 40005, pkts: [tcp(0, true, PSH | ACK, 7000, 300, 200), tcp(1, true, SYN, 7200, 0), tcp(5, false, ACK, 300, 7200), tcp(6, true, FIN | ACK, 7200, 300), tcp(7, false, RST, 300, 0)] },
    // a SYN-ACK whose SYN was missed, data, an ACK beyond all the peer sent, then a SYN again on
    // the established endpoint
    { v6: true, portA: 40006, portB: 993, pkts: [tcp(0, false, SYN | ACK, 100, 201), tcp(2, true, ACK, 201, 101), tcp(3, true, PSH | ACK, 201, 101, 10),
      tcp(4, true, ACK, 211, 5000), tcp(5, true, SYN, 9999, 0)] },
    // seen from its middle between two client ports, then the sender's SYN with the sequence
    // number the middle implied
    { v6: false, portA: 40007, portB: 40008, pkts: [tcp(0, true, PSH | ACK, 7000, 300, 20), tcp(1, true, SYN, 6999, 0)] },
  ];
}

/** UDP both ways (and from a server port first), ICMP echo and unreachable, fragments, damage. */
function datagrams(): Scenario[] {
  const udp = (t: number, fromA: boolean, len: number, extra: Partial<Pkt> = {}): Pkt => ({ t, fromA, proto: IPPROTO_UDP, len, ...extra });
  return [
    { v6: false, portA: 5353, portB: 53, pkts: [udp(0, true, 40), udp(10, false, 120)] },
    { v6: false, portA: 53, portB: 33000, pkts: [udp(0, true, 90), udp(10, false, 30)] },
    { v6: true, portA: 546, portB: 547, pkts: [udp(0, true, 60)] },
    {
      v6: false, portA: 40010, portB: 4500, pkts: [
        udp(0, true, 3000, { fragFlags: FragFlag.MoreFragments, ipId: 77 }),
        { t: 1, fromA: true, proto: IPPROTO_UDP, len: 0, fragOffset: 185, ipId: 77, rflags: RecordFlag.Fragment },
        { t: 2, fromA: true, proto: IPPROTO_UDP, len: 0, fragOffset: 370, ipId: 78, rflags: RecordFlag.Fragment },
        udp(3, true, 20, { rflags: RecordFlag.Truncated }),
      ],
    },
    { v6: false, portA: 0, portB: 0, pkts: [{ t: 0, fromA: true, proto: IPPROTO_ICMP, icmp: [8, 0], len: 56 }, { t: 5, fromA: false, proto: IPPROTO_ICMP, icmp: [0, 0], len: 56 }, { t: 9, fromA: false, proto: IPPROTO_ICMP, icmp: [3, 3], len: 28 }] },
    { v6: true, portA: 0, portB: 0, pkts: [{ t: 0, fromA: true, proto: IPPROTO_ICMPV6, icmp: [128, 0], len: 56 }, { t: 5, fromA: false, proto: IPPROTO_ICMPV6, icmp: [129, 0], len: 56 }] },
    { v6: false, portA: 0, portB: 0, pkts: [{ t: 0, fromA: true, proto: 47, len: 100 }] },
  ];
}

function fill(rec: DecodedPacket, s: Scenario, n: number, p: Pkt, t0: number): void {
  rec.reset();
  rec.tsUs = t0 + p.t;
  rec.ipVersion = s.v6 ? 6 : 4;
  // documentation addresses (192.0.2.0/24, 2001:db8::/32), one pair per scenario
  const src = rec.src;
  const dst = rec.dst;
  const [from, to] = p.fromA ? [1, 2] : [2, 1];
  if (s.v6) {
    src[0] = 0x20; src[1] = 0x01; src[2] = 0x0d; src[3] = 0xb8; src[14] = n; src[15] = from;
    dst[0] = 0x20; dst[1] = 0x01; dst[2] = 0x0d; dst[3] = 0xb8; dst[14] = n; dst[15] = to;
  } else {
    src[0] = 192; src[1] = 0; src[2] = n; src[3] = from;
    dst[0] = 192; dst[1] = 0; dst[2] = n; dst[3] = to;
  }
  rec.proto = p.proto;
  if (p.icmp !== undefined) {
    rec.sport = p.icmp[0];
    rec.dport = p.icmp[1];
  } else if ((p.rflags ?? 0) & RecordFlag.Fragment && (p.fragOffset ?? 0) > 0) {
    rec.sport = 0;
    rec.dport = 0;
  } else {
    rec.sport = p.fromA ? s.portA : s.portB;
    rec.dport = p.fromA ? s.portB : s.portA;
  }
  const len = p.len ?? 0;
  const headers = (s.v6 ? 40 : 20) + (p.proto === IPPROTO_TCP ? 32 : p.proto === IPPROTO_UDP ? 8 : 8);
  rec.payloadLen = len;
  rec.ipLen = headers + len;
  rec.wireLen = rec.ipLen + 14;
  rec.ttl = 64;
  rec.ipId = p.ipId ?? 1;
  rec.fragFlags = p.fragFlags ?? 0;
  rec.fragOffset = p.fragOffset ?? 0;
  rec.flags = (p.rflags ?? 0) | (p.fragFlags !== undefined ? RecordFlag.Fragment : 0);
  rec.tcpFlags = p.flags ?? 0;
  rec.tcpSeq = (p.seq ?? 0) >>> 0;
  rec.tcpAck = (p.ack ?? 0) >>> 0;
  rec.tcpWindow = 64240;
}

/**
 * Runs the scripted exchanges through a throwaway engine ROUNDS times, one after the other in
 * packet time; a long-lived datagram flow at the start of each round moves the clock past every
 * attempt, close, idle and active deadline of the round before, so each timer path runs; the
 * last round's flows are then flushed. ~600 packets in the interpreter: a few milliseconds. `onRecord` sees the
 * throwaway engine's records (for tests: test/collector/prime-flow-engine.test.ts).
 */
export function primeFlowEngine(onRecord: (rec: FlowRecord) => void = () => undefined): void {
  const engine = new FlowEngine({ agentId: 'prime', onRecord, onAppRecord: () => undefined, uidPrefix: 'P.' });
  const longLived: Scenario = {
    v6: false, portA: 123, portB: 123,
    pkts: [{ t: 0, fromA: true, proto: IPPROTO_UDP, len: 48 }, { t: 61_000_000, fromA: false, proto: IPPROTO_UDP, len: 48 },
      { t: 400_000_000, fromA: true, proto: IPPROTO_UDP, len: 48 }],
  };
  // the long-lived flow first: in the second round its packets expire the first round's flows,
  // and the second round's flows are still open (an attempt among them) when they are flushed
  const scenarios = [longLived, tcpClose(false), tcpClose(true), ...tcpOthers(), ...datagrams()];
  const rec = new DecodedPacket();
  let clock = 1_000_000;
  for (let round = 0; round < ROUNDS; round++) {
    for (let n = 0; n < scenarios.length; n++) {
      const s = scenarios[n]!;
      for (const p of s.pkts) {
        fill(rec, s, n + 1, p, clock);
        engine.add(rec);
      }
      clock += 10_000 + s.pkts[s.pkts.length - 1]!.t;
    }
  }
  engine.flushAll();
}
