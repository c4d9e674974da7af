// The retro ring's chunk body: the frames the pipeline kept, as captured, with an index of their
// time, wire length, stored length, link type and direction, compressed with brotli. Frames and
// not packet records because appending a frame is a copy and four array stores - the least the
// capture callback can do per packet (a record costs the dump writer's encoding, a third of the
// agent's per-packet budget in the lean runtime); a pull decodes them again (retro-pull.ts).
//   plaintext = u32 rawLength | brotli(raw)
//   raw       = u32 count | f64 tsUs[count] | u32 wireLen[count] | u32 len[count] | u32 (linkType << 8 | direction)[count] | frames
// The index columns are the writer's typed arrays copied whole (no loop per frame), in the host's
// byte order: the ring never leaves the host that wrote it.
import { MeerkatError } from '../../shared/errors.js';
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';

/** index bytes per frame */
export const FRAME_INDEX_ENTRY = 20;
const MAX_RAW = 64 * 1024 * 1024;

export class FrameLogError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_FRAME_LOG';
  constructor(message: string) {
    super(message);
    this.name = 'FrameLogError';
  }
}

export class FrameLogWriter {
  private data: Uint8Array;
  private pos = 0;
  private n = 0;
  // the index as plain typed arrays: element stores are the cheapest writes in V8's interpreter
  private ts: Float64Array;
  private wire: Uint32Array;
  private len: Uint32Array;
  private meta: Uint32Array;

  /**
   * A chunk is full at `maxFrames` frames, `maxBytes` frame bytes, or frames `maxAgeUs` apart
   * (add() says so: the caller seals it).
   */
  constructor(private readonly maxFrames = 4096, private readonly maxBytes = 256 * 1024, private readonly maxAgeUs = 1_000_000, private readonly quality = 0, initialFrames = 1024) {
    const initialBytes = Math.min(maxBytes, 64 * 1024);
    this.data = new Uint8Array(initialBytes);
    this.ts = new Float64Array(initialFrames);
    this.wire = new Uint32Array(initialFrames);
    this.len = new Uint32Array(initialFrames);
    this.meta = new Uint32Array(initialFrames);
  }

  get count(): number {
    return this.n;
  }

  /** Appends frame[off, off + len); true when the chunk is now full (seal it). Hot path. */
  add(linkType: number, frame: Uint8Array, off: number, len: number, tsUs: number, wireLen: number, direction: number): boolean {
    const n = this.n;
    if (n === this.ts.length) this.growIndex();
    this.ts[n] = tsUs;
    this.wire[n] = wireLen;
    this.len[n] = len;
    this.meta[n] = ((linkType & 0xffff) << 8) | (direction & 0xff);
    const p = this.pos;
    const need = p + len;
    if (need > this.data.length) this.growData(need);
    // a plain view: Buffer#subarray (capture batches are Buffers) runs JS code of its own per call
    this.data.set(off === 0 && len === frame.length ? frame : new Uint8Array(frame.buffer, frame.byteOffset + off, len), p);
    this.pos = need;
    this.n = n + 1;
    return n + 1 >= this.maxFrames || need >= this.maxBytes || tsUs - this.ts[0]! >= this.maxAgeUs;
  }

  /** Time of the first frame (the chunk's age), NaN when empty. */
  get firstTsUs(): number {
    return this.n > 0 ? this.ts[0]! : NaN;
  }

  /** Earliest and latest frame time (frames of several capture sessions may interleave a little). */
  span(): { min: number; max: number } {
    let min = Infinity;
    let max = -Infinity;
    const ts = this.ts;
    for (let i = 0; i < this.n; i++) {
      const t = ts[i]!;
      if (t < min) min = t;
      if (t > max) max = t;
    }
    return { min, max };
  }

