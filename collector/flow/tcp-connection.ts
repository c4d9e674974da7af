// TCP connection tracking with Zeek's semantics: the per-endpoint state machine
// (INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET), history
// letters, retransmission and zero-window detection by sequence numbers, and the
// handshake round-trip times. Pure logic, fed one segment at a time; the flow engine
// owns timers and counters and acts on the returned TcpAction bits.
// Reimplemented from Zeek's documented behaviour (TCP session adapter and conn.log docs).
// Sequence numbers are kept as int32 (x | 0): compared only for equality and through
// signed 32-bit differences, and small integers never need a heap box.
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type PacketRecord } from '../../shared/packet/packet-record.js';
import { ConnHistory, HistBit, scaledHistoryEvent } from './conn-history.js';

export const enum TcpState {
  Inactive = 0,
  SynSent = 1,
  SynAckSent = 2,
  Partial = 3,
  Established = 4,
  Closed = 5,
  Reset = 6,
}

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

class TcpEndpoint {
  state: TcpState = TcpState.Inactive;
  prevState: TcpState = TcpState.Inactive;
  startSeq = 0;
  lastSeq = 0;
  didClose = false;
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
  /** a stretch of sequence space skipped by this side's segments and not yet filled */
  hasHole = false;
  holeStart = 0;
  holeEnd = 0;
  /** payload bytes in non-RST segments (used for REJ like Zeek's endpoint size) */
  dataBytes = 0;

  setState(s: TcpState): void {
    if (s !== this.state) {
      this.prevState = this.state;
      this.state = s;
    }
  }

  initSeq(start: number, last: number): void {
    this.startSeq = start | 0;
    this.lastSeq = last | 0;
    this.ackedUpTo = this.lastSeq;
    this.hasHole = false;
  }
}

/**
 * e.initSeq(start, last) when `init`. Every numbering of a sequence space goes through this
 * one call site, run for every segment: a rare case (a connection seen from its middle, an ACK
 * from a side whose peer never spoke) then meets a call that already has type feedback.
 */
function initSeqIf(e: TcpEndpoint, init: boolean, start: number, last: number): void {
  if (init) e.initSeq(start, last);
}

