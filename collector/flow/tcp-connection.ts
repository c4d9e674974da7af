// TCP connection tracking with Zeek's semantics: the per-endpoint state machine
// (INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET), history
// letters, retransmission and zero-window detection by sequence numbers, and the
// handshake round-trip times. Pure logic, fed one segment at a time; the flow engine
// owns timers and counters and acts on the returned TcpAction bits.
// Reimplemented from Zeek's documented behaviour (TCP session adapter and conn.log docs).
// Sequence numbers are kept as int32 (x | 0): compared only for equality and through
// signed 32-bit differences, and small integers never need a heap box.
// process() is written to run the same instructions for every segment: conditions are
// computed as 0/1 numbers, decisions are table lookups (tcp-transitions.ts, the history
// tables below) and fields are written back whether or not they changed. A branch that
// only a rare segment takes (the first FIN, RST, retransmission, zero window ...) would
// have had no type feedback when V8 optimized process(), and taking it would throw the
// optimized code away (it was compiled 8 times in a 2,000,000-packet import).
import type { PacketRecord } from '../../shared/packet/packet-record.js';
import { ConnHistory, HistBit } from './conn-history.js';
import { bit } from './bit.js';
import { PREV_UNCHANGED, RELEVANT_INPUTS, TcpState, TIn, TOut, TRANSITIONS } from './tcp-transitions.js';

/** Bits returned by TcpConnection.process. */
export const enum TcpAction {
  None = 0,
  /** both directions are done (or one reset): the flow ends after the close delay */
  CloseComplete = 1 << 0,
  /** a RST followed an earlier FIN from the same side: the flow ends after the reset delay */
  ResetAfterClose = 1 << 1,
  /** the roles were flipped while processing (SYN / SYN-ACK reversal) */
  Flipped = 1 << 2,
}

/** Larger sequence jumps on SYN/RST are not trusted (Zeek's TOO_LARGE_SEQ_DELTA). */
const TOO_LARGE_SEQ_DELTA = 1048576;

/** Signed 32-bit difference a - b of two sequence numbers. */
function seqDelta(a: number, b: number): number {
  return (a - b) | 0;
}

/** The next threshold of a logarithmic history counter (1, 10, 100, ...), kept within int32. */
function nextThreshold(threshold: number): number {
  const next = threshold * 10;
  return next > 0x7fffffff ? threshold : next;
}

/**
 * The once-per-direction history letter of a segment, by its kind: index syn | fin << 1 |
 * rst << 2 | ack << 3 | data << 4. Zeek's rules: more than one of SYN/FIN/RST gives 'I'
 * (FIN+RST) or 'Q'; exactly one gives S/H (SYN without/with ACK), F or R, which repeat when
 * their sequence number differs from the last one of that kind; none gives D (payload) or A
 * (a bare ACK); a segment with none of these gives no letter.
 */
const enum Repeat { None = 0, Syn = 1, Fin = 2, Rst = 3 }

const HIST_BIT = new Uint8Array(32);
const HIST_REPEAT = new Uint8Array(32);
/** [kind * 2 + isOrig]: the letter ('' for none) */
const HIST_LETTER: string[] = new Array<string>(64).fill('');
for (let k = 0; k < 32; k++) {
  const syn = (k & 1) !== 0;
  const fin = (k & 2) !== 0;
  const rst = (k & 4) !== 0;
  const ack = (k & 8) !== 0;
  const data = (k & 16) !== 0;
  const flagCount = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0);
  let b = 0;
  let upper = '';
  let repeat = Repeat.None;
  if (flagCount > 1) {
    if (fin && rst) { b = HistBit.FinRst; upper = 'I'; } else { b = HistBit.MultiFlag; upper = 'Q'; }
  } else if (syn) {
    b = HistBit.Syn; upper = ack ? 'H' : 'S'; repeat = Repeat.Syn;
  } else if (fin) {
    b = HistBit.Fin; upper = 'F'; repeat = Repeat.Fin;
  } else if (rst) {
    b = HistBit.Rst; upper = 'R'; repeat = Repeat.Rst;
  } else if (data) {
    b = HistBit.Data; upper = 'D';
  } else if (ack) {
    b = HistBit.Ack; upper = 'A';
  }
  HIST_BIT[k] = b;
  HIST_REPEAT[k] = repeat;
  HIST_LETTER[k * 2 + 1] = upper;
  HIST_LETTER[k * 2] = upper.toLowerCase();
}

