// Builds one dump file from PacketRecords: copies what it needs from each record
// at add() (the caller reuses its record) - the common fields into a block of plain
// values that is varint-encoded into the per-field columns a block at a time
// (packet-block.ts), the rare ones straight into their columns - then at finish()
// lays out the body, compresses it and prepends the header.
// Per packet: one tuple lookup and a few typed-array stores, no allocation. Metadata
// records (AppMeta) queued with queueMeta() belong to the next packet added; they go into
// the metadata columns (meta-columns.ts).
import { crc32 } from 'node:zlib';
import type { PacketRecord } from '../packet/packet-record.js';
import { ByteColumn, zigzag32 } from './byte-column.js';
import { BLOCK_PACKETS, PacketBlock, type BlockColumns } from './packet-block.js';
import { compressBody } from './body-compression.js';
import {
  CompressionKind, DUMP_HEADER_LEN, DumpFlag, compressionKind, dumpTime, encodeHeader, keyIdToBytes, uuidToBytes,
} from './dump-header.js';
import { COLUMN_COUNT, Col, Shape, TUPLE_EXPLICIT, TUPLE_NEW, TUPLE_REVERSE, TUPLE_SAME, TupleForm } from './dump-layout.js';
import { KEY_WORDS, TUPLE_FLAG_MASK, TupleTable } from './tuple-table.js';
import { TupleSlot, TupleState, seqAdvance } from './tuple-state.js';
import { MetaEncoder } from './meta-columns.js';
import type { AppMeta } from '../appmeta/meta-record.js';

export interface DumpWriterOptions {
  /** agent id, UUID text */
  agentId: string;
  /** anonymization key id, 16 hex digits */
  anonKeyId: string;
  /** payload bytes kept per packet by the snap policy (recorded in the header) */
  snapLen: number;
  /** pcap LINKTYPE_* (default 1, Ethernet) */
  linkType?: number;
  /** body compression (default 'brotli' quality 2); see docs/dump-format.md for the measurements */
  compression?: 'none' | 'deflate-raw' | 'brotli';
  /** compressor level: deflate 1..9 (default 6), brotli quality 0..11 (default 2) */
  level?: number;
  /** mark every dump as retro capture (header flag Retro) */
  retro?: boolean;
}

/**
 * First value of the time fields (µs since the epoch, beyond V8's small integers): a field
 * starting as 0 changes its representation, and the writer's hidden class, at the first
 * timestamp stored, which deoptimized add() when that was the first block flush
 * (PacketRecord's AS_DOUBLE says the same). The constructor then stores 0.
 */
const AS_DOUBLE = 0.5;

/** Packets in the writer's first block (see flushFirstOrFullBlock). */
const FIRST_BLOCK_PACKETS = 64;

const DEFAULT_LEVEL: Record<string, number> = { 'none': 0, 'deflate-raw': 6, 'brotli': 2 };

export class DumpWriter {
  private readonly agentId: Uint8Array;
  private readonly keyId: Uint8Array;
  private readonly linkType: number;
  private readonly compression: CompressionKind;
  private readonly level: number;
  private readonly retro: boolean;
  private snap: number;
  private maxSnap: number;

