// Zeek's per-endpoint TCP state machine as data: the transition of one segment, computed
// once for every combination of its inputs into a table that TcpConnection.process indexes.
// Why a table: V8 optimizes process() after a few hundred packets; a branch that had not run
// by then (the first FIN, RST, reversed handshake ...) threw the optimized code away and
// had it compiled again (8 compilations in a 2,000,000-packet import). A table lookup runs
// the same instructions for every segment, so the compiled code never meets an untried path.
// `transition` below is the readable rule (Zeek's TCP analyzer as documented); the table is
// that rule evaluated for each input.

export const enum TcpState {
  Inactive = 0,
  SynSent = 1,
  SynAckSent = 2,
  Partial = 3,
  Established = 4,
  Closed = 5,
  Reset = 6,
}

/** "unchanged" for a state or prevState in a transition's output (states are 0..6). */
export const PREV_UNCHANGED = 7;

/** The inputs of one transition, as bits of the table index. */
export const enum TIn {
  /** the sender's state: bits 0-2; the peer's state: bits 3-5 */
  PeerShift = 3,
  Syn = 1 << 6,
  Fin = 1 << 7,
  Rst = 1 << 8,
  Ack = 1 << 9,
  /** the sender is the originator */
  IsOrig = 1 << 10,
  /** no payload */
  NoData = 1 << 11,
  /** the peer's previous state was Closed */
  PeerPrevClosed = 1 << 12,
}

/** Fields of one transition's output (a Uint16). */
export const enum TOut {
  /** sender's new state: bits 0-2; its prevState (PREV_UNCHANGED: keep): bits 3-5 */
  PrevShift = 3,
  /** the peer's new state (PREV_UNCHANGED: keep): bits 6-8; its prevState: bits 9-11 */
  PeerShift = 6,
  PeerPrevShift = 9,
  /** originator and responder swap roles (a SYN-ACK was seen before its SYN) */
  Flip = 1 << 12,
  /** the sender closed (FIN or RST) */
  Close = 1 << 13,
  /** a RST after the sender's own FIN */
  ResetAfterClose = 1 << 14,
}

interface Side {
  state: number;
  prev: number;
}

function setState(e: Side, s: number): void {
  if (s !== e.state) {
    e.prev = e.state;
    e.state = s;
  }
}

/**
 * One segment's effect on the sender (`ep`) and its peer, Zeek's rules. Returns the TOut
 * fields. prevState is tracked through every intermediate change (a SYN+FIN goes through
 * SynSent to Closed), as the per-segment code did.
 */
