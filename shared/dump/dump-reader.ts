// Reads a dump file back into PacketRecords. decodeDump validates everything
// up front (header, body checksum, declared sizes before inflating, every
// column's length and every value's range, canonical encoding) and decodes into
// typed arrays; forEach then only copies into one reused record and cannot fail.
// Any problem is a DumpFormatError naming what is wrong and where. Reads versions 1 and 2
// (2 adds the metadata columns, decoded into DecodedDump.meta).
import { crc32 } from 'node:zlib';
import { EMPTY_BYTES, PacketRecord } from '../packet/packet-record.js';
import { ColumnCursor, unzigzag32, type DecodePosition } from './byte-column.js';
import { decompressBody } from './body-compression.js';
import { DumpFormatError, DumpValueError } from './dump-error.js';
import { CompressionKind, DumpFlag, MAX_TS_US, compressionKind, isDumpTime, readDumpHeader, type DumpHeader } from './dump-header.js';
import {
  COLUMN_COUNT, COLUMN_COUNT_V1, COLUMN_NAMES, Col, SHAPE_KNOWN, SHAPE_NEEDS_TCP, Shape, TS_ESCAPE, TUPLE_EXPLICIT, TUPLE_NEW, TUPLE_REVERSE, TUPLE_SAME, TupleForm,
} from './dump-layout.js';
import { TUPLE_FLAG_MASK, TupleTable } from './tuple-table.js';
import { TupleSlot, TupleState, seqAdvance } from './tuple-state.js';
import { decodeMeta } from './meta-columns.js';
import type { DumpMeta } from '../appmeta/meta-record.js';

export interface DecodeOptions {
  /** refuse dumps declaring more packets (default 1,048,576) */
  maxPackets?: number;
  /** refuse dumps whose body would decompress past this many bytes (default 64 MiB) */
  maxUncompressed?: number;
}

export interface DecodedDump {
  header: DumpHeader;
  packetCount: number;
  /** application metadata records (version 2; empty for version 1), each with its packet's index, in packet order */
  meta: readonly DumpMeta[];
  /** Calls cb once per record in file order with ONE reused record (copy what you keep). */
  forEach(cb: (rec: PacketRecord, index: number) => void): void;
}

export const DEFAULT_MAX_PACKETS = 1 << 20;
export const DEFAULT_MAX_UNCOMPRESSED = 64 * 1024 * 1024;
const TWO_32 = 4294967296;

export function decodeDump(bytes: Uint8Array, opts: DecodeOptions = {}): DecodedDump {
  try {
    return decodeValidated(bytes, opts);
  } catch (e) {
    if (e instanceof DumpFormatError) throw e;
    // a failure this reader did not foresee still must not escape as another type
    throw new DumpFormatError(`dump could not be decoded: ${(e as Error)?.message ?? String(e)}`);
  }
}

