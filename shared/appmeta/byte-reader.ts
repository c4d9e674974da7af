// Bounds-checked big-endian reads for the metadata parsers (TLS, QUIC). A read past the end
// (or past a nested limit) throws ShortInput, which each parser's entry point catches and
// turns into "not this protocol" / "need more bytes": the parsers themselves never throw.
import { MeerkatError } from '../errors.js';

/** Thrown inside a parser only; never escapes a parser's public function. */
export class ShortInput extends MeerkatError {
  readonly code = 'MEERKAT_ERR_SHORT_INPUT';
  constructor() {
    super('input ended early');
    this.name = 'ShortInput';
  }
}

const SHORT = new ShortInput();

export class ByteReader {
  /** next byte to read */
  pos: number;
  /** end of the readable range (exclusive) */
  end: number;

  constructor(readonly b: Uint8Array, start = 0, end = b.length) {
    this.pos = start;
    this.end = Math.min(end, b.length);
  }

  get left(): number {
    return this.end - this.pos;
  }

  need(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw SHORT;
  }

  u8(): number {
    this.need(1);
    return this.b[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const p = this.pos;
    this.pos = p + 2;
    return (this.b[p]! << 8) | this.b[p + 1]!;
  }

  u24(): number {
    this.need(3);
    const p = this.pos;
    this.pos = p + 3;
    return (this.b[p]! << 16) | (this.b[p + 1]! << 8) | this.b[p + 2]!;
  }

  u32(): number {
    this.need(4);
    const p = this.pos;
    this.pos = p + 4;
    return ((this.b[p]! << 24) | (this.b[p + 1]! << 16) | (this.b[p + 2]! << 8) | this.b[p + 3]!) >>> 0;
  }

  /** QUIC variable-length integer (RFC 9000 section 16), up to 2^53 - 1. */
  varint(): number {
    const first = this.u8();
    const len = 1 << (first >> 6);
    this.need(len - 1);
    let v = first & 0x3f;
    for (let i = 1; i < len; i++) v = v * 256 + this.b[this.pos++]!;
    return v;
  }

  /** Skips n bytes; returns where they start. */
  skip(n: number): number {
    this.need(n);
    const p = this.pos;
    this.pos = p + n;
    return p;
  }

  /** A view of the next n bytes (not a copy). */
  bytes(n: number): Uint8Array {
    const p = this.skip(n);
    return this.b.subarray(p, p + n);
  }

  /** A reader over the next n bytes; this reader moves past them. */
  sub(n: number): ByteReader {
    const p = this.skip(n);
    return new ByteReader(this.b, p, p + n);
  }
}

/** Bytes as text, one character per byte (latin1), control characters and DEL replaced by '.'. */
export function printable(b: Uint8Array, maxChars: number): string {
  const n = Math.min(b.length, maxChars);
  let s = '';
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    s += c < 0x20 || c === 0x7f ? '.' : String.fromCharCode(c);
  }
  return s;
}
