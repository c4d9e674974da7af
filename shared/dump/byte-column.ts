// Growable byte buffer the dump writer appends one column to, and the bounded
// cursor the reader walks a column with. Varints are LEB128 (7 bits per byte,
// least significant group first); signed values are zigzag-mapped first.
// Writer side: amortised growth, no allocation per value. Reader side: every
// read is bounds-checked and reports a DumpFormatError naming the column.
import { DumpFormatError } from './dump-error.js';

const TWO_32 = 4294967296;

/** Zigzag of a signed 32-bit value (wraps modulo 2^32 first): 0,-1,1,-2 -> 0,1,2,3. */
export function zigzag32(d: number): number {
  return ((d << 1) ^ (d >> 31)) >>> 0;
}

export function unzigzag32(u: number): number {
  return (u >>> 1) ^ -(u & 1);
}

export class ByteColumn {
  buf: Uint8Array;
  pos = 0;

  constructor(initial = 1024) {
    this.buf = new Uint8Array(initial);
  }

  private grow(need: number): void {
    let cap = this.buf.length * 2;
    while (cap < this.pos + need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** Makes room for n more bytes (callers that then write buf directly from pos). */
  reserve(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  byte(v: number): void {
    if (this.pos >= this.buf.length) this.grow(1);
    this.buf[this.pos++] = v;
  }

  /** Unsigned value 0..2^32-1 (callers pass `x >>> 0`). */
  u32(v: number): void {
    if (this.pos + 5 > this.buf.length) this.grow(5);
    const b = this.buf;
    let p = this.pos;
    while (v > 0x7f) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p++] = v;
    this.pos = p;
  }

  /** Unsigned safe integer 0..2^53-1 (used where a value may pass 32 bits). */
  uint(v: number): void {
    if (v < TWO_32) {
      this.u32(v);
      return;
    }
    if (this.pos + 8 > this.buf.length) this.grow(8);
    const b = this.buf;
    let p = this.pos;
    while (v > 0x7f) {
      b[p++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    b[p++] = v;
    this.pos = p;
  }

  /** Signed integer with |v| < 2^52, zigzag-mapped. */
  sint(v: number): void {
    this.uint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  f64(v: number, scratch: DataView): void {
    if (this.pos + 8 > this.buf.length) this.grow(8);
    scratch.setFloat64(0, v, true);
    for (let i = 0; i < 8; i++) this.buf[this.pos++] = scratch.getUint8(i);
  }

  u16(v: number): void {
    if (this.pos + 2 > this.buf.length) this.grow(2);
    this.buf[this.pos++] = v & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
  }

  bytes(src: Uint8Array, off: number, len: number): void {
    if (this.pos + len > this.buf.length) this.grow(len);
    if (len <= 16) {
      for (let i = 0; i < len; i++) this.buf[this.pos + i] = src[off + i]!;
    } else if (off === 0 && len === src.length) {
      this.buf.set(src, this.pos); // whole array: no subarray view to allocate
    } else {
      this.buf.set(src.subarray(off, off + len), this.pos);
    }
    this.pos += len;
  }

  /**
   * Appends vals[0..n) as varint u32s. The dump writer encodes a column a block of packets at
   * a time: one tight loop per column instead of a method call per value and packet.
   */
  u32Run(vals: Uint32Array, n: number): void {
    if (this.pos + 5 * n > this.buf.length) this.grow(5 * n);
    const b = this.buf;
    let p = this.pos;
    // each value written without an inner loop: V8 checks both arrays' shape and reloads their
    // bounds and data pointers after every loop back-edge (its interrupt check may run anything),
    // so a loop per byte cost those again for every byte. A Uint8Array store keeps the low 8
    // bits: `v | 0x80` is the low seven bits with the continuation bit.
    for (let i = 0; i < n; i++) {
      const v = vals[i]!;
      if (v < 0x80) {
        b[p] = v;
        p += 1;
      } else if (v < 0x4000) {
        b[p] = v | 0x80;
        b[p + 1] = v >>> 7;
        p += 2;
      } else if (v < 0x200000) {
        b[p] = v | 0x80;
        b[p + 1] = (v >>> 7) | 0x80;
        b[p + 2] = v >>> 14;
        p += 3;
      } else if (v < 0x10000000) {
        b[p] = v | 0x80;
        b[p + 1] = (v >>> 7) | 0x80;
        b[p + 2] = (v >>> 14) | 0x80;
        b[p + 3] = v >>> 21;
        p += 4;
      } else {
        b[p] = v | 0x80;
        b[p + 1] = (v >>> 7) | 0x80;
        b[p + 2] = (v >>> 14) | 0x80;
        b[p + 3] = (v >>> 21) | 0x80;
        b[p + 4] = v >>> 28;
        p += 5;
      }
    }
    this.pos = p;
  }

  /** Appends vals[0..n) as single bytes (one memory copy: a full block is the whole array, no view to allocate). */
  byteRun(vals: Uint8Array, n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
    this.buf.set(n === vals.length ? vals : vals.subarray(0, n), this.pos);
    this.pos += n;
  }

  /** Appends a[i] - b[i] for i in [0, n) as sint() does (zigzag53 varints). */
  sintDiffRun(a: Uint32Array, b: Uint32Array, n: number): void {
    if (this.pos + 5 * n > this.buf.length) this.grow(5 * n);
    let buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      const d = a[i]! - b[i]!;
      let z = d >= 0 ? d * 2 : -d * 2 - 1;
      if (z < TWO_32) {
        while (z > 0x7f) {
          buf[p++] = (z & 0x7f) | 0x80;
          z >>>= 7;
        }
        buf[p++] = z;
      } else {
        // |difference| >= 2^31: up to 8 bytes, then room for the rest again
        this.pos = p;
        this.uint(z);
        if (this.pos + 5 * (n - i - 1) > this.buf.length) this.grow(5 * (n - i - 1));
        buf = this.buf;
        p = this.pos;
      }
    }
    this.pos = p;
  }

  clear(): void {
    this.pos = 0;
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

/** Which record (or tuple) the reader is at; shared by all cursors, for error messages. */
export interface DecodePosition {
  record: number;
}

/** A bounded cursor over one column of a decoded body. */
export class ColumnCursor {
  pos: number;
  readonly end: number;

  constructor(
    readonly b: Uint8Array,
    start: number,
    end: number,
    readonly name: string,
    private readonly at: DecodePosition,
  ) {
    this.pos = start;
    this.end = end;
  }

  fail(what: string): never {
    throw new DumpFormatError(`column '${this.name}' at record ${this.at.record}: ${what}`);
  }

  byte(): number {
    if (this.pos >= this.end) this.fail('truncated (no byte left)');
    return this.b[this.pos++]!;
  }

  u16(): number {
    if (this.pos + 2 > this.end) this.fail('truncated (need 2 bytes)');
    const v = this.b[this.pos]! | (this.b[this.pos + 1]! << 8);
    this.pos += 2;
    return v;
  }

  /** Varint that must fit in 32 bits (at most 5 bytes, no overlong forms). */
  u32(): number {
    const b = this.b;
    let p = this.pos;
    const end = this.end;
    if (p >= end) this.fail('truncated varint');
    let x = b[p++]!;
    if (x < 0x80) {
      this.pos = p;
      return x;
    }
    let v = x & 0x7f;
    let shift = 7;
    for (;;) {
      if (p >= end) this.fail('truncated varint');
      x = b[p++]!;
      if (shift === 28) {
        // fifth byte: only 4 payload bits remain for a 32-bit value
        if (x > 0x0f) this.fail('varint exceeds 32 bits');
        v += x * 268435456;
        break;
      }
      v |= (x & 0x7f) << shift;
      if (x < 0x80) break;
      shift += 7;
    }
    if (x === 0) this.fail('overlong varint');
    this.pos = p;
    return v >>> 0;
  }

  /** Varint up to 2^53-1 (at most 8 bytes). */
  uint(): number {
    const b = this.b;
    let p = this.pos;
    let v = 0;
    let mul = 1;
    for (let i = 0; ; i++) {
      if (p >= this.end) this.fail('truncated varint');
      const x = b[p++]!;
      v += (x & 0x7f) * mul;
      if (x < 0x80) {
        if (x === 0 && i > 0) this.fail('overlong varint');
        break;
      }
      if (i === 7) this.fail('varint exceeds 53 bits');
      mul *= 128;
    }
    if (v > Number.MAX_SAFE_INTEGER) this.fail('varint exceeds 53 bits');
    this.pos = p;
    return v;
  }

  sint(): number {
    const u = this.uint();
    // odd -> negative; exact for u <= 2^53-1
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  f64(scratch: DataView): number {
    if (this.pos + 8 > this.end) this.fail('truncated float64');
    for (let i = 0; i < 8; i++) scratch.setUint8(i, this.b[this.pos + i]!);
    this.pos += 8;
    return scratch.getFloat64(0, true);
  }

  /** Start offset of `len` bytes, advancing past them. */
  skip(len: number): number {
    if (len > this.end - this.pos) this.fail(`truncated (need ${len} bytes, ${this.end - this.pos} left)`);
    const at = this.pos;
    this.pos += len;
    return at;
  }

  expectEnd(): void {
    if (this.pos !== this.end) {
      throw new DumpFormatError(`column '${this.name}': ${this.end - this.pos} unused trailing bytes`);
    }
  }
}