function decodeValidated(bytes: Uint8Array, opts: DecodeOptions): DecodedDump {
  const header = readDumpHeader(bytes);
  const maxPackets = opts.maxPackets ?? DEFAULT_MAX_PACKETS;
  const maxUncompressed = opts.maxUncompressed ?? DEFAULT_MAX_UNCOMPRESSED;
  const n = header.packetCount;
  if (n > maxPackets) throw new DumpFormatError(`dump declares ${n} packets, limit is ${maxPackets}`);
  if (header.uncompressedSize > maxUncompressed) {
    throw new DumpFormatError(`dump declares a ${header.uncompressedSize}-byte body, limit is ${maxUncompressed}`);
  }
  const packed = bytes.subarray(bytes.length - header.compressedSize);
  const crc = crc32(packed);
  if (crc !== header.bodyCrc32) {
    throw new DumpFormatError(`body checksum mismatch (stored 0x${header.bodyCrc32.toString(16)}, computed 0x${crc.toString(16)})`);
  }
  const body = decompressBody(compressionKind(header.compression) as CompressionKind, packed, header.uncompressedSize);

  // column directory
  const at = { record: 0 };
  const dirCur = new ColumnCursor(body, 0, body.length, 'directory', at);
  const lens: number[] = [];
  let sum = 0;
  const columns = header.version === 1 ? COLUMN_COUNT_V1 : COLUMN_COUNT;
  for (let i = 0; i < columns; i++) {
    at.record = i;
    const len = dirCur.u32();
    lens.push(len);
    sum += len;
  }
  if (dirCur.pos + sum !== body.length) {
    throw new DumpFormatError(`column directory sums to ${dirCur.pos + sum} bytes, body has ${body.length}`);
  }
  const cur: ColumnCursor[] = [];
  let off = dirCur.pos;
  for (let i = 0; i < columns; i++) {
    cur.push(new ColumnCursor(body, off, off + lens[i]!, COLUMN_NAMES[i]!, at));
    off += lens[i]!;
  }
  if (lens[Col.Shape] !== n) throw new DumpFormatError(`column 'shape' has ${lens[Col.Shape]} bytes, expected one per packet (${n})`);

  const tuples = decodeTuples(cur[Col.Tuples]!, header.tupleCount, at);
  const p = decodePackets(cur, n, tuples, at);
  const meta = columns === COLUMN_COUNT
    ? decodeMeta({ kind: cur[Col.MetaKind]!, packet: cur[Col.MetaPacket]!, ints: cur[Col.MetaInts]!, refs: cur[Col.MetaRefs]!, strings: cur[Col.MetaStrings]!, addrs: cur[Col.MetaAddrs]! }, n, at)
    : [];
  for (let i = 0; i < columns; i++) cur[i]!.expectEnd();
  at.record = n;

  if (n > 0) {
    if (p.ts[0]! !== header.firstTsUs) throw new DumpFormatError(`header firstTsUs ${header.firstTsUs} does not match the first record`);
    if (p.ts[n - 1]! !== header.lastTsUs) throw new DumpFormatError(`header lastTsUs ${header.lastTsUs} does not match the last record`);
  }
  const hasPayload = (header.flags & DumpFlag.HasPayload) !== 0;
  if (hasPayload !== lens[Col.CapLen]! > 0) {
    throw new DumpFormatError(`header payload flag (${hasPayload}) disagrees with the body (${lens[Col.CapLen]! > 0})`);
  }

  return {
    header,
    packetCount: n,
    meta,
    forEach(cb: (rec: PacketRecord, index: number) => void): void {
      const rec = new PacketRecord();
      const addrs = tuples.addrs;
      for (let i = 0; i < n; i++) {
        const t = p.tuple[i]!;
        rec.tsUs = p.ts[i]!;
        rec.direction = tuples.direction[t]!;
        rec.ipVersion = tuples.ipVersion[t]!;
        const a = t * 32;
        for (let k = 0; k < 16; k++) {
          rec.src[k] = addrs[a + k]!;
          rec.dst[k] = addrs[a + 16 + k]!;
        }
        rec.proto = tuples.proto[t]!;
        rec.sport = tuples.sport[t]!;
        rec.dport = tuples.dport[t]!;
        rec.vlan = tuples.vlan[t]!;
        rec.tunnel = tuples.tunnel[t]!;
        rec.flags = (tuples.flags[t]! | p.flags[i]!) >>> 0;
        rec.wireLen = p.wireLen[i]!;
        rec.ipLen = p.ipLen[i]!;
        rec.payloadLen = p.payloadLen[i]!;
        rec.ipId = p.ipId[i]! >>> 0;
        rec.ttl = p.ttl[i]!;
        rec.fragFlags = p.fragFlags[i]!;
        rec.fragOffset = p.fragOffset[i]!;
        rec.tcpFlags = p.tcpFlags[i]!;
        rec.tcpSeq = p.seq[i]! >>> 0;
        rec.tcpAck = p.ack[i]! >>> 0;
        rec.tcpWindow = p.win[i]! >>> 0;
        rec.tcpOptFlags = p.optFlags[i]!;
        rec.tcpMss = p.mss[i]!;
        rec.tcpWscale = p.wscale[i]!;
        rec.tcpTsVal = p.tsVal[i]! >>> 0;
        rec.tcpTsEcr = p.tsEcr[i]! >>> 0;
        const cl = p.capLen[i]!;
        rec.payload = cl === 0 ? EMPTY_BYTES : body.subarray(p.payOff[i]!, p.payOff[i]! + cl);
        cb(rec, i);
      }
    },
  };
}

interface Tuples {
  count: number;
  direction: Uint8Array;
  ipVersion: Uint8Array;
  proto: Uint8Array;
  tunnel: Uint8Array;
  flags: Uint8Array;
  vlan: Uint16Array;
  sport: Uint16Array;
  dport: Uint16Array;
  /** 32 bytes per tuple: src then dst, 16 each */
  addrs: Uint8Array;
}

