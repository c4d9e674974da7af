// Bounded, allocation-free cache for pseudonyms: fixed-width keys and values of 1..4 32-bit
// words (IPv4: 1, MAC: 2, IPv6: 4) in typed arrays.
//
// Why not a Map: keys wider than a small integer would need a string or a boxed number per
// lookup, and V8 hashes number keys without a secret seed, so hostile traffic could aim many
// addresses at one bucket. Here the hash is seeded per process, probing is capped, and the
// memory is fixed when the cache is built.
//
// Eviction is two-generation: new entries go into `cur`; when it holds its share, `old` is
// dropped (O(1): bump its epoch) and the tables swap. A hit in `old` is copied into `cur`, so
// addresses in steady use survive every rotation; one-off addresses age out.
//
// The tables start small and double (rehashing both generations) when `cur` fills a quarter of
// its slots (short probe runs while small; after a doubling the load is 1/8), up to the size
// the capacity needs: an endpoint that talks to a few hundred peers should not pay for the worst case in resident memory (the IPv6 cache alone is ~1.2 MB at
// full size). Growth happens at most log2(capacity) times, so the hot path stays a lookup.
import { randomBytes } from 'node:crypto';

/** linear probing stops after this many slots (bounds the worst case per lookup) */
const MAX_PROBE = 8;
/** slots per table before the first growth */
const INITIAL_SLOTS = 64;

function mix(h: number, k: number): number {
  // multiply-xorshift step; all int32 (constants written as int32 to stay off float math)
  h = Math.imul(h ^ k, -1640531535); // 0x9e3779b1
  return h ^ (h >>> 15);
}

class Table {
  readonly keys: Int32Array;
  readonly vals: Int32Array;
  /** slot is live when stamp[slot] === epoch (clearing = epoch + 1) */
  readonly stamp: Uint32Array;
  epoch = 1;
  count = 0;

  constructor(slots: number, words: number) {
    this.keys = new Int32Array(slots * words);
    this.vals = new Int32Array(slots * words);
    this.stamp = new Uint32Array(slots);
  }

  clear(): void {
    this.count = 0;
    this.epoch = (this.epoch + 1) >>> 0;
    if (this.epoch === 0) {
      // after 2^32 rotations: wipe for real so old stamps cannot come back to life
      this.stamp.fill(0);
      this.epoch = 1;
    }
  }
}

export class PseudonymCache {
  /** scratch: the caller writes the key here before get()/put() */
  readonly key: Int32Array;
  /** scratch: get() leaves the value here on a hit; put() stores what is here */
  readonly value: Int32Array;
  readonly words: number;
  /** entries one generation may hold; both together hold at most `capacity` */
  private readonly genLimit: number;
  /** slots per table at full size */
  private readonly maxSlots: number;
  private mask: number;
  private readonly seed: number;
  /** scratch: the caller's key and value are kept here while the tables grow */
  private readonly saved: Int32Array;
  private cur: Table;
  private old: Table;

  /**
   * @param words key and value width in 32-bit words (1..4)
   * @param capacity most entries kept at once (both generations together), >= 2
   */
  constructor(words: number, capacity: number) {
    if (!Number.isInteger(words) || words < 1 || words > 4) throw new RangeError(`PseudonymCache: words must be 1..4, got ${words}`);
    if (!Number.isInteger(capacity) || capacity < 2) throw new RangeError(`PseudonymCache: capacity must be an integer >= 2, got ${capacity}`);
    this.words = words;
    this.key = new Int32Array(words);
    this.value = new Int32Array(words);
    this.saved = new Int32Array(words * 2);
    this.genLimit = capacity >> 1;
    // load factor <= 1/2 keeps probe runs short
    let slots = 8;
    while (slots < this.genLimit * 2) slots *= 2;
    this.maxSlots = slots;
    const first = Math.min(slots, INITIAL_SLOTS);
    this.mask = first - 1;
    this.cur = new Table(first, words);
    this.old = new Table(first, words);
    this.seed = randomBytes(4).readInt32LE(0);
  }

  /** Live entries (both generations). */
  get size(): number {
    return this.cur.count + this.old.count;
  }

  /** Memory of the tables in bytes now (they grow with use up to maxTableBytes). */
  get tableBytes(): number {
    const t = this.cur;
    return 2 * (t.keys.byteLength + t.vals.byteLength + t.stamp.byteLength);
  }

  /** Memory of the tables in bytes at full size: the bound fixed by the capacity. */
  get maxTableBytes(): number {
    return 2 * this.maxSlots * (8 * this.words + 4);
  }