export function transition(input: number): number {
  const ep: Side = { state: input & 7, prev: PREV_UNCHANGED };
  const peer: Side = { state: (input >> TIn.PeerShift) & 7, prev: PREV_UNCHANGED };
  const syn = (input & TIn.Syn) !== 0;
  const fin = (input & TIn.Fin) !== 0;
  const rst = (input & TIn.Rst) !== 0;
  const hasAck = (input & TIn.Ack) !== 0;
  const isOrig = (input & TIn.IsOrig) !== 0;
  const noData = (input & TIn.NoData) !== 0;
  const peerPrevClosed = (input & TIn.PeerPrevClosed) !== 0;
  let flip = false;
  let doClose = false;
  let resetAfterClose = false;
  switch (ep.state) {
    case TcpState.Inactive:
      if (syn) {
        if (isOrig) {
          setState(ep, hasAck ? TcpState.SynAckSent : TcpState.SynSent);
        } else {
          // a SYN-ACK seen before its SYN: the roles were the other way round. (The
          // sequence number check of Zeek's rule always holds here: an inactive sender's
          // SYN has just set its initial sequence number.)
          if (!hasAck && peer.state === TcpState.SynAckSent) {
            flip = true;
            setState(peer, TcpState.Established);
          }
          if (peer.state === TcpState.SynSent) setState(peer, TcpState.Established);
          setState(ep, TcpState.Established);
        }
      }
      if (fin) {
        setState(ep, TcpState.Closed);
        doClose = true;
      }
      if (rst) {
        setState(ep, TcpState.Reset);
        doClose = true;
      }
      if (ep.state === TcpState.Inactive) {
        if (!isOrig && noData && peer.state === TcpState.SynSent) {
          // some stacks ACK a SYN before answering it: not a partial connection
        } else if (hasAck && peer.state === TcpState.Established) {
          // SYN-ACK seen, its SYN missed: treat as established
          setState(ep, TcpState.Established);
        } else {
          setState(ep, TcpState.Partial);
        }
      }
      break;
    case TcpState.SynSent:
    case TcpState.SynAckSent:
      if (fin) {
        setState(ep, TcpState.Closed);
        doClose = true;
      }
      if (rst) {
        setState(ep, TcpState.Reset);
        doClose = true;
      }
      break;
    case TcpState.Established:
    case TcpState.Partial:
      if (syn && ep.state === TcpState.Partial && peer.state === TcpState.Inactive && !hasAck) {
        setState(ep, TcpState.SynSent);
      }
      if (fin && !rst) {
        setState(ep, TcpState.Closed);
        // a FIN then RST from the peer was a normal termination after all
        if (peer.state === TcpState.Reset && peerPrevClosed) setState(peer, TcpState.Closed);
        doClose = true;
      }
      if (rst) {
        setState(ep, TcpState.Reset);
        doClose = true;
      }
      break;
    case TcpState.Closed:
      // after our FIN: a RST only counts if the peer has not closed too
      if (rst && peer.state !== TcpState.Closed) {
        setState(ep, TcpState.Reset);
        doClose = true;
        resetAfterClose = true;
      }
      break;
    default:
      break;
  }
  const peerState = peer.prev === PREV_UNCHANGED ? PREV_UNCHANGED : peer.state;
  return ep.state | (ep.prev << TOut.PrevShift) | (peerState << TOut.PeerShift) | (peer.prev << TOut.PeerPrevShift) |
    (flip ? TOut.Flip : 0) | (doClose ? TOut.Close : 0) | (resetAfterClose ? TOut.ResetAfterClose : 0);
}

const PEER_STATE = 7 << TIn.PeerShift;

/**
 * The inputs each sender state depends on (a handshake side only on FIN and RST, a closed one
 * only on RST and the peer's state, ...). A segment's inputs are masked with its sender's
 * entry before the lookup, so the table needs only ~1,050 evaluations of `transition`
 * instead of 8,192 (start-up CPU); tcp-transitions.test.ts checks that no input is missed.
 */
export const RELEVANT_INPUTS = new Uint16Array([
  TIn.Syn | TIn.Fin | TIn.Rst | TIn.Ack | TIn.IsOrig | TIn.NoData | PEER_STATE, // Inactive
  TIn.Fin | TIn.Rst, // SynSent
  TIn.Fin | TIn.Rst, // SynAckSent
  TIn.Syn | TIn.Fin | TIn.Rst | TIn.Ack | TIn.PeerPrevClosed | PEER_STATE, // Partial
  TIn.Syn | TIn.Fin | TIn.Rst | TIn.Ack | TIn.PeerPrevClosed | PEER_STATE, // Established
  TIn.Rst | PEER_STATE, // Closed
  0, // Reset: nothing changes it
  0,
]);

/**
 * Transitions indexed by (inputs & RELEVANT_INPUTS[state]) | state, with state = inputs & 7
 * (8,192 slots, filled for the masked indexes only).
 */
export const TRANSITIONS: Uint16Array = (() => {
  const t = new Uint16Array(1 << 13);
  for (let st = 0; st < 8; st++) {
    const m = RELEVANT_INPUTS[st]!;
    // every subset of m, m first and 0 last
    for (let sub = m; ; sub = (sub - 1) & m) {
      t[sub | st] = transition(sub | st);
      if (sub === 0) break;
    }
  }
  return t;
})();
