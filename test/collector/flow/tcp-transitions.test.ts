// The TCP transition table: the masked table answers as the rule for every one of the 8,192
// inputs, each of Zeek's transitions by name, and invariants of all outputs (fast-check).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  PREV_UNCHANGED, RELEVANT_INPUTS, TcpState, TIn, TOut, TRANSITIONS, transition,
} from '../../../collector/flow/tcp-transitions.js';

interface Out {
  state: number;
  prev: number;
  peer: number;
  peerPrev: number;
  flip: boolean;
  close: boolean;
  resetAfterClose: boolean;
}

function decode(t: number): Out {
  return {
    state: t & 7, prev: (t >> TOut.PrevShift) & 7, peer: (t >> TOut.PeerShift) & 7, peerPrev: (t >> TOut.PeerPrevShift) & 7,
    flip: (t & TOut.Flip) !== 0, close: (t & TOut.Close) !== 0, resetAfterClose: (t & TOut.ResetAfterClose) !== 0,
  };
}

/** An output with "unchanged" resolved against the input's peer state. */
function resolve(t: number, input: number): Out {
  const o = decode(t);
  if (o.peer === PREV_UNCHANGED) o.peer = (input >> TIn.PeerShift) & 7;
  return o;
}

/** The table's answer, looked up as TcpConnection.process looks it up. */
function lookup(input: number): Out {
  const st = input & 7;
  return resolve(TRANSITIONS[(input & RELEVANT_INPUTS[st]!) | st]!, input);
}

interface Seg { syn?: boolean; fin?: boolean; rst?: boolean; ack?: boolean; orig?: boolean; data?: boolean; peerPrevClosed?: boolean }

function input(st: TcpState, peer: TcpState, s: Seg): number {
  return st | (peer << TIn.PeerShift) | (s.syn ? TIn.Syn : 0) | (s.fin ? TIn.Fin : 0) | (s.rst ? TIn.Rst : 0) |
    (s.ack ? TIn.Ack : 0) | (s.orig ? TIn.IsOrig : 0) | (s.data ? 0 : TIn.NoData) | (s.peerPrevClosed ? TIn.PeerPrevClosed : 0);
}

const U = PREV_UNCHANGED;