function decodeTuples(c: ColumnCursor, count: number, at: DecodePosition): Tuples {
  // smallest entry is 20 bytes: refuse counts the column cannot hold before allocating
  if (count * 20 > c.end - c.pos) c.fail(`${count} tuples need at least ${count * 20} bytes, column has ${c.end - c.pos}`);
  const t: Tuples = {
    count,
    direction: new Uint8Array(count),
    ipVersion: new Uint8Array(count),
    proto: new Uint8Array(count),
    tunnel: new Uint8Array(count),
    flags: new Uint8Array(count),
    vlan: new Uint16Array(count),
    sport: new Uint16Array(count),
    dport: new Uint16Array(count),
    addrs: new Uint8Array(count * 32),
  };
  for (let i = 0; i < count; i++) {
    at.record = i;
    const form = c.byte();
    if ((form & ~TupleForm.Addr16) !== 0) c.fail(`unknown tuple form 0x${form.toString(16)}`);
    t.direction[i] = c.byte();
    const ver = c.byte();
    t.ipVersion[i] = ver;
    t.proto[i] = c.byte();
    t.tunnel[i] = c.byte();
    const fl = c.byte();
    if ((fl & ~TUPLE_FLAG_MASK) !== 0) c.fail(`tuple flag byte 0x${fl.toString(16)} has bits outside SrcAnon|DstAnon|Inner`);
    t.flags[i] = fl;
    t.vlan[i] = c.u16();
    t.sport[i] = c.u16();
    t.dport[i] = c.u16();
    const alen = (form & TupleForm.Addr16) !== 0 ? 16 : 4;
    if (alen === 4 && ver !== 4) c.fail(`4-byte address form used for IP version ${ver}`);
    const s = c.skip(alen);
    const d = c.skip(alen);
    const buf = c.b;
    let tail = 0;
    for (let k = 0; k < alen; k++) {
      t.addrs[i * 32 + k] = buf[s + k]!;
      t.addrs[i * 32 + 16 + k] = buf[d + k]!;
      if (k >= 4) tail |= buf[s + k]! | buf[d + k]!;
    }
    // canonical form: IPv4 whose bytes 4..15 are zero is always written in the 4-byte form
    if (alen === 16 && ver === 4 && tail === 0) c.fail('IPv4 tuple in the 16-byte form with zero bytes 4..15');
  }
  return t;
}

interface Packets {
  ts: Float64Array;
  tuple: Uint32Array;
  flags: Uint32Array;
  wireLen: Uint32Array;
  ipLen: Uint32Array;
  payloadLen: Uint32Array;
  ipId: Int32Array;
  ttl: Uint8Array;
  fragFlags: Uint32Array;
  fragOffset: Uint32Array;
  tcpFlags: Uint32Array;
  seq: Int32Array;
  ack: Int32Array;
  win: Int32Array;
  optFlags: Uint32Array;
  mss: Uint32Array;
  wscale: Uint32Array;
  tsVal: Int32Array;
  tsEcr: Int32Array;
  capLen: Uint32Array;
  payOff: Uint32Array;
}

