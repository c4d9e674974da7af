// Longest-prefix match over IPv4 or IPv6 prefixes: a path-compressed binary trie
// (PATRICIA style) kept in one typed array. A lookup walks at most one node per
// distinguishing bit (<= 33 / 129 nodes), so it costs the same for 1 or 1,000,000
// prefixes, and a million prefixes cost tens of megabytes, not millions of objects.
//
// Memory layout, for speed at a million entries (where every node visited is a cache
// miss): each node is one contiguous record [len, value, left, right, key words...],
// and an index over the top k bits of the trie (built on the first lookup after
// inserts; k grows with the size, 12..20 bits, so about one prefix per slot) gives each
// slot its starting node and the best shorter prefix above it, so a lookup walks one or
// two nodes instead of ~20.
//
// Node n holds a prefix (key words masked to len bits) and two children; a child's
// prefix extends its parent's by at least one bit, and which child it is is the bit of
// its key at position len. Values are caller-chosen non-negative integers (indexes into
// the caller's own metadata); -1 means "no prefix ends here".

const LEN = 0;
const VALUE = 1;
const LEFT = 2;
const RIGHT = 3;
const KEY = 4;

function maskOf(bits: number): number {
  return bits >= 32 ? -1 : bits <= 0 ? 0 : (-1 << (32 - bits)) | 0;
}

export class PrefixTrie {
  /** 32 (IPv4) or 128 (IPv6) */
  readonly bits: number;
  private readonly w: number;
  /** words per node record */
  private readonly stride: number;
  private buf: Int32Array;
  private nodes = 0;
  private root = -1;
  private entries = 0;
  /** per top-k-bit slot: [node to start at, best value of the prefixes shorter than k above it] */
  private slots: Int32Array | null = null;
  private slotBits = 16;

  constructor(bits: 32 | 128, initialCapacity = 64) {
    this.bits = bits;
    this.w = bits >>> 5;
    this.stride = KEY + this.w;
    this.buf = new Int32Array(Math.max(4, initialCapacity) * this.stride);
  }

  /** Number of prefixes stored. */
  get size(): number {
    return this.entries;
  }

  /** Nodes allocated (prefixes plus branching nodes). */
  get nodeCount(): number {
    return this.nodes;
  }

  private newNode(key: Uint32Array, len: number, value: number): number {
    if ((this.nodes + 1) * this.stride > this.buf.length) {
      const b = new Int32Array(this.buf.length * 2);
      b.set(this.buf);
      this.buf = b;
    }
    const n = this.nodes++;
    const o = n * this.stride;
    const buf = this.buf;
    buf[o + LEN] = len;
    buf[o + VALUE] = value;
    buf[o + LEFT] = -1;
    buf[o + RIGHT] = -1;
    for (let i = 0; i < this.w; i++) buf[o + KEY + i] = key[i]! & maskOf(len - i * 32);
    if (value >= 0) this.entries++;
    return n;
  }

  /** Bit `pos` (0 = most significant) of an address given as words. */
  private static bitOf(key: ArrayLike<number>, base: number, pos: number): number {
    return (key[base + (pos >>> 5)]! >>> (31 - (pos & 31))) & 1;
  }

  /** Length of the common leading bits of key and node n, at most max. */
  private common(key: Uint32Array, n: number, max: number): number {
    const o = n * this.stride + KEY;
    for (let i = 0; i < this.w; i++) {
      const x = (key[i]! ^ this.buf[o + i]!) >>> 0;
      if (x !== 0) return Math.min(max, i * 32 + Math.clz32(x));
      if ((i + 1) * 32 >= max) return max;
    }
    return max;
  }

  private replaceChild(parent: number, old: number, now: number): void {
    if (parent < 0) { this.root = now; return; }
    const o = parent * this.stride;
    if (this.buf[o + LEFT] === old) this.buf[o + LEFT] = now; else this.buf[o + RIGHT] = now;
  }

  private setChild(parent: number, bit: number, child: number): void {
    this.buf[parent * this.stride + (bit === 0 ? LEFT : RIGHT)] = child;
  }

