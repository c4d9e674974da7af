// Per-tuple predictor state shared by writer and reader, so both sides make the
// same predictions and only the residuals go into the columns:
//   ipId   <- previous ipId of the tuple
//   seq    <- previous seq + payloadLen (+1 for SYN, +1 for FIN) of the tuple
//   ack    <- the reverse tuple's next seq, once the reverse has sent a TCP packet,
//             else the tuple's previous ack
//   window <- previous window of the tuple
//   tsVal  <- previous tsVal of the tuple
//   tsEcr  <- the reverse tuple's last tsVal, once the reverse has sent a TCP packet,
//             else the tuple's previous tsEcr
// All values are 32-bit patterns (Int32Array); residuals wrap modulo 2^32.
import { TCP_FIN, TCP_SYN } from '../packet/packet-record.js';

export class TupleState {
  ipId: Int32Array<ArrayBuffer>;
  next: Int32Array<ArrayBuffer>;
  ack: Int32Array<ArrayBuffer>;
  win: Int32Array<ArrayBuffer>;
  tsVal: Int32Array<ArrayBuffer>;
  tsEcr: Int32Array<ArrayBuffer>;
  /** index of the reverse tuple, -1 when none */
  rev: Int32Array<ArrayBuffer>;
  /** 1 once the tuple has had a packet with the TCP group */
  seen: Uint8Array<ArrayBuffer>;

  /**
   * The arrays start empty and are then grown to `capacity` by ensure(): each field is stored
   * twice here, so V8 does not track it as a constant field. A constant field that ensure()
   * replaces later (a dump's 257th tuple) invalidated the optimized DumpWriter.add(), which
   * had inlined it ("code dependencies" lazy deoptimization and a recompilation).
   */
  constructor(capacity: number) {
    this.ipId = new Int32Array(0);
    this.next = new Int32Array(0);
    this.ack = new Int32Array(0);
    this.win = new Int32Array(0);
    this.tsVal = new Int32Array(0);
    this.tsEcr = new Int32Array(0);
    this.rev = new Int32Array(0);
    this.seen = new Uint8Array(0);
    this.ensure(Math.max(1, capacity) - 1);
  }

  get capacity(): number {
    return this.next.length;
  }

  /** Make room for tuple index t (doubling). */
  ensure(t: number): void {
    if (t < this.next.length) return;
    let cap = Math.max(1, this.next.length * 2);
    while (cap <= t) cap *= 2;
    this.ipId = growI32(this.ipId, cap, 0);
    this.next = growI32(this.next, cap, 0);
    this.ack = growI32(this.ack, cap, 0);
    this.win = growI32(this.win, cap, 0);
    this.tsVal = growI32(this.tsVal, cap, 0);
    this.tsEcr = growI32(this.tsEcr, cap, 0);
    this.rev = growI32(this.rev, cap, -1);
    const seen = new Uint8Array(cap);
    seen.set(this.seen);
    this.seen = seen;
  }

  /** Blank state for a new tuple t. */
  init(t: number): void {
    this.ipId[t] = 0;
    this.next[t] = 0;
    this.ack[t] = 0;
    this.win[t] = 0;
    this.tsVal[t] = 0;
    this.tsEcr[t] = 0;
    this.rev[t] = -1;
    this.seen[t] = 0;
  }

  link(a: number, b: number): void {
    this.rev[a] = b;
    this.rev[b] = a;
  }
}

/** Sequence space a segment uses: payload bytes plus one each for SYN and FIN. */
export function seqAdvance(tcpFlags: number, payloadLen: number): number {
  return payloadLen + (tcpFlags & TCP_SYN ? 1 : 0) + (tcpFlags & TCP_FIN ? 1 : 0);
}

function growI32(a: Int32Array<ArrayBuffer>, cap: number, fill: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(cap);
  if (fill !== 0) b.fill(fill);
  b.set(a);
  return b;
}
