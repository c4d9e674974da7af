// Writer-side table of the distinct directional tuples of one dump: (direction,
// ipVersion, proto, src, dst, sport, dport, vlan, tunnel, anon/inner flags).
// Packets refer to a tuple by index. Open addressing over typed arrays so a
// lookup costs a hash of 11 words and no allocation.
import { RecordFlag, type PacketRecord } from '../packet/packet-record.js';

/** Record flag bits that belong to the tuple rather than to each packet. */
export const TUPLE_FLAG_MASK = RecordFlag.SrcAnon | RecordFlag.DstAnon | RecordFlag.Inner;

/** key words per tuple: 4 src, 4 dst, ports, vlan|proto|version, direction|tunnel|flags */
export const KEY_WORDS = 11;

export class TupleTable {
  count = 0;
  /**
   * KEY_WORDS int32 per tuple. Words 0..7 are the address bytes copied as they are in
   * memory (PacketRecord.addrWords): read them back as bytes through keyBytes, never as
   * numbers, and the table means the same on any platform byte order.
   */
  keys: Int32Array;
  /** the bytes of keys (renewed when keys grows) */
  keyBytes: Uint8Array;
  private slots: Int32Array; // tuple index + 1, 0 = empty
  private mask: number;

  constructor(initialCapacity = 256) {
    // power of two so the slot mask works
    initialCapacity = 2 ** Math.ceil(Math.log2(Math.max(2, initialCapacity)));
    // stored twice (as growKeys() does later), so V8 does not track these as constant fields:
    // growKeys() replacing a constant field invalidated the optimized DumpWriter.add() that
    // had inlined lookup() ("code dependencies" deoptimization, tuple-state.ts says the same)
    this.keys = new Int32Array(0);
    this.keyBytes = new Uint8Array(0);
    this.slots = new Int32Array(0);
    this.mask = 0;
    this.keys = new Int32Array(initialCapacity * KEY_WORDS);
    this.keyBytes = new Uint8Array(this.keys.buffer);
    this.slots = new Int32Array(initialCapacity * 2);
    this.mask = initialCapacity * 2 - 1;
  }

  clear(): void {
    if (this.count > 0) this.slots.fill(0);
    this.count = 0;
  }

  get capacity(): number {
    return this.keys.length / KEY_WORDS;
  }

  /** Index of rec's tuple, adding it when new (the caller sees `count` grow). */
  lookup(rec: PacketRecord): number {
    const a = rec.addrWords;
    const w0 = a[0]!, w1 = a[1]!, w2 = a[2]!, w3 = a[3]!;
    const w4 = a[4]!, w5 = a[5]!, w6 = a[6]!, w7 = a[7]!;
    const w8 = ((rec.sport & 0xffff) << 16) | (rec.dport & 0xffff);
    const w9 = (rec.vlan & 0xffff) | ((rec.proto & 0xff) << 16) | ((rec.ipVersion & 0xff) << 24);
    const w10 = (rec.direction & 0xff) | ((rec.tunnel & 0xff) << 8) | ((rec.flags & TUPLE_FLAG_MASK) << 16);

    const h = hashKey(w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10);
    const keys = this.keys;
    const slots = this.slots;
    const mask = this.mask;
    let slot = h & mask;
    for (;;) {
      const v = slots[slot]!;
      if (v === 0) break;
      const k = (v - 1) * KEY_WORDS;
      if (
        keys[k + 8] === w8 && keys[k + 9] === w9 && keys[k + 10] === w10 &&
        keys[k] === w0 && keys[k + 4] === w4 && keys[k + 1] === w1 && keys[k + 2] === w2 && keys[k + 3] === w3 &&
        keys[k + 5] === w5 && keys[k + 6] === w6 && keys[k + 7] === w7
      ) {
        return v - 1;
      }
      slot = (slot + 1) & mask;
    }
    const idx = this.count;
    if (idx === this.capacity) {
      this.growKeys();
      return this.lookup(rec);
    }
    const k = idx * KEY_WORDS;
    const kk = this.keys;
    kk[k] = w0; kk[k + 1] = w1; kk[k + 2] = w2; kk[k + 3] = w3;
    kk[k + 4] = w4; kk[k + 5] = w5; kk[k + 6] = w6; kk[k + 7] = w7;
    kk[k + 8] = w8; kk[k + 9] = w9; kk[k + 10] = w10;
    slots[slot] = idx + 1;
    this.count = idx + 1;
    return idx;
  }

