// Longest-prefix match over IPv4 or IPv6 prefixes: a path-compressed binary trie
// (PATRICIA style) kept in typed arrays. A lookup walks at most one node per
// distinguishing bit (<= 33 / 129 nodes), so it costs the same for 1 or 1,000,000
// prefixes, and a million prefixes cost tens of megabytes, not millions of objects.
//
// Node i holds a prefix (key words masked to len bits) and two children; a child's
// prefix extends its parent's by at least one bit, and which child it is is the bit of
// its key at position len. Values are caller-chosen non-negative integers (indexes into
// the caller's own metadata); -1 means "no prefix ends here".

export class PrefixTrie {
  /** 32 (IPv4) or 128 (IPv6) */
  readonly bits: number;
  private readonly w: number;
  private keys: Uint32Array;
  private lens: Uint8Array;
  private left: Int32Array;
  private right: Int32Array;
  private values: Int32Array;
  private nodes = 0;
  private root = -1;
  private entries = 0;

  constructor(bits: 32 | 128, initialCapacity = 64) {
    this.bits = bits;
    this.w = bits >>> 5;
    const cap = Math.max(4, initialCapacity);
    this.keys = new Uint32Array(cap * this.w);
    this.lens = new Uint8Array(cap);
    this.left = new Int32Array(cap);
    this.right = new Int32Array(cap);
    this.values = new Int32Array(cap);
  }

  /** Number of prefixes stored. */
  get size(): number {
    return this.entries;
  }

  /** Nodes allocated (prefixes plus branching nodes). */
  get nodeCount(): number {
    return this.nodes;
  }

  private grow(): void {
    const cap = this.lens.length * 2;
    const k = new Uint32Array(cap * this.w);
    k.set(this.keys);
    this.keys = k;
    const l = new Uint8Array(cap);
    l.set(this.lens);
    this.lens = l;
    const a = new Int32Array(cap);
    a.set(this.left);
    this.left = a;
    const b = new Int32Array(cap);
    b.set(this.right);
    this.right = b;
    const v = new Int32Array(cap);
    v.set(this.values);
    this.values = v;
  }

  private newNode(key: Uint32Array, len: number, value: number): number {
    if (this.nodes === this.lens.length) this.grow();
    const n = this.nodes++;
    const base = n * this.w;
    for (let i = 0; i < this.w; i++) {
      const bitsHere = len - i * 32;
      const mask = bitsHere >= 32 ? 0xffffffff : bitsHere <= 0 ? 0 : (0xffffffff << (32 - bitsHere)) >>> 0;
      this.keys[base + i] = (key[i]! & mask) >>> 0;
    }
    this.lens[n] = len;
    this.left[n] = -1;
    this.right[n] = -1;
    this.values[n] = value;
    if (value >= 0) this.entries++;
    return n;
  }

  /** Bit `pos` (0 = most significant) of a key given as words. */
  private static bitOf(key: Uint32Array, base: number, pos: number): number {
    return (key[base + (pos >>> 5)]! >>> (31 - (pos & 31))) & 1;
  }

  /** Length of the common leading bits of key and node n, at most max. */
  private common(key: Uint32Array, n: number, max: number): number {
    const base = n * this.w;
    for (let i = 0; i < this.w; i++) {
      const x = (key[i]! ^ this.keys[base + i]!) >>> 0;
      if (x !== 0) return Math.min(max, i * 32 + Math.clz32(x));
      if ((i + 1) * 32 >= max) return max;
    }
    return max;
  }

  private replaceChild(parent: number, old: number, now: number): void {
    if (parent < 0) this.root = now;
    else if (this.left[parent] === old) this.left[parent] = now;
    else this.right[parent] = now;
  }

  /**
   * Adds a prefix (key words beyond prefixLen are ignored). Returns false when the exact
   * prefix was already present; the first value stays.
   */
  insert(key: Uint32Array, prefixLen: number, value: number): boolean {
    if (!(prefixLen >= 0 && prefixLen <= this.bits)) throw new RangeError(`prefix length ${prefixLen} outside 0..${this.bits}`);
    if (value < 0) throw new RangeError('trie values must be >= 0');
    if (this.root < 0) {
      this.root = this.newNode(key, prefixLen, value);
      return true;
    }
    let parent = -1;
    let cur = this.root;
    for (;;) {
      const curLen = this.lens[cur]!;
      const c = this.common(key, cur, Math.min(prefixLen, curLen));
      if (c < curLen) {
        const curBit = PrefixTrie.bitOf(this.keys, cur * this.w, c);
        if (c === prefixLen) {
          // the new prefix sits above cur
          const n = this.newNode(key, prefixLen, value);
          if (curBit === 0) this.left[n] = cur; else this.right[n] = cur;
          this.replaceChild(parent, cur, n);
        } else {
          // branch at bit c: a value-less node with cur and the new leaf below
          const branch = this.newNode(key, c, -1);
          const leaf = this.newNode(key, prefixLen, value);
          if (curBit === 0) { this.left[branch] = cur; this.right[branch] = leaf; } else { this.right[branch] = cur; this.left[branch] = leaf; }
          this.replaceChild(parent, cur, branch);
        }
        return true;
      }
      if (prefixLen === curLen) {
        if (this.values[cur]! >= 0) return false;
        this.values[cur] = value;
        this.entries++;
        return true;
      }
      const b = PrefixTrie.bitOf(key, 0, curLen);
      const child = b === 0 ? this.left[cur]! : this.right[cur]!;
      if (child < 0) {
        const n = this.newNode(key, prefixLen, value);
        if (b === 0) this.left[cur] = n; else this.right[cur] = n;
        return true;
      }
      parent = cur;
      cur = child;
    }
  }

  /** Value of the longest stored prefix containing addr (words), or -1. */
  lookup(addr: Uint32Array): number {
    let best = -1;
    let cur = this.root;
    const w = this.w;
    while (cur >= 0) {
      const len = this.lens[cur]!;
      const base = cur * w;
      // does addr start with node cur's prefix?
      let i = 0;
      for (; (i + 1) * 32 <= len; i++) if (addr[i] !== this.keys[base + i]) return best;
      const rem = len - i * 32;
      if (rem > 0) {
        const mask = (0xffffffff << (32 - rem)) >>> 0;
        if (((addr[i]! & mask) >>> 0) !== this.keys[base + i]) return best;
      }
      const v = this.values[cur]!;
      if (v >= 0) best = v;
      if (len >= this.bits) return best;
      cur = ((addr[len >>> 5]! >>> (31 - (len & 31))) & 1) === 0 ? this.left[cur]! : this.right[cur]!;
    }
    return best;
  }

  /** The stored prefix length of the match lookup() would return, or -1 (for evidence). */
  matchLength(addr: Uint32Array): number {
    let best = -1;
    let cur = this.root;
    const w = this.w;
    while (cur >= 0) {
      const len = this.lens[cur]!;
      const base = cur * w;
      let i = 0;
      for (; (i + 1) * 32 <= len; i++) if (addr[i] !== this.keys[base + i]) return best;
      const rem = len - i * 32;
      if (rem > 0 && (((addr[i]! & ((0xffffffff << (32 - rem)) >>> 0)) >>> 0) !== this.keys[base + i])) return best;
      if (this.values[cur]! >= 0) best = len;
      if (len >= this.bits) return best;
      cur = ((addr[len >>> 5]! >>> (31 - (len & 31))) & 1) === 0 ? this.left[cur]! : this.right[cur]!;
    }
    return best;
  }
}
