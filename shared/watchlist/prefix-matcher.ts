// A binary prefix tree over IPv4 and IPv6 prefixes in PacketRecord's 16-byte address layout
// (IPv4 in bytes 0..3): "is this address inside any listed prefix?". Nodes live in typed
// arrays (no object per node); a lookup walks at most 32 / 128 bits and allocates nothing.
// Pure; shared by the agent's watchlist trigger and the collector's per-packet threat check.

export interface PrefixEntry {
  version: 4 | 6;
  /** 16 bytes, IPv4 in 0..3 (bits past prefixLen are ignored) */
  bytes: Uint8Array;
  prefixLen: number;
}

export class PrefixMatcher {
  /** child index per node and bit (0 = none; node 0 and 1 are the v4 / v6 roots) */
  private zero: Int32Array;
  private one: Int32Array;
  /** node ends a listed prefix */
  private term: Uint8Array;
  private nodes = 2;
  private count = 0;

  constructor(initialNodes = 1024) {
    const n = Math.max(4, initialNodes);
    this.zero = new Int32Array(n);
    this.one = new Int32Array(n);
    this.term = new Uint8Array(n);
  }

  static from(entries: Iterable<PrefixEntry>): PrefixMatcher {
    const m = new PrefixMatcher();
    for (const e of entries) m.insert(e.version, e.bytes, e.prefixLen);
    return m;
  }

  /** Prefixes inserted (duplicates counted once). */
  get size(): number {
    return this.count;
  }

  private grow(): void {
    const n = this.zero.length * 2;
    const z = new Int32Array(n); z.set(this.zero); this.zero = z;
    const o = new Int32Array(n); o.set(this.one); this.one = o;
    const t = new Uint8Array(n); t.set(this.term); this.term = t;
  }

  insert(version: 4 | 6, bytes: Uint8Array, prefixLen: number): void {
    const max = version === 4 ? 32 : 128;
    const len = Math.max(0, Math.min(max, prefixLen | 0));
    let node = version === 4 ? 0 : 1;
    for (let i = 0; i < len; i++) {
      if (this.term[node] === 1) return; // a shorter prefix already covers this one
      const bit = (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
      const arr = bit === 0 ? this.zero : this.one;
      let next = arr[node]!;
      if (next === 0) {
        if (this.nodes >= this.zero.length) this.grow();
        next = this.nodes++;
        (bit === 0 ? this.zero : this.one)[node] = next;
      }
      node = next;
    }
    if (this.term[node] === 0) {
      this.term[node] = 1;
      this.count++;
    }
  }

  /** Whether the address (version 4 or 6) lies inside a listed prefix. */
  matches(version: number, bytes: Uint8Array): boolean {
    if (this.count === 0) return false;
    let node: number;
    let max: number;
    if (version === 4) { node = 0; max = 32; } else if (version === 6) { node = 1; max = 128; } else return false;
    const term = this.term;
    for (let i = 0; i < max; i++) {
      if (term[node] === 1) return true;
      const bit = (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
      node = bit === 0 ? this.zero[node]! : this.one[node]!;
      if (node === 0) return false;
    }
    return term[node] === 1;
  }
}