/** Letters a segment can add after its own, in this order, as bits of the RARE_LETTERS index. */
const enum Rare { ZeroWindow = 1, Retransmit = 2, Flip = 4, Gap = 8, SenderIsOrig = 16, GapByOrig = 32 }

/** [Rare bits]: W/w, T/t (case by the sender), '^', G/g (case by the side that skipped). */
const RARE_LETTERS: string[] = new Array<string>(64).fill('');
for (let i = 0; i < 64; i++) {
  const byOrig = (i & Rare.SenderIsOrig) !== 0;
  let t = '';
  if ((i & Rare.ZeroWindow) !== 0) t += byOrig ? 'W' : 'w';
  if ((i & Rare.Retransmit) !== 0) t += byOrig ? 'T' : 't';
  if ((i & Rare.Flip) !== 0) t += '^';
  if ((i & Rare.Gap) !== 0) t += (i & Rare.GapByOrig) !== 0 ? 'G' : 'g';
  RARE_LETTERS[i] = t;
}

/** Rules for (re)starting an endpoint's sequence numbers by its state (tcp: initEndpoint). */
const enum Init { Always = 1, OnSyn = 2, OnNewSyn = 4, OnSynAfterInactive = 8 }
const INIT_RULE = new Uint8Array([
  Init.Always, // Inactive: without a SYN, numbered as though one preceded this segment
  Init.OnNewSyn, // SynSent
  Init.OnNewSyn, // SynAckSent
  Init.OnSyn, // Partial
  Init.OnSyn, // Established
  0, // Closed
  Init.OnSynAfterInactive, // Reset
  0,
]);

class TcpEndpoint {
  state: TcpState = TcpState.Inactive;
  prevState: TcpState = TcpState.Inactive;
  startSeq = 0;
  lastSeq = 0;
  didClose = false;
  finCount = 0;
  histLastSyn = 0;
  histLastFin = 0;
  histLastRst = 0;
  /** retransmitted segments with payload (all of them; the history letter is logarithmic) */
  retransmits = 0;
  retransmitThreshold = 1;
  zeroWindows = 0;
  zeroWindowThreshold = 1;
  /** acknowledged by the peer although never seen (content gaps), and how far that reached */
  gaps = 0;
  gapThreshold = 1;
  ackedUpTo = 0;
  /** 1 while a stretch of sequence space skipped by this side's segments is not yet filled */
  hole = 0;
  holeStart = 0;
  holeEnd = 0;
  /** payload bytes in non-RST segments (used for REJ like Zeek's endpoint size) */
  dataBytes = 0;
}

/** States as bit sets (1 << state): tests that load and compare the same way for every state. */
const HANDSHAKE_STATES = (1 << TcpState.Inactive) | (1 << TcpState.SynSent) | (1 << TcpState.SynAckSent);
const SYN_STATES = (1 << TcpState.SynSent) | (1 << TcpState.SynAckSent);

export class TcpConnection {
  orig = new TcpEndpoint();
  resp = new TcpEndpoint();
  /** time of the originator's latest SYN before the first SYN-ACK (µs), -1 if none */
  private synTs = -1;
  private synAckTs = -1;
  private synAckSeq = 0;
  /** SYN -> SYN-ACK and SYN-ACK -> ACK times (µs), -1 until measured */
  rttSynSynAck = -1;
  rttSynAckAck = -1;

  constructor(readonly history: ConnHistory) {}

  /** Both endpoints still in the handshake (Zeek uses the shorter idle timeout then). */
  inHandshake(): boolean {
    return ((HANDSHAKE_STATES >> this.orig.state) & (HANDSHAKE_STATES >> this.resp.state) & 1) !== 0;
  }

  /** The originator sent a SYN and nothing came back (yet). */
  isAttempt(): boolean {
    return ((SYN_STATES >> this.orig.state) & bit(this.resp.state === TcpState.Inactive) & 1) !== 0;
  }

  /** One side has completed its close (FIN processed or RST). */
  isClosed(): boolean {
    return (bit(this.orig.didClose) | bit(this.resp.didClose)) !== 0;
  }