  /**
   * Index of the tuple that carries the other direction of tuple `t`'s
   * conversation (addresses and ports swapped, Out<->In, SrcAnon<->DstAnon), or -1.
   */
  reverseOf(t: number): number {
    const keys = this.keys;
    const k = t * KEY_WORDS;
    const w8 = keys[k + 8]!;
    const w10 = keys[k + 10]!;
    const r8 = (w8 << 16) | (w8 >>> 16);
    const r10 = (w10 & ~0xff & ~(TUPLE_FLAG_MASK << 16)) | reverseDirection(w10 & 0xff) |
      (reverseTupleFlags((w10 >>> 16) & TUPLE_FLAG_MASK) << 16);
    const r0 = keys[k + 4]!, r1 = keys[k + 5]!, r2 = keys[k + 6]!, r3 = keys[k + 7]!;
    const r4 = keys[k]!, r5 = keys[k + 1]!, r6 = keys[k + 2]!, r7 = keys[k + 3]!;
    const r9 = keys[k + 9]!;
    let slot = hashKey(r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10) & this.mask;
    for (;;) {
      const v = this.slots[slot]!;
      if (v === 0) return -1;
      const q = (v - 1) * KEY_WORDS;
      if (
        keys[q + 8] === r8 && keys[q + 9] === r9 && keys[q + 10] === r10 &&
        keys[q] === r0 && keys[q + 1] === r1 && keys[q + 2] === r2 && keys[q + 3] === r3 &&
        keys[q + 4] === r4 && keys[q + 5] === r5 && keys[q + 6] === r6 && keys[q + 7] === r7
      ) {
        return v - 1;
      }
      slot = (slot + 1) & this.mask;
    }
  }

  private growKeys(): void {
    const cap = this.capacity * 2;
    const keys = new Int32Array(cap * KEY_WORDS);
    keys.set(this.keys);
    this.keys = keys;
    this.keyBytes = new Uint8Array(keys.buffer);
    // rehash into a table twice the tuple capacity (load <= 50%)
    this.slots = new Int32Array(cap * 2);
    this.mask = cap * 2 - 1;
    for (let t = 0; t < this.count; t++) {
      const k = t * KEY_WORDS;
      const h = hashKey(keys[k]!, keys[k + 1]!, keys[k + 2]!, keys[k + 3]!, keys[k + 4]!, keys[k + 5]!, keys[k + 6]!,
        keys[k + 7]!, keys[k + 8]!, keys[k + 9]!, keys[k + 10]!);
      let slot = h & this.mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
      this.slots[slot] = t + 1;
    }
  }
}

/** Direction of the reply: Out <-> In, anything else unchanged. */
function reverseDirection(d: number): number {
  return d === 1 ? 2 : d === 2 ? 1 : d;
}

/** Tuple flag bits of the reply: SrcAnon <-> DstAnon, Inner unchanged. */
function reverseTupleFlags(f: number): number {
  return (f & ~(RecordFlag.SrcAnon | RecordFlag.DstAnon)) |
    ((f & RecordFlag.SrcAnon) !== 0 ? RecordFlag.DstAnon : 0) | ((f & RecordFlag.DstAnon) !== 0 ? RecordFlag.SrcAnon : 0);
}

function hashKey(w0: number, w1: number, w2: number, w3: number, w4: number, w5: number, w6: number, w7: number,
  w8: number, w9: number, w10: number): number {
  let h = mix(0x9e3779b9, w8);
  h = mix(h, w9);
  h = mix(h, w10);
  h = mix(h, w0);
  h = mix(h, w4);
  if ((w1 | w2 | w3 | w5 | w6 | w7) !== 0) {
    h = mix(h, w1);
    h = mix(h, w2);
    h = mix(h, w3);
    h = mix(h, w5);
    h = mix(h, w6);
    h = mix(h, w7);
  }
  return fin(h);
}

function mix(h: number, w: number): number {
  h = Math.imul(h ^ w, 0x85ebca6b);
  return h ^ (h >>> 13);
}

function fin(h: number): number {
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
