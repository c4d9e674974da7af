// pcapng output (the IETF pcapng draft, as Wireshark reads it): one Section Header Block, then
// Interface Description Blocks and Enhanced Packet Blocks in any order. Blocks are appended to
// one growable buffer that the caller takes with drain() and writes wherever it likes (a file,
// an HTTP response), so a long export streams with bounded memory. Little-endian, microsecond
// timestamps (the default if_tsresol), no limit on the snap length. Pure: bytes in, bytes out.

const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 1;
const BT_EPB = 6;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const OPT_END = 0;
const OPT_COMMENT = 1;
const OPT_SHB_USERAPPL = 4;
const OPT_IF_NAME = 2;
const OPT_IF_DESCRIPTION = 3;
const OPT_EPB_FLAGS = 2;
/** longest option value written (the format allows 65535; longer text is cut) */
const MAX_OPTION_BYTES = 65532;

/** epb_flags bits 0-1: the packet's direction relative to the capturing interface. */
export const enum EpbDirection {
  Unknown = 0,
  Inbound = 1,
  Outbound = 2,
}

export interface PcapngInterfaceInfo {
  /** LINKTYPE_* of the packets on this interface */
  linkType: number;
  /** largest captured length (0 = no limit) */
  snapLen?: number;
  name?: string;
  description?: string;
}

export interface PcapngPacketInfo {
  /** index returned by addInterface() */
  interfaceId: number;
  /** microseconds since the epoch */
  tsUs: number;
  /** the captured bytes (may be shorter than origLen) */
  data: Uint8Array;
  /** length of the packet as it was on the wire */
  origLen: number;
  direction?: EpbDirection;
  comment?: string;
}

const encoder = new TextEncoder();

export class PcapngWriter {
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;
  private interfaces = 0;

  /** Starts the section; `application` goes into shb_userappl, `comment` into the section's comment. */
  constructor(opts: { application?: string; comment?: string } = {}) {
    this.buf = new Uint8Array(64 * 1024);
    this.view = new DataView(this.buf.buffer);
    const start = this.begin(BT_SHB);
    this.u32(BYTE_ORDER_MAGIC);
    this.u16(1);
    this.u16(0);
    // section length unknown (-1): the file is written as a stream
    this.u32(0xffffffff);
    this.u32(0xffffffff);
    if (opts.comment) this.textOption(OPT_COMMENT, opts.comment);
    if (opts.application) this.textOption(OPT_SHB_USERAPPL, opts.application);
    this.end(start, true);
  }

  /** Bytes written so far and not yet drained. */
  get pendingBytes(): number {
    return this.len;
  }

  get interfaceCount(): number {
    return this.interfaces;
  }

  /** Adds an Interface Description Block; returns the interface id packets refer to. */
  addInterface(i: PcapngInterfaceInfo): number {
    const start = this.begin(BT_IDB);
    this.u16(i.linkType & 0xffff);
    this.u16(0);
    this.u32(i.snapLen ?? 0);
    let opts = false;
    if (i.name) { this.textOption(OPT_IF_NAME, i.name); opts = true; }
    if (i.description) { this.textOption(OPT_IF_DESCRIPTION, i.description); opts = true; }
    this.end(start, opts);
    return this.interfaces++;
  }

  /** Adds an Enhanced Packet Block. */
  addPacket(p: PcapngPacketInfo): void {
    if (!Number.isInteger(p.interfaceId) || p.interfaceId < 0 || p.interfaceId >= this.interfaces) {
      throw new RangeError(`packet names interface ${p.interfaceId}, but ${this.interfaces} interface(s) were added`);
    }
    const cap = p.data.length;
    if (p.origLen < cap) throw new RangeError(`original length ${p.origLen} is below the captured length ${cap}`);
    const start = this.begin(BT_EPB);
    this.u32(p.interfaceId);
    const ts = p.tsUs > 0 && Number.isFinite(p.tsUs) ? Math.floor(p.tsUs) : 0;
    const hi = Math.floor(ts / 4294967296);
    this.u32(hi);
    this.u32(ts - hi * 4294967296);
    this.u32(cap);
    this.u32(Math.min(p.origLen, 0xffffffff));
    this.bytes(p.data);
    this.pad4();
    let opts = false;
    if (p.comment) { this.textOption(OPT_COMMENT, p.comment); opts = true; }
    if (p.direction) {
      this.u16(OPT_EPB_FLAGS);
      this.u16(4);
      this.u32(p.direction & 3);
      opts = true;
    }
    this.end(start, opts);
  }

  /** Everything written since the last drain(); the writer keeps going. */
  drain(): Uint8Array {
    const out = this.buf.slice(0, this.len);
    this.len = 0;
    return out;
  }

  // ---- block plumbing --------------------------------------------------------------------

  private begin(type: number): number {
    const start = this.len;
    this.u32(type);
    this.u32(0); // total length, patched by end()
    return start;
  }

  private end(start: number, hadOptions: boolean): void {
    if (hadOptions) {
      this.u16(OPT_END);
      this.u16(0);
    }
    const total = this.len - start + 4;
    this.view.setUint32(start + 4, total, true);
    this.u32(total);
  }

  private textOption(code: number, text: string): void {
    let b = encoder.encode(text);
    if (b.length > MAX_OPTION_BYTES) b = b.subarray(0, MAX_OPTION_BYTES);
    this.u16(code);
    this.u16(b.length);
    this.bytes(b);
    this.pad4();
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  private u16(v: number): void {
    this.room(2);
    this.view.setUint16(this.len, v, true);
    this.len += 2;
  }

  private u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.len, v >>> 0, true);
    this.len += 4;
  }

  private bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  private pad4(): void {
    const n = (4 - (this.len & 3)) & 3;
    this.room(n);
    for (let i = 0; i < n; i++) this.buf[this.len++] = 0;
  }
}