  // one column per field, held in fields (not an array) so the hot path indexes nothing
  private readonly cols: ByteColumn[] = [];
  private readonly cTuples = this.col(Col.Tuples);
  private readonly cShape = this.col(Col.Shape);
  private readonly cTupleIdx = this.col(Col.TupleIdx);
  private readonly cTs = this.col(Col.Ts);
  private readonly cPayloadLen = this.col(Col.PayloadLen);
  private readonly cIpOverhead = this.col(Col.IpOverhead);
  private readonly cWireOverhead = this.col(Col.WireOverhead);
  private readonly cIpId = this.col(Col.IpId);
  private readonly cTtl = this.col(Col.Ttl);
  private readonly cFlags = this.col(Col.Flags);
  private readonly cFragFlags = this.col(Col.FragFlags);
  private readonly cFragOffset = this.col(Col.FragOffset);
  private readonly cTcpFlags = this.col(Col.TcpFlags);
  private readonly cTcpSeq = this.col(Col.TcpSeq);
  private readonly cTcpAck = this.col(Col.TcpAck);
  private readonly cTcpWindow = this.col(Col.TcpWindow);
  private readonly cTcpOptFlags = this.col(Col.TcpOptFlags);
  private readonly cTcpMss = this.col(Col.TcpMss);
  private readonly cTcpWscale = this.col(Col.TcpWscale);
  private readonly cTcpTsVal = this.col(Col.TcpTsVal);
  private readonly cTcpTsEcr = this.col(Col.TcpTsEcr);
  private readonly cCapLen = this.col(Col.CapLen);
  private readonly cPayload = this.col(Col.Payload);
  private readonly blockCols: BlockColumns = {
    shape: this.cShape, tupleIdx: this.cTupleIdx, ts: this.cTs, payloadLen: this.cPayloadLen,
    ipOverhead: this.cIpOverhead, wireOverhead: this.cWireOverhead, ipId: this.cIpId, ttl: this.cTtl,
    fragFlags: this.cFragFlags, fragOffset: this.cFragOffset,
    tcpFlags: this.cTcpFlags, tcpSeq: this.cTcpSeq, tcpAck: this.cTcpAck, tcpWindow: this.cTcpWindow,
    tcpOptFlags: this.cTcpOptFlags, tcpTsVal: this.cTcpTsVal, tcpTsEcr: this.cTcpTsEcr,
  };
  private readonly meta = new MetaEncoder();
  /** metadata waiting for the next packet */
  private queued: AppMeta[] = [];
  /**
   * queued.length, kept apart: add() tests this number on every packet instead of the array,
   * whose hidden class changes when the first record is pushed into a new (empty) array, and
   * which add() reading it deoptimized at the first metadata record.
   * It starts at 1 with the queue empty, so that a writer's first add() runs addQueuedMeta()
   * once (adding nothing), which sets it to 0: (1) add() then has type feedback for that call
   * when V8 optimizes it, and does not deoptimize at the first metadata record for want of
   * it; (2) the field is stored with two values from the start, so V8 does not track it as a
   * constant: stored only as 0 until the first queueMeta(), it was one, and queueMeta() making
   * it mutable invalidated the optimized add() ("code dependencies"; --trace-generalization
   * shows the field change just before that deoptimization).
   */
  private nQueued = 1;
  private readonly block = new PacketBlock();
  private readonly tuples = new TupleTable();
  private readonly st = new TupleState(256);
  /** timestamp the next block's first delta is taken from */
  private prevTs = AS_DOUBLE;
  private prevTuple = -1;
  /**
   * packets in a full block: FIRST_BLOCK_PACKETS until the first flush, then BLOCK_PACKETS.
   * Stored twice in construction so that V8 does not track it as a constant field: the
   * change at the first flush would then change the writer's hidden class and deoptimize add().
   */
  private blockLimit = BLOCK_PACKETS;
  private n = 0;
  private first = AS_DOUBLE;
  private last = AS_DOUBLE;
  private anyPayload = false;
  private scratch = new Uint8Array(0);

  constructor(opts: DumpWriterOptions) {
    const m = this.meta;
    this.cols[Col.MetaKind] = m.kind;
    this.cols[Col.MetaPacket] = m.packet;
    this.cols[Col.MetaInts] = m.ints;
    this.cols[Col.MetaRefs] = m.refs;
    this.cols[Col.MetaStrings] = m.strings;
    this.cols[Col.MetaAddrs] = m.addrs;
    this.agentId = uuidToBytes(opts.agentId);
    this.keyId = keyIdToBytes(opts.anonKeyId);
    this.linkType = checkU32('linkType', opts.linkType ?? 1);
    this.snap = checkU32('snapLen', opts.snapLen);
    this.maxSnap = this.snap;
    const comp = opts.compression ?? 'brotli';
    this.compression = compressionKind(comp);
    this.level = opts.level ?? DEFAULT_LEVEL[comp]!;
    this.retro = opts.retro ?? false;
    this.prevTs = 0;
    this.first = 0;
    this.last = 0;
    this.blockLimit = FIRST_BLOCK_PACKETS;
    const maxLevel = this.compression === CompressionKind.Brotli ? 11 : this.compression === CompressionKind.DeflateRaw ? 9 : 0;
    if (!Number.isInteger(this.level) || this.level < 0 || this.level > maxLevel) {
      throw new RangeError(`compression level ${this.level} out of range 0..${maxLevel} for ${comp}`);
    }
  }

