// TcpConnection, segment by segment: hand-written conversations that reach each of Zeek's
// state transitions (the history letters show which path was taken), and invariants over
// random conversations (fast-check).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../../shared/packet/packet-record.js';
import { ConnHistory } from '../../../collector/flow/conn-history.js';
import { TcpAction, TcpConnection, TcpState } from '../../../collector/flow/tcp-connection.js';
import { segmentRecord, type Segment } from './tcp-segment.js';


/**
 * Feeds the conversation to a TcpConnection (side A originates unless aIsOrig is false; a
 * Flipped action swaps the roles, as the flow engine does) and checks invariants after every
 * segment; returns the history.
 */
function run(segments: readonly Segment[], aIsOrig = true): string {
  const c = new TcpConnection(new ConnHistory());
  let aOrig = aIsOrig;
  segments.forEach((s, i) => {
    const at = `segment ${i} ${JSON.stringify(s)}`;
    const closedBefore = c.isClosed();
    const action = c.process(s.fromA === aOrig, segmentRecord(s, 1_700_000_000_000_000 + i * 1000));
    if ((action & TcpAction.Flipped) !== 0) aOrig = !aOrig;
    assert.equal(action & ~7, 0, `only TcpAction bits, ${at}`);
    for (const e of [c.orig, c.resp]) {
      assert.ok(e.state >= TcpState.Inactive && e.state <= TcpState.Reset, at);
      assert.ok(e.retransmits >= 0 && e.zeroWindows >= 0 && e.gaps >= 0, at);
    }
    // a side that closed stays closed; only Zeek's letters
    if (closedBefore) assert.ok(c.isClosed(), at);
    assert.match(c.history.text, /^[\^SsHhAaDdFfRrIiQqTtWwGg]*$/, at);
  });
  return c.history.text;
}

const ISN_A = 1000;
const ISN_B = 0x7fffff00; // wraps past int32 within a few segments

const segmentArb: fc.Arbitrary<Segment> = fc.record({
  fromA: fc.boolean(),
  // SYN, FIN, RST, PSH and ACK in any mix, ACK-only and PSH|ACK more often
  flags: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(TCP_ACK, TCP_PSH | TCP_ACK) },
    { weight: 2, arbitrary: fc.constantFrom(TCP_SYN, TCP_SYN | TCP_ACK, TCP_FIN | TCP_ACK, TCP_RST, TCP_RST | TCP_ACK) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 31 }) },
  ),
  seqOff: fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: -2, max: 4000 }) },
    { weight: 1, arbitrary: fc.integer({ min: -2_000_000, max: 2_000_000 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) },
  ),
  ackOff: fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: -2, max: 4000 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) },
  ),
  len: fc.constantFrom(0, 0, 1, 100, 1000),
  window: fc.constantFrom(0, 65535, 65535),
}).map((g) => {
  const own = g.fromA ? ISN_A : ISN_B;
  const other = g.fromA ? ISN_B : ISN_A;
  return { fromA: g.fromA, flags: g.flags, seq: (own + g.seqOff) | 0, ack: (other + g.ackOff) | 0, len: g.len, window: g.window };
});

/** A consistent conversation: each side's next sequence number follows what it sent. */
function script(steps: Array<[boolean, number, number?]>, opts: { window?: (i: number) => number; resend?: number[] } = {}): Segment[] {
  const next = { a: ISN_A, b: ISN_B };
  const out: Segment[] = [];
  steps.forEach(([fromA, flags, len = 0], i) => {
    const me = fromA ? 'a' : 'b';
    const other = fromA ? 'b' : 'a';
    const resend = opts.resend?.includes(i) ?? false;
    const seq = resend ? next[me] - len : next[me];
    out.push({ fromA, flags, seq, ack: (flags & TCP_ACK) !== 0 ? next[other] : 0, len, window: opts.window?.(i) ?? 65535 });
    if (!resend) next[me] = (next[me] + len + ((flags & TCP_SYN) !== 0 ? 1 : 0) + ((flags & TCP_FIN) !== 0 ? 1 : 0)) | 0;
  });
  return out;
}

const A = true;
const B = false;
const SA = TCP_SYN | TCP_ACK;
const PA = TCP_PSH | TCP_ACK;
const FA = TCP_FIN | TCP_ACK;
const RA = TCP_RST | TCP_ACK;

