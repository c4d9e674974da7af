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
// All values are 32-bit patterns; residuals wrap modulo 2^32.
// One interleaved Int32Array, TupleSlot.Stride words per tuple: the writer's add() touches
// a tuple's state with one array (one base and length load) instead of eight, and the
// words of one tuple share a cache line.
import { TCP_FIN, TCP_SYN } from '../packet/packet-record.js';

/** Word of a tuple's state: st.s[t * TupleSlot.Stride + slot]. */
export const enum TupleSlot {
  IpId = 0,
  Next = 1,
  Ack = 2,
  Win = 3,
  TsVal = 4,
  TsEcr = 5,
  /** index of the reverse tuple, -1 when none */
  Rev = 6,
  /** 1 once the tuple has had a packet with the TCP group */
  Seen = 7,
  Stride = 8,
}

export class TupleState {
  /** TupleSlot.Stride int32 words per tuple */
  s: Int32Array<ArrayBuffer>;

  /**
   * The array starts empty and is then grown to `capacity` by ensure(): the field is stored
   * twice here, so V8 does not track it as a constant field. A constant field that ensure()
   * replaces later (a dump's 257th tuple) invalidated the optimized DumpWriter.add(), which
   * had inlined it ("code dependencies" lazy deoptimization and a recompilation).
   */
  constructor(capacity: number) {
    this.s = new Int32Array(0);
    this.ensure(Math.max(1, capacity) - 1);
  }

  get capacity(): number {
    return this.s.length / TupleSlot.Stride;
  }

  /** Make room for tuple index t (doubling); new tuples are blank (as after init()). */
  ensure(t: number): void {
    const have = this.s.length / TupleSlot.Stride;
    if (t < have) return;
    let cap = Math.max(1, have * 2);
    while (cap <= t) cap *= 2;
    const s = new Int32Array(cap * TupleSlot.Stride);
    for (let i = have; i < cap; i++) s[i * TupleSlot.Stride + TupleSlot.Rev] = -1;
    s.set(this.s);
    this.s = s;
  }

  /** Blank state for a new tuple t. */
  init(t: number): void {
    const s = this.s;
    const k = t * TupleSlot.Stride;
    s[k] = 0; s[k + 1] = 0; s[k + 2] = 0; s[k + 3] = 0;
    s[k + 4] = 0; s[k + 5] = 0; s[k + TupleSlot.Rev] = -1; s[k + TupleSlot.Seen] = 0;
  }

  link(a: number, b: number): void {
    this.s[a * TupleSlot.Stride + TupleSlot.Rev] = b;
    this.s[b * TupleSlot.Stride + TupleSlot.Rev] = a;
  }

  /** Index of tuple t's reverse tuple, -1 when none. */
  rev(t: number): number {
    return this.s[t * TupleSlot.Stride + TupleSlot.Rev]!;
  }
}

/** Sequence space a segment uses: payload bytes plus one each for SYN and FIN. */
export function seqAdvance(tcpFlags: number, payloadLen: number): number {
  return payloadLen + (tcpFlags & TCP_SYN ? 1 : 0) + (tcpFlags & TCP_FIN ? 1 : 0);
}