  /** Packets added since the last finish()/reset(). */
  get count(): number {
    return this.n;
  }

  /** tsUs of the first packet of the pending dump (0 when empty). */
  get firstTsUs(): number {
    return this.first;
  }

  /** tsUs of the last packet added (0 when empty). */
  get lastTsUs(): number {
    return this.last;
  }

  get snapLen(): number {
    return this.snap;
  }

  /** New snap length; the header records the largest one in force while a dump was open. */
  set snapLen(n: number) {
    this.snap = checkU32('snapLen', n);
    if (this.snap > this.maxSnap) this.maxSnap = this.snap;
  }

  /** Metadata records in the pending dump. */
  get metaCount(): number {
    return this.meta.count;
  }

  /** Queues a metadata record for the next packet add()ed (it is stored with that packet). */
  queueMeta(m: AppMeta): void {
    this.nQueued = this.queued.push(m);
  }

  add(rec: PacketRecord): void {
    const tt = this.tuples;
    const before = tt.count;
    const t = tt.lookup(rec);
    const st = this.st;
    const isNew = tt.count !== before;
    if (isNew) {
      st.ensure(t);
      st.init(t);
      const r = tt.reverseOf(t);
      if (r >= 0) st.link(t, r);
    }

    // reduced to whole µs in [0, 2^53-1]: the reader refuses anything else (docs/dump-format.md 4)
    const ts = dumpTime(rec.tsUs);
    // stored on every packet, not under `if (n === 0)`: that branch first runs again at the
    // second dump, after V8 optimized this function, and deoptimized it for want of feedback
    this.first = this.n === 0 ? ts : this.first;
    this.last = ts;
    this.n++;

    // values are coerced to their 32-bit domain once, so presence bits and stored values agree
    const mss = rec.tcpMss >>> 0;
    const wscale = rec.tcpWscale >>> 0;
    const tcpAny = rec.tcpFlags | rec.tcpSeq | rec.tcpAck | rec.tcpWindow | rec.tcpOptFlags |
      mss | wscale | rec.tcpTsVal | rec.tcpTsEcr;
    const pktFlags = (rec.flags & ~TUPLE_FLAG_MASK) >>> 0;
    const capLen = rec.payload.length;
    let shape = 0;
    if (tcpAny !== 0) {
      shape = Shape.Tcp;
      if (mss !== 0) shape |= Shape.Mss;
      if (wscale !== 0) shape |= Shape.Wscale;
      if ((rec.tcpTsVal | rec.tcpTsEcr) !== 0) shape |= Shape.TcpTs;
    }
    if ((rec.fragFlags | rec.fragOffset) !== 0) shape |= Shape.Frag;
    if (pktFlags !== 0) shape |= Shape.Flags;
    if (capLen !== 0) shape |= Shape.Payload;

    const b = this.block;
    const i = b.n;
    b.shape[i] = shape;
    // tuple t's state words are s[k..k+8), the reverse tuple's s[kr..kr+8) (TupleSlot)
    const s = st.s;
    const k = t * TupleSlot.Stride;
    const prevT = this.prevTuple;
    b.tupleCode[i] = isNew ? TUPLE_NEW : t === prevT ? TUPLE_SAME
      : prevT >= 0 && t === s[prevT * TupleSlot.Stride + TupleSlot.Rev] ? TUPLE_REVERSE : TUPLE_EXPLICIT + t;
    this.prevTuple = t;
    b.ts[i] = ts;
    const payloadLen = rec.payloadLen >>> 0;
    b.payloadLen[i] = payloadLen;
    b.ipLen[i] = rec.ipLen >>> 0;
    b.wireLen[i] = rec.wireLen >>> 0;
    const ipId = rec.ipId | 0;
    b.ipId[i] = zigzag32(ipId - s[k + TupleSlot.IpId]!);
    s[k + TupleSlot.IpId] = ipId;
    b.ttl[i] = rec.ttl & 0xff;
    if (pktFlags !== 0) this.cFlags.u32(pktFlags);
    if ((shape & Shape.Frag) !== 0) {
      const j = b.nFrag++;
      b.fragFlags[j] = rec.fragFlags >>> 0;
      b.fragOffset[j] = rec.fragOffset >>> 0;
    }
    if (tcpAny !== 0) {
      const q = b.nTcp++;
      const tf = rec.tcpFlags >>> 0;
      b.tcpFlags[q] = tf;
      const r = s[k + TupleSlot.Rev]!;
      const kr = r * TupleSlot.Stride;
      const revSeen = r >= 0 && s[kr + TupleSlot.Seen] === 1;
      // all predictions are taken before any state of this packet is stored (r may equal t)
      const ackPred = revSeen ? s[kr + TupleSlot.Next]! : s[k + TupleSlot.Ack]!;
      const seq = rec.tcpSeq | 0;
      b.tcpSeq[q] = zigzag32(seq - s[k + TupleSlot.Next]!);
      s[k + TupleSlot.Next] = seq + seqAdvance(tf, payloadLen);
      const ack = rec.tcpAck | 0;
      b.tcpAck[q] = zigzag32(ack - ackPred);
      s[k + TupleSlot.Ack] = ack;
      const win = rec.tcpWindow | 0;
      b.tcpWindow[q] = zigzag32(win - s[k + TupleSlot.Win]!);
      s[k + TupleSlot.Win] = win;
      b.tcpOptFlags[q] = rec.tcpOptFlags >>> 0;
      if ((shape & Shape.Mss) !== 0) this.cTcpMss.u32(mss);
      if ((shape & Shape.Wscale) !== 0) this.cTcpWscale.u32(wscale);
      if ((shape & Shape.TcpTs) !== 0) {
        const j = b.nTs++;
        const tsEcrPred = revSeen ? s[kr + TupleSlot.TsVal]! : s[k + TupleSlot.TsEcr]!;
        const tv = rec.tcpTsVal | 0;
        b.tcpTsVal[j] = zigzag32(tv - s[k + TupleSlot.TsVal]!);
        const te = rec.tcpTsEcr | 0;
        b.tcpTsEcr[j] = zigzag32(te - tsEcrPred);
        s[k + TupleSlot.TsVal] = tv;
        s[k + TupleSlot.TsEcr] = te;
      }
      s[k + TupleSlot.Seen] = 1;
    }
    if (capLen !== 0) {
      this.cCapLen.u32(capLen);
      this.cPayload.bytes(rec.payload, 0, capLen);
      this.anyPayload = true;
    }
    b.n = i + 1;
    if (i + 1 === this.blockLimit) this.flushFirstOrFullBlock();
    if (this.nQueued !== 0) this.addQueuedMeta();
  }

