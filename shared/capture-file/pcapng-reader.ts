// pcapng files: a sequence of blocks (type, total length, body, total length again).
// Section Header Blocks set the byte order and reset the interface list; Interface
// Description Blocks give each interface's link type, snap length and timestamp
// resolution/offset; Enhanced, Simple and (obsolete) Packet Blocks carry frames.
// Every other block type (name resolution, statistics, secrets, custom) is skipped.
import { ReaderFrame, type CaptureFileReader, type CapturedFrame } from './captured-frame.js';
import { CaptureFileError } from './capture-file-error.js';
import { ByteWindow, MAX_RECORD_BYTES } from './byte-window.js';
import { makeTsConverter, pcapngTsToUs, type TsConverter } from './pcapng-timestamp.js';

export const PCAPNG_SHB_TYPE = 0x0a0d0d0a;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const BT_IDB = 1;
const BT_OPB = 2;
const BT_SPB = 3;
const BT_EPB = 6;
const OPT_END = 0;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;
const BLOCK_MIN = 12;

interface PcapngInterface {
  linkType: number;
  snapLen: number;
  ts: TsConverter;
}

export class PcapngReader implements CaptureFileReader {
  readonly format = 'pcapng' as const;
  private readonly win: ByteWindow;
  private readonly frame: ReaderFrame;
  private le = true;
  private ifaces: PcapngInterface[] = [];
  private sections = 0;
  private frames = 0;
  /** SPBs carry no timestamp: they get the previous frame's */
  private lastTsUs = 0;

  constructor(win: ByteWindow) {
    this.win = win;
    this.frame = new ReaderFrame(win.buf);
    const have = win.fill(BLOCK_MIN);
    if (have < 4 || win.view.getUint32(win.pos, true) !== PCAPNG_SHB_TYPE) {
      throw new CaptureFileError(win.source, 'not-capture', 'not a pcapng file (no Section Header Block)', 0);
    }
  }

  get bytesRead(): number { return this.win.offset; }
  get fileSize(): number { return this.win.fileSize; }
  get framesRead(): number { return this.frames; }
  /** Section Header Blocks seen so far. */
  get sectionCount(): number { return this.sections; }

  next(): CapturedFrame | null {
    const win = this.win;
    for (;;) {
      const have = win.fill(BLOCK_MIN);
      if (have === 0) return null;
      const at = win.offset;
      if (have < BLOCK_MIN) {
        throw new CaptureFileError(win.source, 'truncated', `truncated dump file: block header has ${have} of ${BLOCK_MIN} bytes`, at);
      }
      let v = win.view;
      let p = win.pos;
      const type = v.getUint32(p, this.le);
      if (type === PCAPNG_SHB_TYPE) this.le = this.sectionByteOrder(v, p, at);
      const le = this.le;
      const len = v.getUint32(p + 4, le);
      if (len < BLOCK_MIN || (len & 3) !== 0 || len > MAX_RECORD_BYTES) {
        throw new CaptureFileError(win.source, 'corrupt', `bad block length ${len} (block type 0x${type.toString(16)}; expected a multiple of 4 between ${BLOCK_MIN} and ${MAX_RECORD_BYTES})`, at);
      }
      if (win.fill(len) < len) {
        throw new CaptureFileError(win.source, 'truncated', `truncated dump file: block of ${len} bytes has only ${win.available}`, at);
      }
      v = win.view;
      p = win.pos;
      const trailer = v.getUint32(p + len - 4, le);
      if (trailer !== len) {
        throw new CaptureFileError(win.source, 'corrupt', `bad block length: trailing length ${trailer} does not match leading length ${len}`, at);
      }
      switch (type) {
        case PCAPNG_SHB_TYPE:
          this.readSectionHeader(v, p, len, at);
          break;
        case BT_IDB:
          this.readInterface(v, p, len, at);
          break;
        case BT_EPB:
        case BT_OPB:
        case BT_SPB: {
          const f = this.readPacket(type, v, p, len, at);
          win.skip(len);
          this.frames++;
          return f;
        }
        default:
          break; // NRB, ISB, DSB, custom and unknown blocks carry no frames
      }
      win.skip(len);
    }
  }

  close(): void {
    this.win.close();
  }