  /** The compressed chunk body; the writer is then empty. */
  finish(): Uint8Array {
    const n = this.n;
    // 8 bytes of count field (the f64 column stays 8-aligned), the columns, the frames
    const raw = new Uint8Array(8 + n * FRAME_INDEX_ENTRY + this.pos);
    new DataView(raw.buffer).setUint32(0, n, true);
    let o = 8;
    for (const col of [this.ts.subarray(0, n), this.wire.subarray(0, n), this.len.subarray(0, n), this.meta.subarray(0, n)]) {
      raw.set(new Uint8Array(col.buffer, col.byteOffset, col.byteLength), o);
      o += col.byteLength;
    }
    raw.set(this.data.subarray(0, this.pos), o);
    const packed = brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: this.quality, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length, [constants.BROTLI_PARAM_LGWIN]: 18 } });
    const out = new Uint8Array(4 + packed.length);
    new DataView(out.buffer).setUint32(0, raw.length, true);
    out.set(packed, 4);
    this.reset();
    return out;
  }

  reset(): void {
    this.pos = 0;
    this.n = 0;
  }

  private growIndex(): void {
    const grow = <T extends Float64Array | Uint32Array>(a: T, make: (n: number) => T): T => { const b = make(a.length * 2); b.set(a); return b; };
    this.ts = grow(this.ts, (k) => new Float64Array(k));
    this.wire = grow(this.wire, (k) => new Uint32Array(k));
    this.len = grow(this.len, (k) => new Uint32Array(k));
    this.meta = grow(this.meta, (k) => new Uint32Array(k));
  }

  private growData(need: number): void {
    const next = new Uint8Array(Math.max(need, this.data.length * 2));
    next.set(this.data.subarray(0, this.pos));
    this.data = next;
  }
}

export interface LoggedFrame {
  tsUs: number;
  wireLen: number;
  linkType: number;
  direction: number;
  /** the frame is data[off, off + len) */
  data: Uint8Array;
  off: number;
  len: number;
}

/** Calls `each` for every frame of a chunk body (one reused object). @throws FrameLogError */
export function readFrameLog(body: Uint8Array, each: (f: LoggedFrame) => void): void {
  if (body.length < 4) throw new FrameLogError('chunk body shorter than its length field');
  const rawLen = new DataView(body.buffer, body.byteOffset, 4).getUint32(0, true);
  if (rawLen > MAX_RAW) throw new FrameLogError(`chunk declares ${rawLen} bytes of frames, limit ${MAX_RAW}`);
  let raw: Uint8Array;
  try {
    raw = brotliDecompressSync(body.subarray(4), { maxOutputLength: Math.max(1, rawLen) });
  } catch (e) {
    throw new FrameLogError(`chunk body does not decompress: ${(e as Error).message}`);
  }
  if (raw.length !== rawLen || raw.length < 8) throw new FrameLogError(`chunk body is ${raw.length} bytes, its header says ${rawLen}`);
  const n = new DataView(raw.buffer, raw.byteOffset, 4).getUint32(0, true);
  let p = 8 + n * FRAME_INDEX_ENTRY;
  if (n > raw.length || p > raw.length) throw new FrameLogError(`chunk index of ${n} frames runs past the chunk`);
  // copies, so the columns are aligned whatever the decompressor's buffer offset
  const col = (at: number, bytes: number): ArrayBuffer => raw.buffer.slice(raw.byteOffset + at, raw.byteOffset + at + bytes) as ArrayBuffer;
  const ts = new Float64Array(col(8, 8 * n));
  const wire = new Uint32Array(col(8 + 8 * n, 4 * n));
  const lens = new Uint32Array(col(8 + 12 * n, 4 * n));
  const meta = new Uint32Array(col(8 + 16 * n, 4 * n));
  const f: LoggedFrame = { tsUs: 0, wireLen: 0, linkType: 0, direction: 0, data: raw, off: 0, len: 0 };
  for (let i = 0; i < n; i++) {
    const len = lens[i]!;
    if (p + len > raw.length) throw new FrameLogError(`frame ${i} runs past the chunk`);
    f.tsUs = ts[i]!;
    f.wireLen = wire[i]!;
    f.linkType = meta[i]! >>> 8;
    f.direction = meta[i]! & 0xff;
    f.off = p;
    f.len = len;
    each(f);
    p += len;
  }
  if (p !== raw.length) throw new FrameLogError(`chunk has ${raw.length - p} bytes after its last frame`);
}