  /**
   * Whether a segment starts a new connection on the same endpoints (port reuse): only
   * SYNs (or SYN-ACKs while the originator never spoke) whose sequence number differs
   * from the one the connection started with. Every compare runs for every segment (see the
   * header: the first SYN on a known flow must not meet untried code).
   */
  isReuse(rec: PacketRecord): boolean {
    const flags = rec.tcpFlags;
    const o = this.orig;
    const r = this.resp;
    const syn = (flags & 2) !== 0;
    const hasAck = (flags & 16) !== 0;
    const oState = o.state;
    const rState = r.state;
    const closed = bit(o.didClose) | bit(r.didClose);
    const seq = rec.tcpSeq | 0;
    const oStart = o.startSeq;
    const rStart = r.startSeq;
    // a SYN-ACK numbers the connection from the responder's side
    const sameStart = bit(seq === (hasAck ? rStart : oStart));
    // SYN and SYN-ACK seen in reverse order: not a reuse, process() flips the roles
    const reversed = bit(!hasAck) & bit(oState === TcpState.SynAckSent) & bit(rState === TcpState.Inactive) & bit(seq === rStart);
    const ackAfterOrig = bit(hasAck) & bit(oState !== TcpState.Inactive);
    return (bit(syn) & (ackAfterOrig ^ 1) & (closed | ((sameStart | reversed) ^ 1))) !== 0;
  }

  /** Swap originator and responder (the caller swaps its own per-direction data). */
  flip(): void {
    const t = this.orig;
    this.orig = this.resp;
    this.resp = t;
    this.history.add('^');
  }

