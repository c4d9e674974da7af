// A sliding window over a capture file (or an in-memory capture): the only I/O
// the readers do. Records are parsed straight out of one large reusable buffer
// that is refilled with big sequential reads and grows only for huge records.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { CaptureFileError } from './capture-file-error.js';

/** Default read chunk: large enough that the per-read syscall cost vanishes. */
const DEFAULT_CHUNK_BYTES = 2 * 1024 * 1024;

/** No record or block may be larger than this; bigger means the file is corrupt. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

export class ByteWindow {
  /** the bytes; valid data is buf[pos, end) */
  buf: Uint8Array;
  /** a DataView over buf (renewed when buf grows) */
  view: DataView;
  /** index in buf of the next unread byte */
  pos = 0;
  /** index in buf one past the last valid byte */
  end: number;
  readonly fileSize: number;
  readonly source: string;
  /** file offset of buf[0] */
  private base = 0;
  private fd: number;
  private eof: boolean;

  private constructor(source: string, fd: number, buf: Uint8Array, end: number, fileSize: number) {
    this.source = source;
    this.fd = fd;
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.end = end;
    this.fileSize = fileSize;
    this.eof = fd < 0;
  }

  static fromFile(path: string, chunkBytes = DEFAULT_CHUNK_BYTES): ByteWindow {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      throw new CaptureFileError(path, 'io', `cannot open (${(e as Error).message})`, -1, { cause: e });
    }
    let size: number;
    try {
      size = fstatSync(fd).size;
    } catch (e) {
      closeSync(fd);
      throw new CaptureFileError(path, 'io', `cannot stat (${(e as Error).message})`, -1, { cause: e });
    }
    // Small files get a buffer of their own size: no point holding 2 MiB for a 1 KiB capture.
    const cap = Math.max(64, Math.min(chunkBytes, size + 16));
    return new ByteWindow(path, fd, new Uint8Array(cap), 0, size);
  }

  static fromBytes(bytes: Uint8Array, source = '<memory>'): ByteWindow {
    return new ByteWindow(source, -1, bytes, bytes.length, bytes.length);
  }

  /** File offset of buf[pos]. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Bytes available from pos without reading. */
  get available(): number {
    return this.end - this.pos;
  }

  /**
   * Makes at least n bytes available from pos if the file has them; returns the number
   * available (less than n only at end of file). May move the data: views handed out
   * earlier become invalid.
   */
  fill(n: number): number {
    if (this.end - this.pos >= n || this.eof) return this.end - this.pos;
    // at pos 0 (the first read) makeRoom() moves nothing; called then anyway, so that the call
    // has type feedback when V8 optimizes the reader, and the first refill does not deoptimize it
    if (n > this.buf.length - this.pos || this.pos === 0) this.makeRoom(n);
    while (this.end - this.pos < n) {
      let got: number;
      try {
        got = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, this.base + this.end);
      } catch (e) {
        throw new CaptureFileError(this.source, 'io', `read failed (${(e as Error).message})`, this.base + this.end, { cause: e });
      }
      if (got === 0) { this.eof = true; break; }
      this.end += got;
    }
    return this.end - this.pos;
  }

  /** Consumes n bytes (callers only skip what fill() made available). */
  skip(n: number): void {
    this.pos += n;
  }

  close(): void {
    if (this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      this.eof = true;
      closeSync(fd);
    }
  }

  /** Moves unread data to the front and grows the buffer when n does not fit. */
  private makeRoom(n: number): void {
    const live = this.end - this.pos;
    if (n > this.buf.length) {
      const grown = new Uint8Array(Math.max(n, Math.min(this.buf.length * 2, MAX_RECORD_BYTES + 64)));
      grown.set(this.buf.subarray(this.pos, this.end), 0);
      this.buf = grown;
      this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
    } else {
      this.buf.copyWithin(0, this.pos, this.end);
    }
    this.base += this.pos;
    this.pos = 0;
    this.end = live;
  }
}