  /**
   * Adds a prefix (key words beyond prefixLen are ignored). Returns false when the exact
   * prefix was already present; the first value stays.
   */
  insert(key: Uint32Array, prefixLen: number, value: number): boolean {
    if (!(prefixLen >= 0 && prefixLen <= this.bits)) throw new RangeError(`prefix length ${prefixLen} outside 0..${this.bits}`);
    if (value < 0) throw new RangeError('trie values must be >= 0');
    this.slots = null;
    if (this.root < 0) {
      this.root = this.newNode(key, prefixLen, value);
      return true;
    }
    let parent = -1;
    let cur = this.root;
    for (;;) {
      const co = cur * this.stride;
      const curLen = this.buf[co + LEN]!;
      const c = this.common(key, cur, Math.min(prefixLen, curLen));
      if (c < curLen) {
        const curBit = PrefixTrie.bitOf(this.buf, co + KEY, c);
        if (c === prefixLen) {
          // the new prefix sits above cur
          const n = this.newNode(key, prefixLen, value);
          this.setChild(n, curBit, cur);
          this.replaceChild(parent, cur, n);
        } else {
          // branch at bit c: a value-less node with cur and the new leaf below
          const branch = this.newNode(key, c, -1);
          const leaf = this.newNode(key, prefixLen, value);
          this.setChild(branch, curBit, cur);
          this.setChild(branch, curBit ^ 1, leaf);
          this.replaceChild(parent, cur, branch);
        }
        return true;
      }
      if (prefixLen === curLen) {
        if (this.buf[co + VALUE]! >= 0) return false;
        this.buf[co + VALUE] = value;
        this.entries++;
        return true;
      }
      const b = PrefixTrie.bitOf(key, 0, curLen);
      const child = this.buf[co + (b === 0 ? LEFT : RIGHT)]!;
      if (child < 0) {
        this.setChild(cur, b, this.newNode(key, prefixLen, value));
        return true;
      }
      parent = cur;
      cur = child;
    }
  }

  /** Builds the slot index (a walk of the top of the trie per slot). */
  private buildIndex(): void {
    const k = Math.min(20, Math.max(12, Math.ceil(Math.log2(this.entries + 1))));
    const count = 1 << k;
    const slots = new Int32Array(count * 2);
    const buf = this.buf;
    for (let slot = 0; slot < count; slot++) {
      const top = slot << (32 - k);
      let best = -1;
      let cur = this.root;
      while (cur >= 0) {
        const o = cur * this.stride;
        const len = buf[o + LEN]!;
        // from k bits on, the path depends on bits below the slot: the lookup goes on from here
        if (len >= k) break;
        if ((top & maskOf(len)) !== buf[o + KEY]) { cur = -1; break; }
        const v = buf[o + VALUE]!;
        if (v >= 0) best = v;
        cur = buf[o + ((((top >>> (31 - len)) & 1) === 0) ? LEFT : RIGHT)]!;
      }
      slots[2 * slot] = cur;
      slots[2 * slot + 1] = best;
    }
    this.slotBits = k;
    this.slots = slots;
  }

  /** Builds the slot index now (after a bulk load) instead of on the first lookup. */
  prepare(): void {
    if (this.slots === null && this.root >= 0) this.buildIndex();
  }

  /** Value of the longest stored prefix containing addr (words), or -1. */
  lookup(addr: Uint32Array): number {
    if (this.slots === null) {
      if (this.root < 0) return -1;
      this.buildIndex();
    }
    const slot = addr[0]! >>> (32 - this.slotBits);
    let cur = this.slots![2 * slot]!;
    let best = this.slots![2 * slot + 1]!;
    const buf = this.buf;
    const stride = this.stride;
    while (cur >= 0) {
      const o = cur * stride;
      const len = buf[o + LEN]!;
      // does addr start with node cur's prefix?
      let i = 0;
      for (; (i + 1) * 32 <= len; i++) if ((addr[i]! | 0) !== buf[o + KEY + i]) return best;
      const rem = len - i * 32;
      if (rem > 0 && (addr[i]! & maskOf(rem)) !== buf[o + KEY + i]) return best;
      const v = buf[o + VALUE]!;
      if (v >= 0) best = v;
      if (len >= this.bits) return best;
      cur = buf[o + ((((addr[len >>> 5]! >>> (31 - (len & 31))) & 1) === 0) ? LEFT : RIGHT)]!;
    }
    return best;
  }

  /** The stored prefix length of the match lookup() would return, or -1 (for evidence). */
  matchLength(addr: Uint32Array): number {
    let best = -1;
    let cur = this.root;
    const buf = this.buf;
    while (cur >= 0) {
      const o = cur * this.stride;
      const len = buf[o + LEN]!;
      let i = 0;
      for (; (i + 1) * 32 <= len; i++) if ((addr[i]! | 0) !== buf[o + KEY + i]) return best;
      const rem = len - i * 32;
      if (rem > 0 && (addr[i]! & maskOf(rem)) !== buf[o + KEY + i]) return best;
      if (buf[o + VALUE]! >= 0) best = len;
      if (len >= this.bits) return best;
      cur = buf[o + ((((addr[len >>> 5]! >>> (31 - (len & 31))) & 1) === 0) ? LEFT : RIGHT)]!;
    }
    return best;
  }

  /** Nodes a lookup of addr visits without the slot index (tests: bounded by the address length). */
  pathLength(addr: Uint32Array): number {
    let steps = 0;
    let cur = this.root;
    const buf = this.buf;
    while (cur >= 0) {
      steps++;
      const o = cur * this.stride;
      const len = buf[o + LEN]!;
      if (len >= this.bits) break;
      cur = buf[o + ((((addr[len >>> 5]! >>> (31 - (len & 31))) & 1) === 0) ? LEFT : RIGHT)]!;
    }
    return steps;
  }
}