describe('TcpConnection', () => {
  it('keeps its invariants on random conversations (fast-check)', () => {
    fc.assert(fc.property(fc.array(segmentArb, { minLength: 1, maxLength: 40 }), (segs) => { run(segs); }),
      { numRuns: 1000 });
  });

  // Hand-written conversations: each reaches transitions of Zeek's state machine that random
  // segments hit only rarely; the expected history (Zeek's letters) shows the path was taken.
  // [name, segments, history, side A originates (default true)]
  const cases: Array<[string, Segment[], string, boolean?]> = [
    ['handshake, data, FIN both ways (SynSent/SynAckSent -> Established -> Closed)',
      script([[A, TCP_SYN], [B, SA], [A, TCP_ACK], [A, PA, 100], [B, PA, 50], [A, FA], [B, FA], [A, TCP_ACK]]), 'ShADdFf'],
    ['SYN answered by RST (Inactive -> Reset)', script([[A, TCP_SYN], [B, RA]]), 'Sr'],
    ['SYN-ACK before its SYN: roles flip', script([[B, SA], [A, TCP_SYN], [A, TCP_ACK]]), 'Hs^A', false],
    ['mid-stream: data without a handshake (Inactive -> Partial)', script([[A, PA, 100], [B, TCP_ACK], [B, PA, 10]]), 'Dad'],
    ['ACK of a SYN before the SYN-ACK (stays Inactive)', script([[A, TCP_SYN], [B, TCP_ACK], [B, SA], [A, TCP_ACK]]), 'SahA'],
    ['SYN-ACK whose SYN was missed, then the originator ACKs (Inactive -> Established)',
      script([[B, SA], [A, TCP_ACK], [A, PA, 10]]), 'hAD'],
    ['Partial side sends a SYN while the peer never spoke (Partial -> SynSent)',
      [{ fromA: A, flags: PA, seq: ISN_A, ack: 0, len: 10, window: 65535 }, { fromA: A, flags: TCP_SYN, seq: ISN_A + 500, ack: 0, len: 0, window: 65535 }], 'DS'],
    ['FIN then RST from one side, peer FIN (Reset -> Closed for the peer)',
      script([[A, TCP_SYN], [B, SA], [A, TCP_ACK], [A, FA], [A, RA], [B, FA]]), 'ShAFRf'],
    ['RST after our own FIN (Closed -> Reset, reset after close)',
      script([[A, TCP_SYN], [B, SA], [A, TCP_ACK], [A, FA], [A, TCP_RST]]), 'ShAFR'],
    ['RST after both FINs is ignored', script([[A, TCP_SYN], [B, SA], [A, TCP_ACK], [A, FA], [B, FA], [A, TCP_RST]]), 'ShAFfR'],
    ['SYN+FIN in one segment (SynSent then Closed: prevState SynSent)', script([[A, TCP_SYN | TCP_FIN], [B, RA]]), 'Qr'],
    ['FIN+RST and other flag mixes (I, Q)', script([[A, TCP_SYN], [B, SA], [A, TCP_FIN | TCP_RST], [B, TCP_SYN | TCP_FIN | TCP_ACK]]), 'ShIq'],
    ['retransmissions: T at the 1st and 10th', script([[A, TCP_SYN], [B, SA], [A, TCP_ACK], ...Array.from({ length: 11 }, (): [boolean, number, number] => [A, PA, 100])],
      { resend: [4, 5, 6, 7, 8, 9, 10, 11, 12, 13] }), 'ShADTT'],
    ['zero windows: W, then w', script([[A, TCP_SYN], [B, SA], [A, TCP_ACK], [B, TCP_ACK], [A, PA, 10], [B, TCP_ACK]], { window: (i) => (i >= 3 ? 0 : 65535) }), 'ShAawDW'],
    ['a hole filled later, and an ACK beyond what was seen (G)',
      [...script([[A, TCP_SYN], [B, SA], [A, TCP_ACK]]),
        { fromA: A, flags: PA, seq: ISN_A + 201, ack: ISN_B + 1, len: 100, window: 65535 },
        { fromA: B, flags: TCP_ACK, seq: ISN_B + 1, ack: ISN_A + 301, len: 0, window: 65535 },
        { fromA: A, flags: PA, seq: ISN_A + 1, ack: ISN_B + 1, len: 100, window: 65535 },
        { fromA: A, flags: PA, seq: ISN_A + 101, ack: ISN_B + 1, len: 100, window: 65535 },
        { fromA: B, flags: TCP_ACK, seq: ISN_B + 1, ack: ISN_A + 5000, len: 0, window: 65535 }], 'ShADaGT'],
    ['a SYN with a new sequence number repeats S; a RST after RST with a new one repeats R',
      [{ fromA: A, flags: TCP_SYN, seq: 5, ack: 0, len: 0, window: 65535 }, { fromA: A, flags: TCP_SYN, seq: 9, ack: 0, len: 0, window: 65535 },
        { fromA: B, flags: TCP_RST, seq: 70, ack: 0, len: 0, window: 65535 }, { fromA: B, flags: TCP_RST, seq: 90, ack: 0, len: 0, window: 65535 }], 'Srr'],
    ['segment with no flags and no data: no letter', [{ fromA: A, flags: 0, seq: 5, ack: 0, len: 0, window: 65535 }], ''],
  ];
  for (const [name, segs, history, aIsOrig] of cases) {
    it(`${name}: ${history === '' ? 'no letters' : history}`, () => {
      assert.equal(run(segs, aIsOrig), history);
    });
  }

});