function inHandshake(s: TcpState): boolean {
  return s === TcpState.Inactive || s === TcpState.SynSent || s === TcpState.SynAckSent;
}

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

  /**
   * @param fastPath take the common segment's shortcut in process() (default true); false: every
   * segment the general way, for comparisons - the state and actions are the same either way
   */
  constructor(readonly history: ConnHistory, private readonly fastPath = true) {}

  /** Both endpoints still in the handshake (Zeek uses the shorter idle timeout then). */
  inHandshake(): boolean {
    return inHandshake(this.orig.state) && inHandshake(this.resp.state);
  }

  /** The originator sent a SYN and nothing came back (yet). */
  isAttempt(): boolean {
    return (this.orig.state === TcpState.SynSent || this.orig.state === TcpState.SynAckSent) &&
      this.resp.state === TcpState.Inactive;
  }

  /** One side has completed its close (FIN processed or RST). */
  isClosed(): boolean {
    return this.orig.didClose || this.resp.didClose;
  }

  /**
   * Whether a segment starts a new connection on the same endpoints (port reuse): only
   * SYNs (or SYN-ACKs while the originator never spoke) whose sequence number differs
   * from the one the connection started with.
   */
  isReuse(rec: PacketRecord): boolean {
    const flags = rec.tcpFlags;
    if ((flags & TCP_SYN) === 0) return false;
    let connOrig = this.orig;
    if ((flags & TCP_ACK) !== 0) {
      if (this.orig.state !== TcpState.Inactive) return false;
      connOrig = this.resp;
    }
    const seq = rec.tcpSeq | 0;
    if (!this.isClosed()) {
      if (seq === connOrig.startSeq) return false;
      // SYN and SYN-ACK seen in reverse order: not a reuse, process() flips the roles
      if ((flags & TCP_ACK) === 0 && connOrig.state === TcpState.SynAckSent &&
          this.resp.state === TcpState.Inactive && seq === this.resp.startSeq) return false;
    }
    return true;
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
   */
  process(isOrig: boolean, rec: PacketRecord): number {
    const ep = isOrig ? this.orig : this.resp;
    const peer = isOrig ? this.resp : this.orig;
    const flags = rec.tcpFlags;
    // The common segment: an ACK (data or not) without SYN, FIN or RST and with a window, on a
    // connection whose two sides have both spoken, in order (pure ACKs: any sequence number), no
    // hole open on the sender's side, its history letter already recorded for this direction.
    // For it, the general way below changes only the byte count, the last sequence number, the
    // handshake times and the gap tracking (docs/benchmarks.md, "Work that is usually nothing"): those
    // four steps, here, cost a fraction of the general way's tests and calls.
    if (this.fastPath && (flags & (TCP_SYN | TCP_FIN | TCP_RST | TCP_ACK)) === TCP_ACK && rec.tcpWindow !== 0) {
      const state = ep.state;
      const seq = rec.tcpSeq | 0;
      const len = rec.payloadLen;
      if ((state === TcpState.Established || state === TcpState.Partial) && peer.state !== TcpState.Inactive && !ep.hasHole &&
          (len === 0 || seq === ep.lastSeq) && this.history.has(len > 0 ? HistBit.Data : HistBit.Ack, isOrig)) {
        const ack = rec.tcpAck | 0;
        ep.dataBytes += len;
        this.updateRtt(isOrig, flags, seq, ack, rec);
        const seqEnd = (seq + len) | 0;
        if (seqDelta(seqEnd, ep.lastSeq) > 0) ep.lastSeq = seqEnd;
        this.checkGap(peer, ack);
        return TcpAction.None;
      }
    }
    return this.processSegment(ep, peer, flags, rec);
  }

  /** process() for any segment: Zeek's steps in order. */
  private processSegment(ep: TcpEndpoint, peer: TcpEndpoint, flags: number, rec: PacketRecord): number {
    const isOrig = ep === this.orig;
    const seq = rec.tcpSeq | 0;
    const ack = rec.tcpAck | 0;
    const window = rec.tcpWindow;
    const len = rec.payloadLen;
    const syn = (flags & TCP_SYN) !== 0;
    const fin = (flags & TCP_FIN) !== 0;
    const rst = (flags & TCP_RST) !== 0;
    const hasAck = (flags & TCP_ACK) !== 0;

    // data on a RST is not part of the stream. Written without branches that only a FIN or a
    // RST takes: V8 optimizes this function long before a capture's first FIN or RST, and an
    // operation that never ran has no type feedback, so its first run threw the code away.
    const segLen = (rst ? 0 : len) + (syn ? 1 : 0) + (fin ? 1 : 0);
    const seqEnd = (seq + segLen) | 0;

    this.initEndpoint(ep, syn, seq, seqEnd);
    const relSeq = seqDelta(seq, ep.startSeq);
    this.updateHistory(ep === this.orig, flags, ep, relSeq, len);

    // zero windows are interesting unless after/with a RST or after the peer's FIN
    if (window === 0 && !rst && peer.state !== TcpState.Closed && ep.state !== TcpState.Reset) {
      ep.zeroWindows++;
      ep.zeroWindowThreshold = scaledHistoryEvent(this.history, ep.zeroWindows, ep.zeroWindowThreshold,
        ep === this.orig ? 'W' : 'w');
    }
    if (!rst) ep.dataBytes += len;
    // an ACK for a side we have not heard from numbers that side as though we saw its SYN
    const peerWasActive = peer.state !== TcpState.Inactive;
    initSeqIf(peer, hasAck && !peerWasActive, ack - 1, ack);

    this.updateRtt(ep === this.orig, flags, seq, ack, rec);

    // remember a skipped stretch (missed segment); a later segment may fill it
    if (!rst && !syn && (len > 0 || fin)) this.trackHole(ep, seq, (seq + len) | 0);

    // sequence bookkeeping: advance last_seq or count a retransmission
    // (the FIN test's loads and compare run for every segment, and both advances share one
    // store: a first FIN after the optimization then meets nothing without type feedback)
    const deltaLast = seqDelta(seqEnd, ep.lastSeq);
    const nothingSent = ep.lastSeq === ((ep.startSeq + 1) | 0);
    let advance = false;
    if ((syn || rst) && (deltaLast > TOO_LARGE_SEQ_DELTA || deltaLast < -TOO_LARGE_SEQ_DELTA)) {
      // untrusted jump
    } else if (fin && nothingSent) {
      advance = true;
    } else if (ep.state === TcpState.Reset) {
      // nothing after a RST is trusted
    } else if (deltaLast > 0) {
      advance = true;
    } else if (len > 0) {
      ep.retransmits++;
      ep.retransmitThreshold = scaledHistoryEvent(this.history, ep.retransmits, ep.retransmitThreshold,
        ep === this.orig ? 'T' : 't');
    }
    if (advance) ep.lastSeq = seqEnd;

    const action = this.updateStateMachine(ep, peer, isOrig, flags, seq, len);
    if (hasAck && peerWasActive) this.checkGap(peer, ack);
    return action;
  }

  private trackHole(ep: TcpEndpoint, seq: number, end: number): void {
    if (ep.hasHole) {
      // a segment covering the start of the hole fills (part of) it
      if (seqDelta(seq, ep.holeStart) <= 0 && seqDelta(end, ep.holeStart) > 0) {
        if (seqDelta(end, ep.holeEnd) >= 0) ep.hasHole = false;
        else ep.holeStart = end;
      }
      return;
    }
    const jump = seqDelta(seq, ep.lastSeq);
    if (jump > 0 && jump <= TOO_LARGE_SEQ_DELTA) {
      ep.hasHole = true;
      ep.holeStart = ep.lastSeq;
      ep.holeEnd = seq;
    }
  }

  /**
   * An ACK covering sequence space never seen from the peer - beyond all it sent, or a
   * stretch it skipped - reveals a content gap (Zeek's 'g', logarithmic).
   */
  private checkGap(peer: TcpEndpoint, ack: number): void {
    let gap = false;
    if (peer.hasHole && seqDelta(ack, peer.holeStart) > 0 && seqDelta(ack, peer.holeStart) <= TOO_LARGE_SEQ_DELTA) {
      peer.hasHole = false;
      gap = true;
    }
    const seen = seqDelta(peer.ackedUpTo, peer.lastSeq) > 0 ? peer.ackedUpTo : peer.lastSeq;
    const beyond = seqDelta(ack, seen);
    if (beyond > 0 && beyond <= TOO_LARGE_SEQ_DELTA) {
      peer.ackedUpTo = ack;
      gap = true;
    }
    if (!gap) return;
    peer.gaps++;
    peer.gapThreshold = scaledHistoryEvent(this.history, peer.gaps, peer.gapThreshold, peer === this.orig ? 'G' : 'g');
  }

  /**
   * Numbers the sender's sequence space where a segment starts it. The loads and compares run
   * for every segment and the sequence numbers go to one call: the rare cases (a SYN again while
   * in the handshake, a SYN on an established or reset endpoint, a connection seen from its
   * middle) then only pick values, and meet no operation without type feedback when they first
   * come, long after V8 optimized this code.
   */
  private initEndpoint(ep: TcpEndpoint, syn: boolean, seq: number, seqEnd: number): void {
    const state = ep.state;
    const otherSeq = seq !== ep.startSeq;
    const wasInactive = ep.prevState === TcpState.Inactive;
    // without a SYN, an inactive endpoint is numbered as though one preceded this segment
    const before = seq - 1;
    let init = false;
    switch (state) {
      case TcpState.Inactive: init = true; break;
      case TcpState.SynSent:
      case TcpState.SynAckSent: init = syn && otherSeq; break;
      case TcpState.Established:
      case TcpState.Partial: init = syn; break;
      case TcpState.Reset: init = syn && wasInactive; break;
      default: break;
    }
    initSeqIf(ep, init, syn ? seq : before, syn ? seqEnd : seq);
  }

  private updateHistory(epIsOrig: boolean, flags: number, ep: TcpEndpoint, relSeq: number, len: number): void {
    const h = this.history;
    const syn = (flags & TCP_SYN) !== 0;
    const fin = (flags & TCP_FIN) !== 0;
    const rst = (flags & TCP_RST) !== 0;
    const bits = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0);
    if (bits > 1) {
      if (fin && rst) h.check(HistBit.FinRst, epIsOrig, 'I', 'i');
      else h.check(HistBit.MultiFlag, epIsOrig, 'Q', 'q');
    } else if (bits === 1) {
      if (syn) {
        const ackSet = (flags & TCP_ACK) !== 0;
        const upper = ackSet ? 'H' : 'S';
        const lower = ackSet ? 'h' : 's';
        // repeated only when the sequence number differs from the last one of this kind
        if (h.check(HistBit.Syn, epIsOrig, upper, lower) && relSeq !== ep.histLastSyn) h.add(epIsOrig ? upper : lower);
        ep.histLastSyn = relSeq;
      }
      if (fin) {
        const finSeq = (relSeq + len) | 0; // a FIN's sequence number follows its data
        if (h.check(HistBit.Fin, epIsOrig, 'F', 'f') && finSeq !== ep.histLastFin) h.add(epIsOrig ? 'F' : 'f');
        ep.histLastFin = finSeq;
      }
      if (rst) {
        if (h.check(HistBit.Rst, epIsOrig, 'R', 'r') && relSeq !== ep.histLastRst) h.add(epIsOrig ? 'R' : 'r');
        ep.histLastRst = relSeq;
      }
    } else if (len > 0) {
      h.check(HistBit.Data, epIsOrig, 'D', 'd');
    } else if ((flags & TCP_ACK) !== 0) {
      h.check(HistBit.Ack, epIsOrig, 'A', 'a');
    }
  }

  private updateRtt(epIsOrig: boolean, flags: number, seq: number, ack: number, rec: PacketRecord): void {
    if (this.rttSynAckAck >= 0) return;
    const tsUs = rec.tsUs;
    const syn = (flags & TCP_SYN) !== 0;
    const hasAck = (flags & TCP_ACK) !== 0;
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

  private updateStateMachine(ep: TcpEndpoint, peer: TcpEndpoint, isOrig: boolean, flags: number, seq: number,
    len: number): number {
    const syn = (flags & TCP_SYN) !== 0;
    const fin = (flags & TCP_FIN) !== 0;
    const rst = (flags & TCP_RST) !== 0;
    const hasAck = (flags & TCP_ACK) !== 0;
    let doClose = false;
    let action = 0;

    switch (ep.state) {
      case TcpState.Inactive: {
        if (syn) {
          if (isOrig) {
            ep.setState(hasAck ? TcpState.SynAckSent : TcpState.SynSent);
          } else {
            if (!hasAck && peer.state === TcpState.SynAckSent && seq === ep.startSeq) {
              // SYN-ACK was seen before its SYN: the roles were the other way round
              this.flip();
              action |= TcpAction.Flipped;
              peer.setState(TcpState.Established);
            }
            if (peer.state === TcpState.SynSent) peer.setState(TcpState.Established);
            ep.setState(TcpState.Established);
          }
        }
        if (fin) {
          ep.setState(TcpState.Closed);
          doClose = true;
        }
        if (rst) {
          ep.setState(TcpState.Reset);
          doClose = true;
        }
        if (ep.state === TcpState.Inactive) {
          if (!isOrig && len === 0 && this.orig.state === TcpState.SynSent) {
            // some stacks ACK a SYN before answering it: not a partial connection
          } else if (hasAck && peer.state === TcpState.Established) {
            // SYN-ACK seen, its SYN missed: treat as established
            ep.setState(TcpState.Established);
          } else {
            ep.setState(TcpState.Partial);
          }
        }
        break;
      }
      case TcpState.SynSent:
      case TcpState.SynAckSent:
        if (fin) {
          ep.setState(TcpState.Closed);
          doClose = true;
        }
        if (rst) {
          ep.setState(TcpState.Reset);
          doClose = true;
        }
        break;
      case TcpState.Established:
      case TcpState.Partial:
        if (syn && ep.state === TcpState.Partial && peer.state === TcpState.Inactive && !hasAck) {
          ep.setState(TcpState.SynSent);
        }
        if (fin && !rst) {
          ep.setState(TcpState.Closed);
          // a FIN then RST from the peer was a normal termination after all
          if (peer.state === TcpState.Reset && peer.prevState === TcpState.Closed) peer.setState(TcpState.Closed);
          doClose = true;
        }
        if (rst) {
          ep.setState(TcpState.Reset);
          doClose = true;
        }
        break;
      case TcpState.Closed:
        // after our FIN: a RST only counts if the peer has not closed too
        if (rst && peer.state !== TcpState.Closed) {
          ep.setState(TcpState.Reset);
          if (!ep.didClose) doClose = true;
          action |= TcpAction.ResetAfterClose;
        }
        break;
      default:
        break;
    }

    if (doClose && !ep.didClose) {
      ep.didClose = true;
      if (ep.state === TcpState.Reset || peer.didClose || peer.state === TcpState.Inactive) {
        action |= TcpAction.CloseComplete;
      }
    }
    return action;
  }
}
