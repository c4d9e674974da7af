// The first bytes of a stream put back together from pieces that arrive by offset, in any
// order, with overlaps (TCP segments by sequence number, QUIC CRYPTO frames by offset).
// Bounded: bytes at or past `cap` are dropped, and at most MAX_HOLES separate ranges are
// kept (a stream with more gaps than that is given up on). The buffer grows with what
// arrives, so a short hello costs a short buffer.

const MAX_HOLES = 16;

export class ByteReassembler {
  private buf: Uint8Array;
  /** received ranges as sorted, disjoint, non-adjacent [start, end) pairs */
  private ranges: number[] = [];
  /** set when the pieces could not be kept (too many holes) */
  failed = false;

  constructor(readonly cap: number, initial = 2048) {
    this.buf = new Uint8Array(Math.min(cap, initial));
  }

  /** Bytes known from offset 0 on, without a hole. */
  get contiguous(): number {
    const r = this.ranges;
    return r.length > 0 && r[0] === 0 ? r[1]! : 0;
  }

  /** The stream bytes [0, contiguous) (a view, valid until the next add). */
  get bytes(): Uint8Array {
    return this.buf.subarray(0, this.contiguous);
  }

  /** Adds data[from, to) at stream offset `offset`. Returns false when the stream was given up on. */
  add(offset: number, data: Uint8Array, from = 0, to = data.length): boolean {
    if (this.failed) return false;
    if (offset < 0 || !Number.isFinite(offset)) return true;
    let start = offset;
    let end = offset + (to - from);
    if (end > this.cap) end = this.cap;
    if (end <= start) return true;
    if (end > this.buf.length) {
      let n = this.buf.length * 2;
      while (n < end) n *= 2;
      const next = new Uint8Array(Math.min(n, this.cap));
      next.set(this.buf);
      this.buf = next;
    }
    this.buf.set(data.subarray(from, from + (end - start)), start);
    // merge [start, end) into the ranges
    const r = this.ranges;
    const out: number[] = [];
    let i = 0;
    while (i < r.length && r[i + 1]! < start) { out.push(r[i]!, r[i + 1]!); i += 2; }
    while (i < r.length && r[i]! <= end) {
      if (r[i]! < start) start = r[i]!;
      if (r[i + 1]! > end) end = r[i + 1]!;
      i += 2;
    }
    out.push(start, end);
    while (i < r.length) { out.push(r[i]!, r[i + 1]!); i += 2; }
    if (out.length > 2 * MAX_HOLES) {
      this.failed = true;
      return false;
    }
    this.ranges = out;
    return true;
  }

  /** Memory held by the buffer (bytes). */
  get bufferBytes(): number {
    return this.buf.length;
  }
}