  private hash(): number {
    // seeded multiply-xorshift of the key words + murmur3 finaliser: slots cannot be predicted
    // from outside (hash flooding needs the seed)
    const k = this.key;
    const w = this.words;
    let h = mix(this.seed, k[0]!);
    if (w > 1) h = mix(h, k[1]!);
    if (w > 2) h = mix(h, k[2]!);
    if (w > 3) h = mix(h, k[3]!);
    h = Math.imul(h ^ (h >>> 16), -2048144789); // 0x85ebca6b
    h = Math.imul(h ^ (h >>> 13), -1028477387); // 0xc2b2ae35
    return (h ^ (h >>> 16)) & this.mask;
  }

  /** Slot holding `key` in t, or -1. */
  private find(t: Table, home: number): number {
    const w = this.words;
    const k = this.key;
    const k0 = k[0]!;
    const k1 = w > 1 ? k[1]! : 0;
    const k2 = w > 2 ? k[2]! : 0;
    const k3 = w > 3 ? k[3]! : 0;
    const keys = t.keys;
    const stamp = t.stamp;
    const ep = t.epoch;
    const mask = this.mask;
    // the next slot and probe count are computed at the top of every probe, the first included:
    // computed only when a probe goes on, V8 had no type feedback for them when it optimized the
    // anonymizer, and the first collision deoptimized it (docs/benchmarks.md, eighth round)
    for (let p = 0, s = home; p < MAX_PROBE; ) {
      const at = s;
      s = (s + 1) & mask;
      p++;
      if (stamp[at] !== ep) return -1; // no deletions, so an empty slot ends the run
      const b = at * w;
      if (keys[b] !== k0) continue;
      if (w > 1 && (keys[b + 1] !== k1 || (w > 2 && (keys[b + 2] !== k2 || (w > 3 && keys[b + 3] !== k3))))) continue;
      return at;
    }
    return -1;
  }

  private copyOut(vals: Int32Array, s: number): void {
    const w = this.words;
    const b = s * w;
    const v = this.value;
    v[0] = vals[b]!;
    if (w > 1) {
      v[1] = vals[b + 1]!;
      if (w > 2) {
        v[2] = vals[b + 2]!;
        if (w > 3) v[3] = vals[b + 3]!;
      }
    }
  }

  private insert(t: Table, home: number, vals: Int32Array, vOff: number): void {
    const w = this.words;
    let s = home;
    let p = 0;
    for (; p < MAX_PROBE; p++, s = (s + 1) & this.mask) if (t.stamp[s] !== t.epoch) break;
    // Run full: leave this entry uncached rather than evict one that may be in steady use
    // (it gets a fresh chance after the next rotation).
    if (p === MAX_PROBE) return;
    t.stamp[s] = t.epoch;
    t.count++;
    const base = s * w;
    for (let i = 0; i < w; i++) {
      t.keys[base + i] = this.key[i]!;
      t.vals[base + i] = vals[vOff + i]!;
    }
  }

  /** Doubles both tables (rehashing their live entries) when `cur` is a quarter full and not at full size; true if it did. */
  private growIfLoaded(): boolean {
    const slots = this.mask + 1;
    if (slots >= this.maxSlots || this.cur.count < slots >> 2) return false;
    const w = this.words;
    const saved = this.saved;
    saved.set(this.key, 0);
    saved.set(this.value, w);
    const size = slots * 2;
    this.mask = size - 1;
    const cur = this.rehash(this.cur, size);
    const old = this.rehash(this.old, size);
    this.cur = cur;
    this.old = old;
    this.key.set(saved.subarray(0, w));
    this.value.set(saved.subarray(w));
    return true;
  }

  private rehash(from: Table, size: number): Table {
    const w = this.words;
    const to = new Table(size, w);
    for (let s = 0; s < from.stamp.length; s++) {
      if (from.stamp[s] !== from.epoch) continue;
      for (let i = 0; i < w; i++) this.key[i] = from.keys[s * w + i]!;
      this.insert(to, this.hash(), from.vals, s * w);
    }
    return to;
  }

  private rotateIfFull(): void {
    if (this.cur.count < this.genLimit) return;
    const dropped = this.old;
    dropped.clear();
    this.old = this.cur;
    this.cur = dropped;
  }

  /** Looks up `key`; on a hit copies the value into `value` and returns true. */
  get(): boolean {
    const home = this.hash();
    let s = this.find(this.cur, home);
    if (s >= 0) {
      this.copyOut(this.cur.vals, s);
      return true;
    }
    s = this.find(this.old, home);
    if (s < 0) return false;
    this.copyOut(this.old.vals, s);
    // promote so entries in use outlive the next rotation
    this.rotateIfFull();
    // after a growth the home slot moved with the mask
    this.insert(this.cur, this.growIfLoaded() ? this.hash() : home, this.value, 0);
    return true;
  }

  /** Stores `value` under `key` (call after a miss). */
  put(): void {
    this.rotateIfFull();
    this.growIfLoaded();
    this.insert(this.cur, this.hash(), this.value, 0);
  }

  clear(): void {
    this.cur.clear();
    this.old.clear();
  }
}