  /**
   * The block is full. The writer's first block is cut at FIRST_BLOCK_PACKETS: the flush then
   * runs while add() is still interpreted and collecting type feedback, so the optimized add()
   * has feedback for it (cut at 4,096, the first flush deoptimized add(), a recompilation of
   * ~40-70 ms of the compiler thread). Blocks do not show in the columns: the bytes are the same.
   */
  private flushFirstOrFullBlock(): void {
    this.prevTs = this.block.flush(this.blockCols, this.prevTs);
    this.blockLimit = BLOCK_PACKETS;
  }

  private addQueuedMeta(): void {
    for (const m of this.queued) this.meta.add(this.n - 1, m);
    this.queued = [];
    this.nQueued = 0;
  }

  /**
   * The whole dump file for what was added, stamped with `sequence`. The writer is
   * then empty and ready for the next dump (as after reset()), except that metadata queued
   * for the next packet stays queued for it.
   */
  finish(sequence: number): Uint8Array {
    if (!Number.isSafeInteger(sequence) || sequence < 0) throw new RangeError(`dump sequence must be an integer 0..2^53-1, got ${sequence}`);
    this.prevTs = this.block.flush(this.blockCols, this.prevTs);
    this.cTuples.clear();
    this.writeTuples(this.cTuples);

    // body = column directory (COLUMN_COUNT varint lengths) + the columns in order
    const dir = new ByteColumn(COLUMN_COUNT * 5);
    let total = 0;
    for (const col of this.cols) {
      dir.u32(col.pos);
      total += col.pos;
    }
    total += dir.pos;
    if (total > 0xffffffff) throw new RangeError(`dump body of ${total} bytes exceeds the 4 GiB format limit`);
    if (this.scratch.length < total) this.scratch = new Uint8Array(Math.max(total, this.scratch.length * 2));
    const body = this.scratch.subarray(0, total);
    body.set(dir.view(), 0);
    let off = dir.pos;
    for (const col of this.cols) {
      body.set(col.view(), off);
      off += col.pos;
    }
    const packed = compressBody(this.compression, this.level, body);
    const out = new Uint8Array(DUMP_HEADER_LEN + packed.length);
    out.set(packed, DUMP_HEADER_LEN);
    encodeHeader(out, {
      agentId: this.agentId,
      anonKeyId: this.keyId,
      sequence,
      firstTsUs: this.n === 0 ? 0 : this.first,
      lastTsUs: this.n === 0 ? 0 : this.last,
      packetCount: this.n,
      tupleCount: this.tuples.count,
      linkType: this.linkType,
      snapLen: this.maxSnap,
      compression: this.compression,
      compressionLevel: this.level,
      flags: (this.anyPayload ? DumpFlag.HasPayload : 0) | (this.retro ? DumpFlag.Retro : 0),
      uncompressedSize: total,
      compressedSize: packed.length,
      bodyCrc32: crc32(packed),
    });
    // Records queued for a packet not added yet belong to that packet, in the next dump: the
    // rotator closes a dump by time just before adding the packet that opens the next one.
    const carried = this.queued;
    this.reset();
    if (carried.length > 0) {
      this.queued = carried;
      this.nQueued = carried.length;
    }
    return out;
  }