describe('tcp-transitions: the table', () => {
  it('answers as the rule for all 8,192 inputs (no relevant input masked away)', () => {
    for (let i = 0; i < 1 << 13; i++) {
      if ((i & 7) === 7 || ((i >> TIn.PeerShift) & 7) === 7) continue; // no state 7
      assert.deepEqual(lookup(i), resolve(transition(i), i), `input ${i.toString(2)}`);
    }
  });

  const cases: Array<[string, number, Partial<Out>]> = [
    ['originator SYN: Inactive -> SynSent', input(TcpState.Inactive, TcpState.Inactive, { syn: true, orig: true }),
      { state: TcpState.SynSent, prev: TcpState.Inactive, peer: TcpState.Inactive, close: false }],
    ['originator SYN-ACK: Inactive -> SynAckSent', input(TcpState.Inactive, TcpState.Inactive, { syn: true, ack: true, orig: true }),
      { state: TcpState.SynAckSent, prev: TcpState.Inactive }],
    ['responder SYN-ACK after a SYN: both Established', input(TcpState.Inactive, TcpState.SynSent, { syn: true, ack: true }),
      { state: TcpState.Established, peer: TcpState.Established, peerPrev: TcpState.SynSent, flip: false }],
    ['responder SYN after the originator\'s SYN-ACK: roles flip, both Established', input(TcpState.Inactive, TcpState.SynAckSent, { syn: true }),
      { state: TcpState.Established, peer: TcpState.Established, peerPrev: TcpState.SynAckSent, flip: true }],
    ['responder bare ACK of a SYN: stays Inactive', input(TcpState.Inactive, TcpState.SynSent, { ack: true }),
      { state: TcpState.Inactive, prev: U, peer: TcpState.SynSent, peerPrev: U }],
    ['responder ACK with data after a SYN: Partial', input(TcpState.Inactive, TcpState.SynSent, { ack: true, data: true }),
      { state: TcpState.Partial, prev: TcpState.Inactive }],
    ['ACK after the peer is Established (its SYN missed): Established', input(TcpState.Inactive, TcpState.Established, { ack: true, orig: true }),
      { state: TcpState.Established }],
    ['mid-stream data: Inactive -> Partial', input(TcpState.Inactive, TcpState.Inactive, { ack: true, data: true, orig: true }),
      { state: TcpState.Partial }],
    ['FIN first: Inactive -> Closed', input(TcpState.Inactive, TcpState.Inactive, { fin: true, ack: true, orig: true }),
      { state: TcpState.Closed, close: true }],
    ['SYN+FIN: through SynSent to Closed', input(TcpState.Inactive, TcpState.Inactive, { syn: true, fin: true, orig: true }),
      { state: TcpState.Closed, prev: TcpState.SynSent, close: true }],
    ['SYN+FIN+RST: through SynSent and Closed to Reset', input(TcpState.Inactive, TcpState.Inactive, { syn: true, fin: true, rst: true, orig: true }),
      { state: TcpState.Reset, prev: TcpState.Closed, close: true }],
    ['RST answering a SYN: Inactive -> Reset', input(TcpState.Inactive, TcpState.SynSent, { rst: true, ack: true }),
      { state: TcpState.Reset, prev: TcpState.Inactive, close: true }],
    ['SynSent FIN: Closed', input(TcpState.SynSent, TcpState.Inactive, { fin: true, orig: true }), { state: TcpState.Closed, prev: TcpState.SynSent, close: true }],
    ['SynAckSent RST: Reset', input(TcpState.SynAckSent, TcpState.Inactive, { rst: true }), { state: TcpState.Reset, prev: TcpState.SynAckSent, close: true }],
    ['SynSent data: unchanged', input(TcpState.SynSent, TcpState.Inactive, { ack: true, data: true, orig: true }), { state: TcpState.SynSent, prev: U, close: false }],
    ['Partial SYN while the peer never spoke: SynSent', input(TcpState.Partial, TcpState.Inactive, { syn: true, orig: true }),
      { state: TcpState.SynSent, prev: TcpState.Partial }],
    ['Partial SYN-ACK: unchanged', input(TcpState.Partial, TcpState.Inactive, { syn: true, ack: true }), { state: TcpState.Partial, prev: U }],
    ['Established SYN: unchanged', input(TcpState.Established, TcpState.Inactive, { syn: true }), { state: TcpState.Established, prev: U }],
    ['Established FIN: Closed', input(TcpState.Established, TcpState.Established, { fin: true, ack: true }),
      { state: TcpState.Closed, prev: TcpState.Established, close: true, peer: TcpState.Established, peerPrev: U }],
    ['FIN after the peer\'s FIN-then-RST: the peer counts as Closed', input(TcpState.Established, TcpState.Reset, { fin: true, ack: true, peerPrevClosed: true }),
      { state: TcpState.Closed, peer: TcpState.Closed, peerPrev: TcpState.Reset, close: true }],
    ['FIN after a plain RST of the peer: the peer stays Reset', input(TcpState.Established, TcpState.Reset, { fin: true, ack: true }),
      { state: TcpState.Closed, peer: TcpState.Reset, peerPrev: U }],
    ['Established FIN+RST: Reset, not Closed', input(TcpState.Established, TcpState.Established, { fin: true, rst: true }),
      { state: TcpState.Reset, prev: TcpState.Established, close: true }],
    ['Partial RST: Reset', input(TcpState.Partial, TcpState.Partial, { rst: true }), { state: TcpState.Reset, prev: TcpState.Partial, close: true }],
    ['RST after our FIN, peer open: Reset, reset after close', input(TcpState.Closed, TcpState.Established, { rst: true }),
      { state: TcpState.Reset, prev: TcpState.Closed, close: true, resetAfterClose: true }],
    ['RST after both FINs: ignored', input(TcpState.Closed, TcpState.Closed, { rst: true }), { state: TcpState.Closed, prev: U, close: false, resetAfterClose: false }],
    ['Closed data: unchanged', input(TcpState.Closed, TcpState.Established, { ack: true, data: true }), { state: TcpState.Closed, prev: U }],
    ['Reset: nothing changes it', input(TcpState.Reset, TcpState.Established, { syn: true, fin: true, ack: true }),
      { state: TcpState.Reset, prev: U, peer: TcpState.Established, peerPrev: U, close: false }],
  ];
  for (const [name, inp, want] of cases) {
    it(name, () => {
      const got = lookup(inp);
      for (const [k, v] of Object.entries(want)) assert.equal(got[k as keyof Out], v, `${name}: ${k}`);
    });
  }

  it('invariants of every output (fast-check)', () => {
    const state = fc.integer({ min: 0, max: 6 });
    fc.assert(fc.property(state, state, fc.integer({ min: 0, max: 127 }), (st, peer, rest) => {
      const inp = st | (peer << TIn.PeerShift) | (rest << 6);
      const o = lookup(inp);
      assert.ok(o.state <= 6 && o.peer <= 6);
      // a recorded prevState is a real change
      if (o.prev !== U) assert.notEqual(o.prev, o.state);
      if (o.prev === U) assert.equal(o.state, st);
      if (o.peerPrev === U) assert.equal(o.peer, peer);
      // closing needs a FIN or RST and ends Closed or Reset
      if (o.close) {
        assert.ok((inp & (TIn.Fin | TIn.Rst)) !== 0);
        assert.ok(o.state === TcpState.Closed || o.state === TcpState.Reset);
      }
      // only a responder's first SYN (no ACK) against an originator's SYN-ACK flips
      if (o.flip) assert.ok(st === TcpState.Inactive && peer === TcpState.SynAckSent && (inp & TIn.Syn) !== 0 && (inp & (TIn.Ack | TIn.IsOrig)) === 0);
      // Reset is final; nothing returns to Inactive
      if (st === TcpState.Reset) assert.equal(o.state, TcpState.Reset);
      if (st !== TcpState.Inactive) assert.notEqual(o.state, TcpState.Inactive);
      if (o.resetAfterClose) assert.ok(st === TcpState.Closed && o.state === TcpState.Reset);
    }), { numRuns: 2000 });
  });
});
