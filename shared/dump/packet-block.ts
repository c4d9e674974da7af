// The values of the columns every packet (or every TCP packet) has, held as plain numbers for
// a block of packets, then varint-encoded into the byte columns one column at a time when the
// block is full or the dump finishes. Why: appending each value to its column as it comes
// costs a method call, a capacity check and a position load/store per value (about 15 per
// packet, most not inlined by V8 in a function the size of DumpWriter.add); a loop over one
// column of a block does the same work in a few instructions per value. The bytes written are
// exactly those of appending value by value (columns are independent streams).
// The fragment columns are blocked too: every IPv4 packet with Don't Fragment set has them.
// Rare columns (flags, MSS, window scale, payload) are still appended directly.
import { ByteColumn } from './byte-column.js';
import { TS_ESCAPE } from './dump-layout.js';

/** Packets per block: small enough to stay in cache (~230 KB), large enough to amortise the loops. */
export const BLOCK_PACKETS = 4096;


/** The columns a block flushes into. */
export interface BlockColumns {
  shape: ByteColumn;
  tupleIdx: ByteColumn;
  ts: ByteColumn;
  payloadLen: ByteColumn;
  ipOverhead: ByteColumn;
  wireOverhead: ByteColumn;
  ipId: ByteColumn;
  ttl: ByteColumn;
  fragFlags: ByteColumn;
  fragOffset: ByteColumn;
  tcpFlags: ByteColumn;
  tcpSeq: ByteColumn;
  tcpAck: ByteColumn;
  tcpWindow: ByteColumn;
  tcpOptFlags: ByteColumn;
  tcpTsVal: ByteColumn;
  tcpTsEcr: ByteColumn;
}

export class PacketBlock {
  /** packets in the block; the writer stores at index n, then increments */
  n = 0;
  readonly shape = new Uint8Array(BLOCK_PACKETS);
  /** tupleIdx column codes (TUPLE_NEW, ..., TUPLE_EXPLICIT + t) */
  readonly tupleCode = new Uint32Array(BLOCK_PACKETS);
  readonly ts = new Float64Array(BLOCK_PACKETS);
  readonly payloadLen = new Uint32Array(BLOCK_PACKETS);
  readonly ipLen = new Uint32Array(BLOCK_PACKETS);
  readonly wireLen = new Uint32Array(BLOCK_PACKETS);
  /** residuals, already zigzag-mapped */
  readonly ipId = new Uint32Array(BLOCK_PACKETS);
  readonly ttl = new Uint8Array(BLOCK_PACKETS);
  /** packets with the fragment group (shape Frag), and their values */
  nFrag = 0;
  readonly fragFlags = new Uint32Array(BLOCK_PACKETS);
  readonly fragOffset = new Uint32Array(BLOCK_PACKETS);
  /** TCP packets in the block, and their values (residuals zigzag-mapped) */
  nTcp = 0;
  readonly tcpFlags = new Uint32Array(BLOCK_PACKETS);
  readonly tcpSeq = new Uint32Array(BLOCK_PACKETS);
  readonly tcpAck = new Uint32Array(BLOCK_PACKETS);
  readonly tcpWindow = new Uint32Array(BLOCK_PACKETS);
  readonly tcpOptFlags = new Uint32Array(BLOCK_PACKETS);
  /** packets with TCP timestamps */
  nTs = 0;
  readonly tcpTsVal = new Uint32Array(BLOCK_PACKETS);
  readonly tcpTsEcr = new Uint32Array(BLOCK_PACKETS);
  private readonly f64 = new DataView(new ArrayBuffer(8));
  /**
   * The previous packet's timestamp while encodeTs runs. Kept in memory, not in a local
   * variable: as a loop variable that starts as the (tagged) argument and then takes the
   * Float64Array's values, V8 boxed it into a new heap number on every packet (~32 MB of
   * garbage, a third of replay's allocation, on the 2,000,000-packet bench capture).
   */
  private readonly prevTs = new Float64Array(1);

  clear(): void {
    this.n = 0;
    this.nFrag = 0;
    this.nTcp = 0;
    this.nTs = 0;
  }

  /**
   * Appends the block's values to their columns and empties the block. `prevTs` is the
   * timestamp the first packet's delta is taken from; returns the one for the next block.
   */
  flush(c: BlockColumns, prevTs: number): number {
    const n = this.n;
    c.shape.byteRun(this.shape, n);
    c.tupleIdx.u32Run(this.tupleCode, n);
    prevTs = this.encodeTs(c.ts, prevTs);
    c.payloadLen.u32Run(this.payloadLen, n);
    c.ipOverhead.sintDiffRun(this.ipLen, this.payloadLen, n);
    c.wireOverhead.sintDiffRun(this.wireLen, this.ipLen, n);
    c.ipId.u32Run(this.ipId, n);
    c.ttl.byteRun(this.ttl, n);
    c.fragFlags.u32Run(this.fragFlags, this.nFrag);
    c.fragOffset.u32Run(this.fragOffset, this.nFrag);
    const nt = this.nTcp;
    c.tcpFlags.u32Run(this.tcpFlags, nt);
    c.tcpSeq.u32Run(this.tcpSeq, nt);
    c.tcpAck.u32Run(this.tcpAck, nt);
    c.tcpWindow.u32Run(this.tcpWindow, nt);
    c.tcpOptFlags.u32Run(this.tcpOptFlags, nt);
    c.tcpTsVal.u32Run(this.tcpTsVal, this.nTs);
    c.tcpTsEcr.u32Run(this.tcpTsEcr, this.nTs);
    this.clear();
    return prevTs;
  }

  /**
   * The 'ts' column: zigzag32(delta) + 1 as a varint53 when the delta from the previous packet
   * is an exact int32, else TS_ESCAPE and the absolute float64 (docs/dump-format.md 3.3).
   */
  private encodeTs(col: ByteColumn, prevTs: number): number {
    const n = this.n;
    col.reserve(9 * n); // at most the escape byte and a float64 per packet
    const b = col.buf;
    let p = col.pos;
    const ts = this.ts;
    const f64 = this.f64;
    const prev = this.prevTs;
    prev[0] = prevTs;
    for (let i = 0; i < n; i++) {
      const t = ts[i]!;
      const pt = prev[0]!;
      const d = t - pt;
      if ((d | 0) === d && pt + d === t) {
        // zigzag32(d) + 1 (1 .. 2^32) as its low 32 bits, in int32 arithmetic only: V8 compiled
        // `zigzag32(d) + 1` as a small-integer add, and the first value past 2^31 (a jump of
        // ~18 minutes, or backwards) deoptimized this function ("lost precision") and had it
        // compiled twice more. v is 0 only for 2^32 (d = -2^31).
        let v = (((d << 1) ^ (d >> 31)) + 1) | 0;
        if (v === 0) {
          b[p++] = 0x80; b[p++] = 0x80; b[p++] = 0x80; b[p++] = 0x80; b[p++] = 0x10; // 2^32
        } else {
          while ((v & ~0x7f) !== 0) {
            b[p++] = (v & 0x7f) | 0x80;
            v >>>= 7;
          }
          b[p++] = v;
        }
      } else {
        b[p++] = TS_ESCAPE;
        f64.setFloat64(0, t, true);
        for (let k = 0; k < 8; k++) b[p++] = f64.getUint8(k);
      }
      prev[0] = t;
    }
    col.pos = p;
    return prev[0]!;
  }
}