function decodePackets(cur: ColumnCursor[], n: number, tuples: Tuples, at: DecodePosition): Packets {
  const tupleCount = tuples.count;
  const p: Packets = {
    ts: new Float64Array(n), tuple: new Uint32Array(n), flags: new Uint32Array(n),
    wireLen: new Uint32Array(n), ipLen: new Uint32Array(n), payloadLen: new Uint32Array(n),
    ipId: new Int32Array(n), ttl: new Uint8Array(n), fragFlags: new Uint32Array(n), fragOffset: new Uint32Array(n),
    tcpFlags: new Uint32Array(n), seq: new Int32Array(n), ack: new Int32Array(n), win: new Int32Array(n),
    optFlags: new Uint32Array(n), mss: new Uint32Array(n), wscale: new Uint32Array(n),
    tsVal: new Int32Array(n), tsEcr: new Int32Array(n), capLen: new Uint32Array(n), payOff: new Uint32Array(n),
  };
  const st = new TupleState(Math.max(1, tupleCount));
  linkReverseTuples(tuples, st);
  const f64 = new DataView(new ArrayBuffer(8));
  let introduced = 0;
  let prevT = -1;
  const cShape = cur[Col.Shape]!, cTuple = cur[Col.TupleIdx]!, cTs = cur[Col.Ts]!;
  const cPay = cur[Col.PayloadLen]!, cIpOver = cur[Col.IpOverhead]!, cWireOver = cur[Col.WireOverhead]!;
  const cIpId = cur[Col.IpId]!, cTtl = cur[Col.Ttl]!, cFlags = cur[Col.Flags]!;
  const cFragF = cur[Col.FragFlags]!, cFragO = cur[Col.FragOffset]!;
  const cTcpF = cur[Col.TcpFlags]!, cSeq = cur[Col.TcpSeq]!, cAck = cur[Col.TcpAck]!, cWin = cur[Col.TcpWindow]!;
  const cOpt = cur[Col.TcpOptFlags]!, cMss = cur[Col.TcpMss]!, cWs = cur[Col.TcpWscale]!;
  const cTsv = cur[Col.TcpTsVal]!, cTse = cur[Col.TcpTsEcr]!, cCap = cur[Col.CapLen]!, cPayload = cur[Col.Payload]!;
  let prevTs = 0;
  for (let i = 0; i < n; i++) {
    at.record = i;
    const shape = cShape.byte();
    if ((shape & ~SHAPE_KNOWN) !== 0) cShape.fail(`unknown shape bits 0x${shape.toString(16)}`);
    if ((shape & SHAPE_NEEDS_TCP) !== 0 && (shape & Shape.Tcp) === 0) cShape.fail('TCP option bits without the TCP bit');
    const code = cTuple.u32();
    let t: number;
    if (code === TUPLE_NEW) {
      if (introduced === tupleCount) cTuple.fail(`new tuple referenced but all ${tupleCount} tuples are in use`);
      t = introduced++;
    } else if (code === TUPLE_SAME) {
      if (prevT < 0) cTuple.fail('first packet refers to a previous tuple');
      t = prevT;
    } else if (code === TUPLE_REVERSE) {
      const r = prevT < 0 ? -1 : st.rev(prevT);
      if (r < 0 || r >= introduced) cTuple.fail('reverse tuple referenced but the previous tuple has none in use');
      t = r;
    } else {
      t = code - TUPLE_EXPLICIT;
      if (t >= introduced) cTuple.fail(`tuple index ${t} out of range (${introduced} tuples in use)`);
      // canonical form: the shorter codes are used whenever they apply
      if (t === prevT || (prevT >= 0 && t === st.rev(prevT))) cTuple.fail(`tuple index ${t} written explicitly where a short code applies`);
    }
    p.tuple[i] = prevT = t;

    const u = cTs.uint();
    let ts: number;
    if (u === TS_ESCAPE) {
      ts = cTs.f64(f64);
      if (!isDumpTime(ts)) throw new DumpValueError(`column 'ts' at record ${i}: timestamp ${ts} is not a whole number of microseconds in 0..2^53-1`);
    } else {
      if (u - 1 > 0xffffffff) cTs.fail('timestamp delta exceeds 32 bits');
      ts = prevTs + unzigzag32(u - 1);
      if (ts < 0 || ts > MAX_TS_US) throw new DumpValueError(`column 'ts' at record ${i}: timestamp ${ts} is outside 0..2^53-1`);
    }
    p.ts[i] = prevTs = ts;

    const payloadLen = cPay.u32();
    const ipLen = payloadLen + cIpOver.sint();
    if (ipLen < 0 || ipLen >= TWO_32) cIpOver.fail(`IP length ${ipLen} out of range`);
    const wireLen = ipLen + cWireOver.sint();
    if (wireLen < 0 || wireLen >= TWO_32) cWireOver.fail(`wire length ${wireLen} out of range`);
    p.payloadLen[i] = payloadLen;
    p.ipLen[i] = ipLen;
    p.wireLen[i] = wireLen;
    const s = st.s;
    const k = t * TupleSlot.Stride;
    const ipId = (s[k + TupleSlot.IpId]! + unzigzag32(cIpId.u32())) | 0;
    p.ipId[i] = s[k + TupleSlot.IpId] = ipId;
    p.ttl[i] = cTtl.byte();

    if ((shape & Shape.Flags) !== 0) {
      const f = cFlags.u32();
      if (f === 0 || (f & TUPLE_FLAG_MASK) !== 0) cFlags.fail(`per-packet flags 0x${f.toString(16)} are zero or hold tuple bits`);
      p.flags[i] = f;
    }
    if ((shape & Shape.Frag) !== 0) {
      const ff = cFragF.u32();
      const fo = cFragO.u32();
      if ((ff | fo) === 0) cFragF.fail('fragment group present but empty');
      p.fragFlags[i] = ff;
      p.fragOffset[i] = fo;
    }
    if ((shape & Shape.Tcp) !== 0) {
      // same predictions, in the same order, as the writer (see tuple-state.ts)
      const tf = cTcpF.u32();
      const r = s[k + TupleSlot.Rev]!;
      const kr = r * TupleSlot.Stride;
      const revSeen = r >= 0 && s[kr + TupleSlot.Seen] === 1;
      const ackPred = revSeen ? s[kr + TupleSlot.Next]! : s[k + TupleSlot.Ack]!;
      const seq = (s[k + TupleSlot.Next]! + unzigzag32(cSeq.u32())) | 0;
      s[k + TupleSlot.Next] = seq + seqAdvance(tf, payloadLen);
      const ack = (ackPred + unzigzag32(cAck.u32())) | 0;
      s[k + TupleSlot.Ack] = ack;
      const win = (s[k + TupleSlot.Win]! + unzigzag32(cWin.u32())) | 0;
      s[k + TupleSlot.Win] = win;
      const opt = cOpt.u32();
      p.tcpFlags[i] = tf;
      p.seq[i] = seq;
      p.ack[i] = ack;
      p.win[i] = win;
      p.optFlags[i] = opt;
      let any = tf | seq | ack | win | opt;
      if ((shape & Shape.Mss) !== 0) {
        const v = cMss.u32();
        if (v === 0) cMss.fail('MSS marked present but zero');
        p.mss[i] = v;
        any |= v;
      }
      if ((shape & Shape.Wscale) !== 0) {
        const v = cWs.u32();
        if (v === 0) cWs.fail('window scale marked present but zero');
        p.wscale[i] = v;
        any |= v;
      }
      if ((shape & Shape.TcpTs) !== 0) {
        const tsEcrPred = revSeen ? s[kr + TupleSlot.TsVal]! : s[k + TupleSlot.TsEcr]!;
        const tv = (s[k + TupleSlot.TsVal]! + unzigzag32(cTsv.u32())) | 0;
        const te = (tsEcrPred + unzigzag32(cTse.u32())) | 0;
        if ((tv | te) === 0) cTsv.fail('TCP timestamps marked present but zero');
        p.tsVal[i] = s[k + TupleSlot.TsVal] = tv;
        p.tsEcr[i] = s[k + TupleSlot.TsEcr] = te;
        any |= 1;
      }
      if (any === 0) cTcpF.fail('TCP group present but empty');
      s[k + TupleSlot.Seen] = 1;
    }
    if ((shape & Shape.Payload) !== 0) {
      const cl = cCap.u32();
      if (cl === 0) cCap.fail('payload marked present but its length is zero');
      p.capLen[i] = cl;
      p.payOff[i] = cPayload.skip(cl);
    }
  }
  if (introduced !== tupleCount) throw new DumpFormatError(`${tupleCount - introduced} of ${tupleCount} tuples are never referenced`);
  return p;
}

/** Link each tuple with the one carrying the other direction of its conversation, with the writer's own table. */
function linkReverseTuples(t: Tuples, st: TupleState): void {
  const table = new TupleTable(Math.max(16, t.count));
  const rec = new PacketRecord();
  for (let i = 0; i < t.count; i++) {
    rec.direction = t.direction[i]!;
    rec.ipVersion = t.ipVersion[i]!;
    rec.proto = t.proto[i]!;
    rec.tunnel = t.tunnel[i]!;
    rec.flags = t.flags[i]!;
    rec.vlan = t.vlan[i]!;
    rec.sport = t.sport[i]!;
    rec.dport = t.dport[i]!;
    for (let k = 0; k < 16; k++) {
      rec.src[k] = t.addrs[i * 32 + k]!;
      rec.dst[k] = t.addrs[i * 32 + 16 + k]!;
    }
    const before = table.count;
    const idx = table.lookup(rec);
    if (table.count === before) throw new DumpFormatError(`tuple ${i} duplicates tuple ${idx}`);
  }
  for (let i = 0; i < t.count; i++) st.s[i * TupleSlot.Stride + TupleSlot.Rev] = table.reverseOf(i);
}
