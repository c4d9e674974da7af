// Classic libpcap files: 24-byte file header (magic a1b2c3d4 for microsecond or
// a1b23c4d for nanosecond timestamps, in either byte order) then 16-byte record
// headers, each followed by caplen bytes of frame.
import { ReaderFrame, type CaptureFileReader, type CapturedFrame } from './captured-frame.js';
import { CaptureFileError } from './capture-file-error.js';
import { ByteWindow, MAX_RECORD_BYTES } from './byte-window.js';

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
const FILE_HEADER_BYTES = 24;
const RECORD_HEADER_BYTES = 16;

export class PcapReader implements CaptureFileReader {
  readonly format = 'pcap' as const;
  /** link type from the file header (lower 16 bits; the upper bits carry FCS info) */
  readonly linkType: number;
  readonly snapLen: number;
  readonly nanosecond: boolean;
  readonly littleEndian: boolean;
  readonly versionMajor: number;
  readonly versionMinor: number;
  private readonly win: ByteWindow;
  private readonly frame: ReaderFrame;
  private frames = 0;

  constructor(win: ByteWindow) {
    this.win = win;
    const have = win.fill(FILE_HEADER_BYTES);
    const v = win.view;
    const p = win.pos;
    const magicLe = have >= 4 ? v.getUint32(p, true) : 0;
    if (magicLe === PCAP_MAGIC_US || magicLe === PCAP_MAGIC_NS) this.littleEndian = true;
    else {
      const magicBe = have >= 4 ? v.getUint32(p, false) : 0;
      if (magicBe !== PCAP_MAGIC_US && magicBe !== PCAP_MAGIC_NS) {
        throw new CaptureFileError(win.source, 'not-capture', `not a pcap file (magic 0x${magicBe.toString(16).padStart(8, '0')})`, 0);
      }
      this.littleEndian = false;
    }
    if (have < FILE_HEADER_BYTES) {
      throw new CaptureFileError(win.source, 'truncated', `truncated pcap file header: ${have} of ${FILE_HEADER_BYTES} bytes`, 0);
    }
    const le = this.littleEndian;
    this.nanosecond = v.getUint32(p, le) === PCAP_MAGIC_NS;
    this.versionMajor = v.getUint16(p + 4, le);
    this.versionMinor = v.getUint16(p + 6, le);
    if (this.versionMajor !== 2) {
      throw new CaptureFileError(win.source, 'corrupt', `unsupported pcap version ${this.versionMajor}.${this.versionMinor} (expected 2.x)`, 4);
    }
    this.snapLen = v.getUint32(p + 16, le);
    this.linkType = v.getUint32(p + 20, le) & 0xffff;
    win.skip(FILE_HEADER_BYTES);
    this.frame = new ReaderFrame(win.buf);
    this.frame.linkType = this.linkType;
  }

  get bytesRead(): number { return this.win.offset; }
  get fileSize(): number { return this.win.fileSize; }
  get framesRead(): number { return this.frames; }

  next(): CapturedFrame | null {
    const win = this.win;
    const have = win.fill(RECORD_HEADER_BYTES);
    if (have === 0) return null;
    if (have < RECORD_HEADER_BYTES) {
      throw new CaptureFileError(win.source, 'truncated', `truncated dump file: record header has ${have} of ${RECORD_HEADER_BYTES} bytes`, win.offset);
    }
    const le = this.littleEndian;
    const v = win.view;
    let p = win.pos;
    const sec = v.getUint32(p, le);
    const frac = v.getUint32(p + 4, le);
    const capLen = v.getUint32(p + 8, le);
    const wireLen = v.getUint32(p + 12, le);
    if (capLen > MAX_RECORD_BYTES) {
      throw new CaptureFileError(win.source, 'corrupt', `bad record: captured length ${capLen} exceeds ${MAX_RECORD_BYTES}`, win.offset);
    }
    const need = RECORD_HEADER_BYTES + capLen;
    if (win.fill(need) < need) {
      throw new CaptureFileError(win.source, 'truncated', `truncated dump file: record needs ${capLen} data bytes, file has ${win.available - RECORD_HEADER_BYTES}`, win.offset);
    }
    p = win.pos; // fill() may have moved the data
    const f = this.frame;
    // µs: exact integer arithmetic (sec * 1e6 < 2^53 for any 32-bit sec); ns: floored to µs
    f.tsUs = sec * 1e6 + (this.nanosecond ? Math.floor(frac / 1000) : frac);
    f.wireLen = wireLen;
    f.place(win.buf, p + RECORD_HEADER_BYTES, capLen);
    win.skip(need);
    this.frames++;
    return f;
  }

  close(): void {
    this.win.close();
  }
}