  private sectionByteOrder(v: DataView, p: number, at: number): boolean {
    if (v.getUint32(p + 8, true) === BYTE_ORDER_MAGIC) return true;
    if (v.getUint32(p + 8, false) === BYTE_ORDER_MAGIC) return false;
    throw new CaptureFileError(this.win.source, 'corrupt', `bad byte-order magic 0x${v.getUint32(p + 8, false).toString(16)} in Section Header Block (expected 0x1a2b3c4d)`, at);
  }

  private readSectionHeader(v: DataView, p: number, len: number, at: number): void {
    if (len < 28) throw new CaptureFileError(this.win.source, 'corrupt', `Section Header Block too short (${len} bytes, need 28)`, at);
    const major = v.getUint16(p + 12, this.le);
    if (major !== 1) {
      throw new CaptureFileError(this.win.source, 'corrupt', `unsupported pcapng version ${major}.${v.getUint16(p + 14, this.le)} (expected 1.x)`, at);
    }
    this.ifaces = [];
    this.sections++;
  }

  private readInterface(v: DataView, p: number, len: number, at: number): void {
    if (len < 20) throw new CaptureFileError(this.win.source, 'corrupt', `Interface Description Block too short (${len} bytes, need 20)`, at);
    const le = this.le;
    const linkType = v.getUint16(p + 8, le);
    const snapLen = v.getUint32(p + 12, le);
    let tsresol = 6;
    let offsetSec = 0;
    const optEnd = p + len - 4;
    let o = p + 16;
    while (o + 4 <= optEnd) {
      const code = v.getUint16(o, le);
      const olen = v.getUint16(o + 2, le);
      if (code === OPT_END) break;
      if (o + 4 + olen > optEnd) {
        throw new CaptureFileError(this.win.source, 'corrupt', `Interface Description Block option ${code} of ${olen} bytes overruns the block`, at);
      }
      if (code === OPT_IF_TSRESOL && olen >= 1) tsresol = v.getUint8(o + 4);
      else if (code === OPT_IF_TSOFFSET && olen >= 8) {
        const lo = v.getUint32(o + 4 + (le ? 0 : 4), le);
        const hi = v.getInt32(o + 4 + (le ? 4 : 0), le);
        offsetSec = hi * 4294967296 + lo;
      }
      o += 4 + ((olen + 3) & ~3);
    }
    this.ifaces.push({ linkType, snapLen, ts: makeTsConverter(tsresol, offsetSec) });
  }

  private readPacket(type: number, v: DataView, p: number, len: number, at: number): CapturedFrame {
    const le = this.le;
    const f = this.frame;
    let ifaceId: number;
    let capLen: number;
    let wireLen: number;
    let dataOff: number;
    if (type === BT_SPB) {
      if (len < 16) throw new CaptureFileError(this.win.source, 'corrupt', `Simple Packet Block too short (${len} bytes, need 16)`, at);
      ifaceId = 0;
      wireLen = v.getUint32(p + 8, le);
      dataOff = 12;
      capLen = Math.min(wireLen, len - 16);
    } else {
      if (len < 32) throw new CaptureFileError(this.win.source, 'corrupt', `packet block too short (${len} bytes, need 32)`, at);
      ifaceId = type === BT_EPB ? v.getUint32(p + 8, le) : v.getUint16(p + 8, le);
      capLen = v.getUint32(p + 20, le);
      wireLen = v.getUint32(p + 24, le);
      dataOff = 28;
      if (capLen > len - 32) {
        throw new CaptureFileError(this.win.source, 'corrupt', `bad block length: captured length ${capLen} exceeds the ${len}-byte packet block`, at);
      }
    }
    const iface = this.ifaces[ifaceId];
    if (iface === undefined) {
      throw new CaptureFileError(this.win.source, 'corrupt', `packet block refers to interface ${ifaceId} but the section defines ${this.ifaces.length}`, at);
    }
    if (type === BT_SPB) {
      if (iface.snapLen > 0 && capLen > iface.snapLen) capLen = iface.snapLen;
      f.tsUs = this.lastTsUs;
    } else {
      f.tsUs = this.lastTsUs = pcapngTsToUs(v.getUint32(p + 12, le), v.getUint32(p + 16, le), iface.ts);
    }
    f.linkType = iface.linkType;
    f.interfaceId = ifaceId;
    f.wireLen = wireLen;
    f.place(this.win.buf, p + dataOff, capLen);
    return f;
  }
}
