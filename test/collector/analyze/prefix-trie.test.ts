// The prefix trie against a brute-force longest-prefix match, the address text parser
// against the shared parser, and the lookup path length bound (cost independent of size).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseAddressWords } from '../../../collector/analyze/address-words.js';
import { cidrWords, PrefixSet } from '../../../collector/analyze/address-scope.js';
import { PrefixTrie } from '../../../collector/analyze/prefix-trie.js';
import { cidrContains, formatIp, parseIp, type Cidr } from '../../../shared/net/ip-address.js';

function bytesOf(words: Uint32Array, version: 4 | 6): Uint8Array {
  const b = new Uint8Array(16);
  const n = version === 4 ? 1 : 4;
  for (let i = 0; i < n; i++) {
    b[4 * i] = words[i]! >>> 24; b[4 * i + 1] = (words[i]! >>> 16) & 255; b[4 * i + 2] = (words[i]! >>> 8) & 255; b[4 * i + 3] = words[i]! & 255;
  }
  return b;
}

function maskBytes(b: Uint8Array, len: number, max: number): Uint8Array {
  const out = b.slice();
  for (let bit = len; bit < max; bit++) out[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return out;
}

/** Longest matching prefix by scanning every prefix. */
function bruteLpm(prefixes: Array<{ cidr: Cidr; value: number }>, version: number, addr: Uint8Array): number {
  let best = -1;
  let bestLen = -1;
  for (const p of prefixes) {
    if (cidrContains(p.cidr, version, addr) && p.cidr.prefixLen > bestLen) { best = p.value; bestLen = p.cidr.prefixLen; }
  }
  return best;
}

function pathLength(trie: PrefixTrie, addr: Uint32Array): number {
  return trie.pathLength(addr);
}

describe('address words', () => {
  it('parses IPv4 and IPv6 text like the shared parser', () => {
    fc.assert(fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
      const w = new Uint32Array(4);
      const v = parseAddressWords(text, w);
      const ref = parseIp(text);
      assert.equal(v, ref.version, text);
      assert.deepEqual(bytesOf(w, v as 4 | 6), ref.bytes, text);
      // and the canonical text form the records carry
      const canon = formatIp(ref.version, ref.bytes);
      assert.equal(parseAddressWords(canon, w), ref.version);
      assert.deepEqual(bytesOf(w, v as 4 | 6), ref.bytes, canon);
    }), { numRuns: 2000 });
  });

  it('returns 0 for text that is not an address, never throwing', () => {
    const w = new Uint32Array(4);
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', 'a.b.c.d', ':::', '1:2:3:4:5:6:7:8:9', '::1::2',
      '12345::', 'g::1', '1.2.3.4/24', ' 1.2.3.4', '::ffff:1.2.3', '1:2:3:4:5:6:7:1.2.3.4', 'fe80::1%', 'x']) {
      assert.equal(parseAddressWords(bad, w), bad === 'fe80::1%' ? 6 : 0, bad);
    }
    fc.assert(fc.property(fc.string({ maxLength: 50 }), (s) => {
      const v = parseAddressWords(s, w);
      if (v !== 0) assert.doesNotThrow(() => parseIp(s.split('%')[0]!), s);
    }), { numRuns: 3000 });
  });
});

describe('prefix trie', () => {
  for (const version of [4, 6] as const) {
    it(`IPv${version}: longest-prefix match equals brute force on random prefixes`, () => {
      const max = version === 4 ? 32 : 128;
      const arbAddr = version === 4 ? fc.ipV4() : fc.ipV6();
      fc.assert(fc.property(
        fc.array(fc.tuple(arbAddr, fc.integer({ min: 0, max })), { minLength: 1, maxLength: 60 }),
        fc.array(arbAddr, { minLength: 1, maxLength: 30 }),
        (prefixes, probes) => {
          const trie = new PrefixTrie(max as 32 | 128, 4);
          const list: Array<{ cidr: Cidr; value: number }> = [];
          const seen = new Set<string>();
          const w = new Uint32Array(4);
          prefixes.forEach(([a, len], i) => {
            const ip = parseIp(a);
            const cidr: Cidr = { version, bytes: maskBytes(ip.bytes, len, max), prefixLen: len };
            const key = `${formatIp(version, cidr.bytes)}/${len}`;
            const added = trie.insert(cidrWords(cidr.bytes, w), len, i);
            assert.equal(added, !seen.has(key), `insert of ${key} reports whether it was new`);
            if (!seen.has(key)) { seen.add(key); list.push({ cidr, value: i }); }
          });
          assert.equal(trie.size, list.length);
          // every stored prefix's own network address and random probes
          const addrs = [...probes.map((p) => parseIp(p).bytes), ...list.map((p) => p.cidr.bytes)];
          for (const b of addrs) {
            const expect = bruteLpm(list, version, b);
            assert.equal(trie.lookup(cidrWords(b, w)), expect, formatIp(version, b));
          }
        }), { numRuns: 300 });
    });
  }

  it('a lookup path never exceeds the address length, whatever the size (1 vs 200,000 prefixes)', () => {
    const rand = (() => { let s = 12345; return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0); })();
    const trie = new PrefixTrie(32);
    const w = new Uint32Array(4);
    w[0] = 0x0a000000;
    trie.insert(w, 8, 0);
    const one = pathLength(trie, Uint32Array.of(0x0a010203, 0, 0, 0));
    for (let i = 0; i < 200_000; i++) {
      w[0] = rand();
      trie.insert(w, 8 + (rand() % 25), i + 1);
    }
    let longest = 0;
    for (let i = 0; i < 20_000; i++) longest = Math.max(longest, pathLength(trie, Uint32Array.of(rand(), 0, 0, 0)));
    assert.ok(one <= 33 && longest <= 33, `paths: ${one} with 1 prefix, at most ${longest} with ${trie.size} prefixes`);
    assert.ok(trie.nodeCount < 2 * trie.size, `nodes ${trie.nodeCount} < 2 x prefixes ${trie.size}`);
  });

  it('a /0 prefix matches everything; more specific prefixes win', () => {
    const set = new PrefixSet(['0.0.0.0/0']);
    assert.ok(set.has('203.0.113.7'));
    assert.ok(!set.has('2001:db8::1'), 'families are separate');
    const trie = new PrefixTrie(32);
    const w = new Uint32Array(4);
    trie.insert(w, 0, 1);
    w[0] = 0xc0a80000; trie.insert(w, 16, 2);
    w[0] = 0xc0a80100; trie.insert(w, 24, 3);
    assert.equal(trie.lookup(Uint32Array.of(0xc0a80105, 0, 0, 0)), 3);
    assert.equal(trie.lookup(Uint32Array.of(0xc0a80205, 0, 0, 0)), 2);
    assert.equal(trie.lookup(Uint32Array.of(0x08080808, 0, 0, 0)), 1);
    assert.equal(trie.matchLength(Uint32Array.of(0xc0a80105, 0, 0, 0)), 24);
  });
});
