// Test helper: writes pcap and pcapng files from frames, in either byte order and
// any timestamp resolution, following the file format specs (independently of
// the readers under test; tshark reads the results back as a cross-check).
import { openCaptureFile } from '../../../shared/capture-file/index.js';

export interface TestFrame {
  linkType: number;
  data: Uint8Array;
  wireLen: number;
  tsUs: number;
  interfaceId: number;
}

/** All frames of a capture, copied out of the reader's buffer. */
export function loadFrames(path: string): TestFrame[] {
  const r = openCaptureFile(path);
  const frames: TestFrame[] = [];
  try {
    for (let f = r.next(); f; f = r.next()) frames.push({ linkType: f.linkType, data: f.data.slice(), wireLen: f.wireLen, tsUs: f.tsUs, interfaceId: f.interfaceId });
  } finally {
    r.close();
  }
  return frames;
}

/** A growable byte buffer with endian-aware integer writers. */
export class ByteSink {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  length = 0;

  constructor(public littleEndian: boolean) {}

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    b.set(this.buf.subarray(0, this.length));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }

  u8(v: number): this { this.room(1); this.view.setUint8(this.length, v); this.length += 1; return this; }
  u16(v: number): this { this.room(2); this.view.setUint16(this.length, v, this.littleEndian); this.length += 2; return this; }
  u32(v: number): this { this.room(4); this.view.setUint32(this.length, v >>> 0, this.littleEndian); this.length += 4; return this; }
  u64(v: bigint): this { this.room(8); this.view.setBigUint64(this.length, BigInt.asUintN(64, v), this.littleEndian); this.length += 8; return this; }
  bytes(b: Uint8Array): this { this.room(b.length); this.buf.set(b, this.length); this.length += b.length; return this; }
  pad4(): this { while (this.length % 4 !== 0) this.u8(0); return this; }
  /** Overwrites a u32 already written at `at`. */
  patch32(at: number, v: number): void { this.view.setUint32(at, v >>> 0, this.littleEndian); }
  result(): Uint8Array { return this.buf.slice(0, this.length); }
}

export interface PcapOptions {
  littleEndian: boolean;
  nanosecond: boolean;
  linkType: number;
  snapLen?: number;
  /** extra nanoseconds added below the microsecond (ns files only), to check flooring */
  extraNs?: number;
}

export function writePcap(frames: readonly TestFrame[], o: PcapOptions): Uint8Array {
  const s = new ByteSink(o.littleEndian);
  s.u32(o.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(o.snapLen ?? 262144).u32(o.linkType);
  for (const f of frames) {
    const sec = Math.floor(f.tsUs / 1e6);
    const us = f.tsUs - sec * 1e6;
    s.u32(sec).u32(o.nanosecond ? us * 1000 + (o.extraNs ?? 0) : us).u32(f.data.length).u32(f.wireLen).bytes(f.data);
  }
  return s.result();
}

export interface IdbOptions {
  linkType: number;
  snapLen?: number;
  /** if_tsresol byte (absent = microseconds) */
  tsresol?: number;
  /** if_tsoffset seconds */
  tsoffset?: bigint;
  name?: string;
}

/** Timestamp units for `tsUs` at an if_tsresol value (floor), as the pcapng writer stores them. */
export function unitsFor(tsUs: number, tsresol = 6): bigint {
  const us = BigInt(tsUs);
  const e = BigInt(tsresol & 0x7f);
  if (tsresol & 0x80) return (us << e) / 1000000n;
  return e >= 6n ? us * 10n ** (e - 6n) : us / 10n ** (6n - e);
}

/** What a reader should report for `units` at that resolution: microseconds, floored. */
export function usFor(units: bigint, tsresol = 6, offsetSec = 0n): number {
  const e = BigInt(tsresol & 0x7f);
  let us: bigint;
  if (tsresol & 0x80) us = (units * 1000000n) >> e;
  else us = e >= 6n ? units / 10n ** (e - 6n) : units * 10n ** (6n - e);
  return Number(us + offsetSec * 1000000n);
}

/** Writes pcapng blocks; each section may use its own byte order. */
export class PcapngWriter {
  private sink = new ByteSink(true);
  private readonly parts: Uint8Array[] = [];

  private flush(): void {
    if (this.sink.length) this.parts.push(this.sink.result());
  }

  private block(type: number, body: (s: ByteSink) => void): this {
    const s = this.sink;
    const start = s.length;
    s.u32(type).u32(0);
    body(s);
    s.pad4();
    const len = s.length - start + 4;
    s.u32(len);
    s.patch32(start + 4, len);
    return this;
  }

  section(littleEndian: boolean, comment?: string): this {
    this.flush();
    this.sink = new ByteSink(littleEndian);
    return this.block(0x0a0d0d0a, (s) => {
      s.u32(0x1a2b3c4d).u16(1).u16(0).u64(-1n);
      if (comment) option(s, 1, new TextEncoder().encode(comment));
      if (comment) s.u16(0).u16(0);
    });
  }

  idb(o: IdbOptions): this {
    return this.block(1, (s) => {
      s.u16(o.linkType).u16(0).u32(o.snapLen ?? 0);
      const opts = o.name !== undefined || o.tsresol !== undefined || o.tsoffset !== undefined;
      if (o.name !== undefined) option(s, 2, new TextEncoder().encode(o.name));
      if (o.tsresol !== undefined) option(s, 9, Uint8Array.of(o.tsresol));
      if (o.tsoffset !== undefined) {
        const v = new ByteSink(s.littleEndian).u64(o.tsoffset).result();
        option(s, 14, v);
      }
      if (opts) s.u16(0).u16(0);
    });
  }

  epb(iface: number, units: bigint, data: Uint8Array, wireLen: number, comment?: string): this {
    return this.block(6, (s) => {
      s.u32(iface).u32(Number(units >> 32n)).u32(Number(units & 0xffffffffn)).u32(data.length).u32(wireLen).bytes(data).pad4();
      if (comment) { option(s, 1, new TextEncoder().encode(comment)); s.u16(0).u16(0); }
    });
  }

  /** Obsolete Packet Block (type 2): 16-bit interface id and drops count. */
  opb(iface: number, units: bigint, data: Uint8Array, wireLen: number): this {
    return this.block(2, (s) => {
      s.u16(iface).u16(0).u32(Number(units >> 32n)).u32(Number(units & 0xffffffffn)).u32(data.length).u32(wireLen).bytes(data).pad4();
    });
  }

  /** Simple Packet Block: original length then the data (captured length implied). */
  spb(data: Uint8Array, wireLen: number): this {
    return this.block(3, (s) => {
      s.u32(wireLen).bytes(data).pad4();
    });
  }

  /** Any block given its type and body bytes (NRB, ISB, custom, unknown). */
  raw(type: number, body: Uint8Array): this {
    return this.block(type, (s) => { s.bytes(body); });
  }

  result(): Uint8Array {
    this.flush();
    this.sink = new ByteSink(true);
    const n = this.parts.reduce((a, p) => a + p.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of this.parts) { out.set(p, o); o += p.length; }
    this.parts.length = 0;
    return out;
  }
}

function option(s: ByteSink, code: number, value: Uint8Array): void {
  s.u16(code).u16(value.length).bytes(value).pad4();
}