  /** Drop everything pending. */
  reset(): void {
    for (const col of this.cols) col.clear();
    this.meta.clear(); // its columns are among this.cols; this resets its string table
    this.queued = [];
    this.nQueued = 0;
    this.block.clear();
    this.tuples.clear();
    this.n = 0;
    this.first = 0;
    this.last = 0;
    this.prevTs = 0;
    this.prevTuple = -1;
    this.anyPayload = false;
    this.maxSnap = this.snap;
  }

  private col(i: Col): ByteColumn {
    const c = new ByteColumn(i === Col.Payload ? 4096 : 1024);
    this.cols[i] = c;
    return c;
  }

  /**
   * The tuples column (docs/dump-format.md): per tuple a 12-byte head and both addresses (4 or
   * 16 bytes each), written straight into the column's buffer after one reserve(): the same
   * bytes as byte()/u16()/bytes() per field, without eleven calls and capacity checks a tuple.
   */
  private writeTuples(col: ByteColumn): void {
    const keys = this.tuples.keys;
    const keyBytes = this.tuples.keyBytes;
    const count = this.tuples.count;
    col.reserve(count * 44);
    const out = col.buf;
    let p = col.pos;
    for (let t = 0; t < count; t++) {
      const k = t * KEY_WORDS;
      const ports = keys[k + 8]!;
      const w9 = keys[k + 9]!;
      const w10 = keys[k + 10]!;
      const ipVersion = (w9 >>> 24) & 0xff;
      const short = ipVersion === 4 && (keys[k + 1]! | keys[k + 2]! | keys[k + 3]! | keys[k + 5]! | keys[k + 6]! | keys[k + 7]!) === 0;
      out[p] = short ? 0 : TupleForm.Addr16;
      out[p + 1] = w10 & 0xff; // direction
      out[p + 2] = ipVersion;
      out[p + 3] = (w9 >>> 16) & 0xff; // proto
      out[p + 4] = (w10 >>> 8) & 0xff; // tunnel
      out[p + 5] = (w10 >>> 16) & 0xff; // tuple flag bits
      out[p + 6] = w9 & 0xff; // vlan, little-endian u16
      out[p + 7] = (w9 >>> 8) & 0xff;
      out[p + 8] = (ports >>> 16) & 0xff; // sport
      out[p + 9] = (ports >>> 24) & 0xff;
      out[p + 10] = ports & 0xff; // dport
      out[p + 11] = (ports >>> 8) & 0xff;
      p += 12;
      // address words are the address bytes as they were in the record: copy those bytes
      const len = short ? 4 : 16;
      const src = k * 4;
      for (let i = 0; i < len; i++) out[p + i] = keyBytes[src + i]!;
      p += len;
      const dst = src + 16;
      for (let i = 0; i < len; i++) out[p + i] = keyBytes[dst + i]!;
      p += len;
    }
    col.pos = p;
  }
}

function checkU32(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${name} must be an integer 0..2^32-1, got ${v}`);
  return v;
}
