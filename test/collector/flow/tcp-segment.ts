// A TCP segment as the connection tracker's tests write it, the packet record it becomes, and
// random conversations of them (fast-check).
import fc from 'fast-check';
import { PacketRecord, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../../shared/packet/packet-record.js';

export interface Segment {
  /** sent by side A (the first sender) */
  fromA: boolean;
  flags: number;
  seq: number;
  ack: number;
  len: number;
  window: number;
}

const shared = new PacketRecord();

/** The segment as a TCP packet record at `tsUs` (in `rec`, by default one record reused by every call). */
export function segmentRecord(s: Segment, tsUs: number, rec = shared): PacketRecord {
  rec.reset();
  rec.tsUs = tsUs;
  rec.proto = 6;
  rec.tcpFlags = s.flags;
  rec.tcpSeq = s.seq >>> 0;
  rec.tcpAck = s.ack >>> 0;
  rec.tcpWindow = s.window;
  rec.payloadLen = s.len;
  return rec;
}

/** One step of a conversation, its sequence numbers taken from what each side sent before. */
export interface Step {
  fromA: boolean;
  /** in order, resent, past a hole, anywhere (random), or behind what was sent */
  seqKind: 'next' | 'resend' | 'skip' | 'random' | 'behind';
  flags: number;
  len: number;
  window: number;
  /** acknowledges all the peer sent, less, more, or a random number */
  ackKind: 'all' | 'less' | 'more' | 'random';
  rnd: number;
}

export const stepArb: fc.Arbitrary<Step> = fc.record({
  fromA: fc.boolean(),
  seqKind: fc.constantFrom<Step['seqKind']>('next', 'next', 'next', 'next', 'next', 'resend', 'skip', 'random', 'behind'),
  flags: fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(TCP_ACK, TCP_PSH | TCP_ACK) },
    { weight: 2, arbitrary: fc.constantFrom(TCP_SYN, TCP_SYN | TCP_ACK, TCP_FIN | TCP_ACK, TCP_RST, TCP_RST | TCP_ACK) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 63 }) },
  ),
  len: fc.constantFrom(0, 0, 0, 1, 100, 1460),
  window: fc.constantFrom(0, 512, 65535, 65535, 65535, 65535),
  ackKind: fc.constantFrom<Step['ackKind']>('all', 'all', 'all', 'all', 'less', 'more', 'random'),
  rnd: fc.integer({ min: 0, max: 0xffffffff }),
});

export function conversation(steps: readonly Step[]): Segment[] {
  // ISNs near the int32 wrap, so sequence arithmetic wraps within a conversation
  const next = { a: 0x7fffff00 | 0, b: 1000 };
  return steps.map((s) => {
    const me = s.fromA ? 'a' : 'b';
    const peer = s.fromA ? 'b' : 'a';
    const base = next[me];
    let seq: number;
    switch (s.seqKind) {
      case 'next': seq = base; break;
      case 'resend': seq = (base - s.len) | 0; break;
      case 'skip': seq = (base + 1 + (s.rnd % 5000)) | 0; break;
      case 'behind': seq = (base - 1 - (s.rnd % 3000)) | 0; break;
      default: seq = s.rnd | 0;
    }
    const sent = s.len + ((s.flags & TCP_SYN) !== 0 ? 1 : 0) + ((s.flags & TCP_FIN) !== 0 ? 1 : 0);
    if (s.seqKind === 'next' || s.seqKind === 'skip') next[me] = (seq + sent) | 0;
    const all = next[peer];
    const ack = s.ackKind === 'all' ? all : s.ackKind === 'less' ? (all - 1 - (s.rnd % 2000)) | 0
      : s.ackKind === 'more' ? (all + 1 + (s.rnd % 2000)) | 0 : (s.rnd ^ 0x5a5a5a5a) | 0;
    return { fromA: s.fromA, flags: s.flags, seq, ack, len: s.len, window: s.window };
  });
}