  /**
   * Processes one segment (flags, sequence numbers, window, payload length and time of
   * `rec`). `isOrig` is the sender's role before processing. Returns TcpAction bits.
   * The steps, in Zeek's order: the sender's initial sequence numbers, its history letter,
   * zero window, an ACK numbering a silent peer, handshake RTTs, holes, sequence
   * bookkeeping (retransmissions), the state machine, content gaps.
   */
  process(isOrig: boolean, rec: PacketRecord): number {
    const o = this.orig;
    const r = this.resp;
    const ep = isOrig ? o : r;
    const peer = isOrig ? r : o;
    const oi = bit(isOrig);
    const flags = rec.tcpFlags;
    const seq = rec.tcpSeq | 0;
    const ack = rec.tcpAck | 0;
    const len = rec.payloadLen;
    const fin = flags & 1;
    const syn = (flags >> 1) & 1;
    const rst = (flags >> 2) & 1;
    const hasAck = (flags >> 4) & 1;
    const notRst = rst ^ 1;
    const data = bit(len > 0);
    const synSet = syn !== 0;
    // a SYN and a FIN take a sequence number each; data on a RST is not part of the stream
    const seqEnd = (seq + len * notRst + syn + fin) | 0;
    const st = ep.state;
    const pst = peer.state;
    const epPrev = ep.prevState;
    const peerPrev = peer.prevState;

    // the sender's initial sequence numbers (a segment without SYN from an inactive side is
    // numbered as though a SYN preceded it)
    const oldStart = ep.startSeq;
    const initWhen = 1 | (syn << 1) | ((syn & bit(seq !== oldStart)) << 2) | ((syn & bit(epPrev === TcpState.Inactive)) << 3);
    const doInit = (INIT_RULE[st]! & initWhen) !== 0;
    const seqBefore = (seq - 1) | 0;
    const initStart = synSet ? seq : seqBefore;
    const initLast = synSet ? seqEnd : seq;
    const oldLast = ep.lastSeq;
    const oldAcked = ep.ackedUpTo;
    const oldHole = ep.hole;
    const holeStart = ep.holeStart;
    const holeEnd = ep.holeEnd;
    const startSeq = doInit ? initStart : oldStart;
    const lastSeq = doInit ? initLast : oldLast;
    const hole = doInit ? 0 : oldHole;
    const relSeq = seqDelta(seq, startSeq);

    // history: the once-per-direction letter of this kind of segment (S/F/R repeat when
    // their sequence number changed)
    const h = this.history;
    const kind = syn | (fin << 1) | (rst << 2) | (hasAck << 3) | (data << 4);
    const histMask = HIST_BIT[kind]! << ((oi ^ 1) << 4);
    const seenBits = h.seen;
    const seenBefore = (seenBits & histMask) !== 0;
    h.seen = seenBits | histMask;
    const repeat = HIST_REPEAT[kind]!;
    const finKey = (relSeq + len) | 0; // a FIN's sequence number follows its data
    const lastSyn = ep.histLastSyn;
    const lastFin = ep.histLastFin;
    const lastRst = ep.histLastRst;
    const isSyn = repeat === Repeat.Syn;
    const isFin = repeat === Repeat.Fin;
    const isRst = repeat === Repeat.Rst;
    const repeatKey = isFin ? finKey : relSeq;
    const repeatLast = isSyn ? lastSyn : isFin ? lastFin : lastRst;
    // (combined with & and |, not && and ||: every compare runs, also after the minifier
    // folds these names into one expression)
    const addLetter = bit(histMask !== 0) & (bit(!seenBefore) | (bit(repeat !== Repeat.None) & bit(repeatKey !== repeatLast)));
    ep.histLastSyn = isSyn ? relSeq : lastSyn;
    ep.histLastFin = isFin ? finKey : lastFin;
    ep.histLastRst = isRst ? relSeq : lastRst;

    // zero windows are interesting unless after/with a RST or after the peer's FIN
    const zeroWin = bit(rec.tcpWindow === 0) & notRst & bit(pst !== TcpState.Closed) & bit(st !== TcpState.Reset);
    const zeroWindows = ep.zeroWindows + zeroWin;
    const zwThreshold = ep.zeroWindowThreshold;
    const zwLetter = zeroWin & bit(zeroWindows === zwThreshold);
    ep.zeroWindows = zeroWindows;
    const zwNext = nextThreshold(zwThreshold);
    ep.zeroWindowThreshold = zwLetter !== 0 ? zwNext : zwThreshold;
    ep.finCount += fin;
    ep.dataBytes += len * notRst;

    // an ACK for a side we have not heard from numbers that side as though we saw its SYN
    const peerWasActive = pst !== TcpState.Inactive;

    this.updateRtt(isOrig, syn !== 0, hasAck !== 0, seq, ack, rec);

    // remember a skipped stretch (missed segment); a later segment may fill it
    const segEnd = (seq + len) | 0;
    const tracks = notRst & (syn ^ 1) & (data | fin);
    const covers = bit(seqDelta(seq, holeStart) <= 0) & bit(seqDelta(segEnd, holeStart) > 0);
    const fills = bit(seqDelta(segEnd, holeEnd) >= 0);
    const jump = seqDelta(seq, lastSeq);
    const opens = bit(jump > 0) & bit(jump <= TOO_LARGE_SEQ_DELTA);
    const inHole = tracks & hole;
    const filled = inHole & covers & fills; // the hole is gone
    const shrunk = inHole & covers & (fills ^ 1); // its start moves up
    const opened = tracks & (hole ^ 1) & opens;
    const newHole = (hole & (filled ^ 1)) | opened;
    const newHoleStart = shrunk !== 0 ? segEnd : opened !== 0 ? lastSeq : holeStart;
    const newHoleEnd = opened !== 0 ? seq : holeEnd;

    // sequence bookkeeping: advance last_seq or count a retransmission. In order: a SYN or RST
    // jumping too far is not trusted; a FIN right after the SYN advances; nothing after a RST
    // is trusted; a segment beyond last_seq advances; a repeated one with data is a retransmission.
    const deltaLast = seqDelta(seqEnd, lastSeq);
    const untrusted = (syn | rst) & bit(deltaLast > TOO_LARGE_SEQ_DELTA) | (syn | rst) & bit(deltaLast < -TOO_LARGE_SEQ_DELTA);
    const finFirst = fin & bit(lastSeq === ((startSeq + 1) | 0));
    const afterReset = bit(st === TcpState.Reset);
    const beyond = bit(deltaLast > 0);
    const advance = (untrusted ^ 1) & (finFirst | ((afterReset ^ 1) & beyond));
    const retransmit = (untrusted ^ 1) & (finFirst ^ 1) & (afterReset ^ 1) & (beyond ^ 1) & data;
    const newLast = advance !== 0 ? seqEnd : lastSeq;
    const retransmits = ep.retransmits + retransmit;
    const rtThreshold = ep.retransmitThreshold;
    const rtLetter = retransmit & bit(retransmits === rtThreshold);
    ep.retransmits = retransmits;
    const rtNext = nextThreshold(rtThreshold);
    ep.retransmitThreshold = rtLetter !== 0 ? rtNext : rtThreshold;
    ep.startSeq = startSeq;
    ep.lastSeq = newLast;
    ep.ackedUpTo = doInit ? initLast : oldAcked;
    ep.hole = newHole;
    ep.holeStart = newHoleStart;
    ep.holeEnd = newHoleEnd;

    // the state machine (tcp-transitions.ts)
    const inputs = (pst << TIn.PeerShift) | (syn * TIn.Syn) | (fin * TIn.Fin) | (rst * TIn.Rst) | (hasAck * TIn.Ack) |
      (oi * TIn.IsOrig) | ((data ^ 1) * TIn.NoData) | (bit(peerPrev === TcpState.Closed) * TIn.PeerPrevClosed);
    const t = TRANSITIONS[(inputs & RELEVANT_INPUTS[st]!) | st]!;
    const newState = t & 7;
    const newPrev = (t >> TOut.PrevShift) & 7;
    const peerCode = (t >> TOut.PeerShift) & 7;
    const newPeerState = peerCode === PREV_UNCHANGED ? pst : peerCode;
    const newPeerPrev = (t >> TOut.PeerPrevShift) & 7;
    const flip = (t >> 12) & 1;
    ep.state = newState;
    ep.prevState = newPrev === PREV_UNCHANGED ? epPrev : newPrev;
    peer.state = newPeerState;
    peer.prevState = newPeerPrev === PREV_UNCHANGED ? peerPrev : newPeerPrev;
    // a SYN-ACK seen before its SYN: the roles swap (a branch, unlike the rest: two pointer
    // stores per segment cost more than the one recompilation a capture's first flip may cause)
    if (flip !== 0) {
      this.orig = r;
      this.resp = o;
    }
    const epDidClose = bit(ep.didClose);
    const peerDidClose = bit(peer.didClose);
    const closesNow = ((t >> 13) & 1) & (epDidClose ^ 1);
    ep.didClose = (epDidClose | closesNow) !== 0;
    const complete = closesNow & (bit(newState === TcpState.Reset) | peerDidClose | bit(newPeerState === TcpState.Inactive));
    const action = complete * TcpAction.CloseComplete | ((t >> 13) & TcpAction.ResetAfterClose) | (flip << 2);

    // the peer: numbered by this ACK if it never spoke; else an ACK covering sequence space
    // never seen from it - beyond all it sent, or a stretch it skipped - reveals a content
    // gap (Zeek's 'g', logarithmic)
    const checksGap = hasAck & bit(peerWasActive);
    const pHole = peer.hole;
    const pHoleStart = peer.holeStart;
    const pAcked = peer.ackedUpTo;
    const pLast = peer.lastSeq;
    const dHole = seqDelta(ack, pHoleStart);
    const fillsHole = pHole & bit(dHole > 0) & bit(dHole <= TOO_LARGE_SEQ_DELTA);
    const seen = seqDelta(pAcked, pLast) > 0 ? pAcked : pLast;
    const dBeyond = seqDelta(ack, seen);
    const beyondSeen = bit(dBeyond > 0) & bit(dBeyond <= TOO_LARGE_SEQ_DELTA);
    const gapCheck = checksGap;
    const gap = gapCheck & (fillsHole | beyondSeen);
    const peerInit = hasAck & bit(!peerWasActive);
    const pStart = peer.startSeq;
    const ackBefore = seqDelta(ack, 1);
    peer.startSeq = peerInit !== 0 ? ackBefore : pStart;
    peer.lastSeq = peerInit !== 0 ? ack : pLast;
    peer.ackedUpTo = (peerInit | (gapCheck & beyondSeen)) !== 0 ? ack : pAcked;
    peer.hole = (peerInit | (gapCheck & fillsHole)) !== 0 ? 0 : pHole;
    const gaps = peer.gaps + gap;
    const gapThreshold = peer.gapThreshold;
    const gapLetter = gap & bit(gaps === gapThreshold);
    peer.gaps = gaps;
    const gapNext = nextThreshold(gapThreshold);
    peer.gapThreshold = gapLetter !== 0 ? gapNext : gapThreshold;

    // the letters, in Zeek's order: this segment's, W, T, '^', G (case of G: whether the peer
    // is the originator after a flip)
    const rare = zwLetter | (rtLetter << 1) | (flip << 2) | (gapLetter << 3) | (oi << 4) | (((oi ^ 1) ^ flip) << 5);
    if ((addLetter | (rare & 15)) !== 0) h.append((addLetter !== 0 ? HIST_LETTER[kind * 2 + oi]! : '') + RARE_LETTERS[rare]!);
    return action;
  }

  private updateRtt(epIsOrig: boolean, syn: boolean, hasAck: boolean, seq: number, ack: number, rec: PacketRecord): void {
    if (this.rttSynAckAck >= 0) return;
    const tsUs = rec.tsUs;
    if (epIsOrig) {
      if (syn && !hasAck && this.synAckTs < 0) this.synTs = tsUs;
      else if (!syn && hasAck && this.synAckTs >= 0 && ack === ((this.synAckSeq + 1) | 0)) {
        this.rttSynAckAck = Math.max(0, tsUs - this.synAckTs);
      }
    } else if (syn && hasAck && this.synTs >= 0 && this.synAckTs < 0) {
      this.synAckTs = tsUs;
      this.synAckSeq = seq;
      this.rttSynSynAck = Math.max(0, tsUs - this.synTs);
    }
  }
}
