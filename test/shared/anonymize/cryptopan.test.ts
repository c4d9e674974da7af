import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { CryptoPan, CryptoPanKeyError } from '../../../shared/anonymize/cryptopan.js';
import { formatIp, formatIpv4, ipv4ToUint32, parseIp, uint32ToIpv4 } from '../../../shared/net/ip-address.js';
import { repoRoot } from '../../../shared/util/repo-paths.js';
import { nodeScriptArgs } from '../../helpers/node-script.js';

// Key of the sample in the original Crypto-PAn source distribution (sample.cpp).
const SAMPLE_KEY = Uint8Array.from([
  21, 34, 23, 141, 51, 164, 207, 128, 19, 10, 91, 22, 73, 144, 125, 16,
  216, 152, 143, 131, 121, 121, 101, 39, 98, 87, 76, 45, 42, 132, 34, 2,
]);

// Address pairs of sample_trace_raw / sample_trace_sanitized from that distribution, as
// collected in the test of github.com/Yawning/cryptopan (cryptopan_test.go).
const SAMPLE_V4: Array<[string, string]> = [
  ['128.11.68.132', '135.242.180.132'], ['129.118.74.4', '134.136.186.123'], ['130.132.252.244', '133.68.164.234'],
  ['141.223.7.43', '141.167.8.160'], ['141.233.145.108', '141.129.237.235'], ['152.163.225.39', '151.140.114.167'],
  ['156.29.3.236', '147.225.12.42'], ['165.247.96.84', '162.9.99.234'], ['166.107.77.190', '160.132.178.185'],
  ['192.102.249.13', '252.138.62.131'], ['192.215.32.125', '252.43.47.189'], ['192.233.80.103', '252.25.108.8'],
  ['192.41.57.43', '252.222.221.184'], ['193.150.244.223', '253.169.52.216'], ['195.205.63.100', '255.186.223.5'],
  ['198.200.171.101', '249.199.68.213'], ['198.26.132.101', '249.36.123.202'], ['198.36.213.5', '249.7.21.132'],
  ['198.51.77.238', '249.18.186.254'], ['199.217.79.101', '248.38.184.213'], ['202.49.198.20', '245.206.7.234'],
  ['203.12.160.252', '244.248.163.4'], ['204.184.162.189', '243.192.77.90'], ['204.202.136.230', '243.178.4.198'],
  ['204.29.20.4', '243.33.20.123'], ['205.178.38.67', '242.108.198.51'], ['205.188.147.153', '242.96.16.101'],
  ['205.188.248.25', '242.96.88.27'], ['205.245.121.43', '242.21.121.163'], ['207.105.49.5', '241.118.205.138'],
  ['207.135.65.238', '241.202.129.222'], ['207.155.9.214', '241.220.250.22'], ['207.188.7.45', '241.255.249.220'],
  ['207.25.71.27', '241.33.119.156'], ['207.33.151.131', '241.1.233.131'], ['208.147.89.59', '227.237.98.191'],
  ['208.234.120.210', '227.154.67.17'], ['208.28.185.184', '227.39.94.90'], ['208.52.56.122', '227.8.63.165'],
  ['209.12.231.7', '226.243.167.8'], ['209.238.72.3', '226.6.119.243'], ['209.246.74.109', '226.22.124.76'],
  ['209.68.60.238', '226.184.220.233'], ['209.85.249.6', '226.170.70.6'], ['212.120.124.31', '228.135.163.231'],
  ['212.146.8.236', '228.19.4.234'], ['212.186.227.154', '228.59.98.98'], ['212.204.172.118', '228.71.195.169'],
  ['212.206.130.201', '228.69.242.193'], ['216.148.237.145', '235.84.194.111'], ['216.157.30.252', '235.89.31.26'],
  ['216.184.159.48', '235.96.225.78'], ['216.227.10.221', '235.28.253.36'], ['216.254.18.172', '235.7.16.162'],
  ['216.32.132.250', '235.192.139.38'], ['216.35.217.178', '235.195.157.81'], ['24.0.250.221', '100.15.198.226'],
  ['24.13.62.231', '100.2.192.247'], ['24.14.213.138', '100.1.42.141'], ['24.5.0.80', '100.9.15.210'],
  ['24.7.198.88', '100.10.6.25'], ['24.94.26.44', '100.88.228.35'], ['38.15.67.68', '64.3.66.187'],
  ['4.3.88.225', '124.60.155.63'], ['63.14.55.111', '95.9.215.7'], ['63.195.241.44', '95.179.238.44'],
  ['63.97.7.140', '95.97.9.123'], ['64.14.118.196', '0.255.183.58'], ['64.34.154.117', '0.221.154.117'],
  ['64.39.15.238', '0.219.7.41'],
];

// The usual IPv6 extension (same pad as IPv4), from the same Go test: cross-checks our IPv6
// bit machinery against an independent implementation.
const SHARED_PAD_V6: Array<[string, string]> = [
  ['::1', '78ff:f001:9fc0:20df:8380:b1f1:704:ed'],
  ['::2', '78ff:f001:9fc0:20df:8380:b1f1:704:ef'],
  ['::ffff', '78ff:f001:9fc0:20df:8380:b1f1:704:f838'],
  ['2001:db8::1', '4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1e'],
  ['2001:db8::2', '4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1c'],
];

// Meerkat's IPv6 (derived pad) under SAMPLE_KEY. Regression vectors: pseudonyms in old dumps
// must keep deanonymizing. They agree with the naive reference below.
const MEERKAT_V6: Array<[string, string]> = [
  ['::1', '1fe:87f0:dcff:f70b:f8ce:1e0f:ffff:c041'],
  ['2001:db8::1', '3e3e:b238:3ce0:700b:80c1:800f:2090:3e6'],
  ['fe80::1', '86be:c7d7:20e0:4f00:fe:7f8:dd97:e35e'],
  ['fd00:1234:5678::42', '8440:b534:46b0:30f8:7841:8610:c270:345'],
];

/** Textbook Crypto-PAn, one AES call per bit, for checking the batched implementation. */
function naiveAnonymize(key: Uint8Array, addr: Uint8Array, bits: number, v6Derived: boolean): Uint8Array {
  const aes = (block: Uint8Array): Uint8Array => {
    const c = createCipheriv('aes-128-ecb', key.subarray(0, 16), null);
    c.setAutoPadding(false);
    return Uint8Array.from(c.update(block));
  };
  const seed = Uint8Array.from(key.subarray(16));
  if (v6Derived) {
    const tweak = Buffer.from('Meerkat IPv6 pad');
    for (let i = 0; i < 16; i++) seed[i]! ^= tweak[i]!;
  }
  const pad = aes(seed);
  const bit = (b: Uint8Array, i: number): number => (b[i >> 3]! >> (7 - (i & 7))) & 1;
  const out = new Uint8Array(bits / 8);
  for (let i = 0; i < bits; i++) {
    const input = Uint8Array.from(pad);
    for (let j = 0; j < i; j++) {
      const m = 0x80 >> (j & 7);
      input[j >> 3] = bit(addr, j) ? input[j >> 3]! | m : input[j >> 3]! & ~m;
    }
    const f = aes(input)[0]! >> 7;
    if (bit(addr, i) ^ f) out[i >> 3]! |= 0x80 >> (i & 7);
  }
  return out;
}

function anon4Text(pan: CryptoPan, text: string): string {
  const o = new Uint8Array(4);
  uint32ToIpv4(pan.anonymizeV4(ipv4ToUint32(parseIp(text).bytes)), o);
  return formatIpv4(o);
}

function anon6Text(pan: CryptoPan, text: string): string {
  const o = new Uint8Array(16);
  pan.anonymizeV6(parseIp(text).bytes, 0, o, 0);
  return formatIp(6, o);
}

function commonPrefix(a: Uint8Array, b: Uint8Array, bytes: number): number {
  for (let i = 0; i < bytes; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return bytes * 8;
}

function popcount32(x: number): number {
  x >>>= 0;
  let n = 0;
  while (x) { x &= x - 1; n++; }
  return n;
}

const randKey = (): Uint8Array => Uint8Array.from(randomBytes(32));
const bytes16 = fc.uint8Array({ minLength: 16, maxLength: 16 });

describe('CryptoPan', () => {
  it('reproduces the original Crypto-PAn sample trace (70 IPv4 pairs)', () => {
    const pan = new CryptoPan(SAMPLE_KEY);
    for (const [raw, sanitized] of SAMPLE_V4) assert.equal(anon4Text(pan, raw), sanitized, raw);
    // and backwards, with a fresh instance so no state from the forward pass helps
    const back = new CryptoPan(SAMPLE_KEY);
    for (const [raw, sanitized] of SAMPLE_V4) {
      assert.equal(back.deanonymizeV4(ipv4ToUint32(parseIp(sanitized).bytes)), ipv4ToUint32(parseIp(raw).bytes), sanitized);
    }
  });

  it("matches an independent IPv6 extension when told to share the IPv4 pad", () => {
    const pan = new CryptoPan(SAMPLE_KEY, { v6Pad: 'shared' });
    for (const [raw, anon] of SHARED_PAD_V6) assert.equal(anon6Text(pan, raw), anon, raw);
  });

  it('IPv6 with the derived pad: fixed vectors, agreeing with the naive one-AES-per-bit reference', () => {
    const pan = new CryptoPan(SAMPLE_KEY);
    for (const [raw, anon] of MEERKAT_V6) {
      assert.equal(anon6Text(pan, raw), anon, raw);
      assert.equal(formatIp(6, naiveAnonymize(SAMPLE_KEY, parseIp(raw).bytes, 128, true)), anon, raw);
    }
  });

  it('batched/prefix-reusing code equals the naive reference in any address order', () => {
    const key = randKey();
    const pan = new CryptoPan(key);
    // addresses sharing prefixes of all lengths with their predecessor exercise the reuse path
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 0xffffffff })), { minLength: 1, maxLength: 12 }), fc.integer({ min: 0, max: 0xffffffff }), (steps, start) => {
      let a = start >>> 0;
      for (const [flip, low] of steps) {
        if (flip < 32) {
          // flip bit `flip`, randomise the bits after it
          const lowMask = flip === 31 ? 0 : 0xffffffff >>> (flip + 1);
          a = (((a ^ (0x80000000 >>> flip)) & ~lowMask) | (low & lowMask)) >>> 0;
        }
        const b = new Uint8Array(4);
        uint32ToIpv4(a, b);
        const expect = ipv4ToUint32(naiveAnonymize(key, b, 32, false));
        assert.equal(pan.anonymizeV4(a), expect);
      }
    }), { numRuns: 40 });
    fc.assert(fc.property(bytes16, fc.array(fc.tuple(fc.integer({ min: 0, max: 128 }), bytes16), { minLength: 1, maxLength: 4 }), (start, steps) => {
      const a = Uint8Array.from(start);
      for (const [flip, low] of steps) {
        if (flip < 128) {
          a[flip >> 3]! ^= 0x80 >> (flip & 7);
          for (let i = flip + 1; i < 128; i++) {
            const m = 0x80 >> (i & 7);
            a[i >> 3] = low[i >> 3]! & m ? a[i >> 3]! | m : a[i >> 3]! & ~m;
          }
        }
        const out = new Uint8Array(16);
        pan.anonymizeV6(a, 0, out, 0);
        assert.deepEqual(out, naiveAnonymize(key, a, 128, true));
      }
    }), { numRuns: 15 });
  });

  it('is one-to-one: no collisions over 50,000 random IPv4 and 10,000 random IPv6 addresses', () => {
    const pan = new CryptoPan(randKey());
    const ins = new Set<number>();
    const outs = new Set<number>();
    const r = randomBytes(4 * 50_000);
    for (let i = 0; i < 50_000; i++) {
      const a = r.readUInt32BE(4 * i);
      if (ins.has(a)) continue;
      ins.add(a);
      outs.add(pan.anonymizeV4(a));
    }
    assert.equal(outs.size, ins.size);
    // a dense block too (every address of a /16): collisions there would be likelier than among random ones
    const dense = new Set<number>();
    for (let i = 0; i < 65536; i++) dense.add(pan.anonymizeV4((0x0a0b0000 | i) >>> 0));
    assert.equal(dense.size, 65536);

    const in6 = new Set<string>();
    const out6 = new Set<string>();
    const r6 = randomBytes(16 * 10_000);
    const o = new Uint8Array(16);
    for (let i = 0; i < 10_000; i++) {
      const a = r6.subarray(16 * i, 16 * i + 16);
      const k = a.toString('hex');
      if (in6.has(k)) continue;
      in6.add(k);
      pan.anonymizeV6(a, 0, o, 0);
      out6.add(Buffer.from(o).toString('hex'));
    }
    assert.equal(out6.size, in6.size);
  });

  it('preserves the shared prefix length exactly (IPv4)', () => {
    const pan = new CryptoPan(randKey());
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 0xffffffff }), (x, k, low) => {
      const a = x >>> 0;
      // b shares exactly k leading bits with a (k = 32: b = a)
      // (JavaScript shifts are mod 32, hence the explicit masks for k >= 31)
      const keep = k === 0 ? 0 : (0xffffffff << (32 - k)) >>> 0;
      const lowMask = k >= 31 ? 0 : 0xffffffff >>> (k + 1);
      const b = k === 32 ? a : ((a & keep) | (~a & (0x80000000 >>> k)) | (low & lowMask)) >>> 0;
      assert.equal(Math.clz32((a ^ b) >>> 0), k);
      assert.equal(Math.clz32((pan.anonymizeV4(a) ^ pan.anonymizeV4(b)) >>> 0), k);
    }), { numRuns: 2000 });
  });

  it('preserves the shared prefix length exactly (IPv6)', () => {
    const pan = new CryptoPan(randKey());
    fc.assert(fc.property(bytes16, bytes16, fc.integer({ min: 0, max: 128 }), (x, y, k) => {
      const a = Uint8Array.from(x);
      const b = Uint8Array.from(a);
      if (k < 128) {
        b[k >> 3]! ^= 0x80 >> (k & 7);
        for (let i = k + 1; i < 128; i++) {
          const m = 0x80 >> (i & 7);
          b[i >> 3] = y[i >> 3]! & m ? b[i >> 3]! | m : b[i >> 3]! & ~m;
        }
      }
      assert.equal(commonPrefix(a, b, 16), k);
      const pa = new Uint8Array(16);
      const pb = new Uint8Array(16);
      pan.anonymizeV6(a, 0, pa, 0);
      pan.anonymizeV6(b, 0, pb, 0);
      assert.equal(commonPrefix(pa, pb, 16), k);
    }), { numRuns: 300 });
  });

  it('inverts: deanonymize(anonymize(a)) = a, also in place and at offsets', () => {
    const pan = new CryptoPan(randKey());
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (x) => {
      const a = x >>> 0;
      assert.equal(pan.deanonymizeV4(pan.anonymizeV4(a)), a);
      assert.equal(pan.anonymizeV4(pan.deanonymizeV4(a)), a);
    }), { numRuns: 500 });
    fc.assert(fc.property(bytes16, fc.integer({ min: 0, max: 7 }), (a, off) => {
      const buf = new Uint8Array(40);
      buf.set(a, off);
      pan.anonymizeV6(buf, off, buf, off); // in place
      const back = new Uint8Array(20);
      pan.deanonymizeV6(buf, off, back, 3);
      assert.deepEqual(back.subarray(3, 19), a);
    }), { numRuns: 100 });
  });

  it('different keys give unrelated pseudonyms (about half the bits differ)', () => {
    // The first few output bits depend on few prefixes (bit 0 on none: one coin per key), so a
    // single key pair can be far from 16 by chance: average over many key pairs.
    const pairs = 400;
    const per = 20;
    let diff = 0;
    let self = 0;
    let diff6 = 0;
    const o1 = new Uint8Array(16);
    const o2 = new Uint8Array(16);
    for (let k = 0; k < pairs; k++) {
      const p1 = new CryptoPan(randKey());
      const p2 = new CryptoPan(randKey());
      const r = randomBytes(4 * per);
      for (let i = 0; i < per; i++) {
        const a = r.readUInt32BE(4 * i);
        diff += popcount32(p1.anonymizeV4(a) ^ p2.anonymizeV4(a));
        self += popcount32(a ^ p1.anonymizeV4(a));
      }
      if (k < 100) {
        const a6 = randomBytes(16);
        p1.anonymizeV6(a6, 0, o1, 0);
        p2.anonymizeV6(a6, 0, o2, 0);
        const x1 = Buffer.from(o1);
        const x2 = Buffer.from(o2);
        for (let j = 0; j < 16; j += 4) diff6 += popcount32(x1.readUInt32BE(j) ^ x2.readUInt32BE(j));
      }
    }
    const mean = diff / (pairs * per); // expected 16, sd of this mean about 0.05
    assert.ok(Math.abs(mean - 16) < 0.5, `mean differing bits between keys ${mean}`);
    const meanSelf = self / (pairs * per); // a pseudonym vs its input: also 16
    assert.ok(Math.abs(meanSelf - 16) < 0.5, `mean bits changed ${meanSelf}`);
    const mean6 = diff6 / 100; // expected 64, sd about 0.6
    assert.ok(Math.abs(mean6 - 64) < 3, `mean differing IPv6 bits ${mean6}`);
  });

  it('derived IPv6 pad: a v6 address does not share its pseudonym prefix with the v4 address of the same leading bits', () => {
    const key = randKey();
    const derived = new CryptoPan(key);
    const shared = new CryptoPan(key, { v6Pad: 'shared' });
    let sameDerived = 0;
    const n = 200;
    const r = randomBytes(16 * n);
    const o = new Uint8Array(16);
    for (let i = 0; i < n; i++) {
      const a6 = r.subarray(16 * i, 16 * i + 16);
      const a4 = a6.readUInt32BE(0);
      shared.anonymizeV6(a6, 0, o, 0);
      // with a shared pad the first 32 bits are the IPv4 pseudonym: the correlation we avoid
      assert.equal(Buffer.from(o).readUInt32BE(0), shared.anonymizeV4(a4));
      derived.anonymizeV6(a6, 0, o, 0);
      if (Buffer.from(o).readUInt32BE(0) === derived.anonymizeV4(a4)) sameDerived++;
    }
    assert.equal(sameDerived, 0);
  });

  it('gives the same pseudonyms in another process with the same key', function () {
    this.timeout(60_000);
    const key = randKey();
    const addrs = ['10.0.0.1', '10.0.0.2', '192.168.77.1', '8.8.8.8', 'fe80::1', 'fd12:3456::abcd', '2001:db8::1'];
    const script = nodeScriptArgs('./fixtures/print-pseudonyms', import.meta.url);
    const run = spawnSync(process.execPath, [...script, Buffer.from(key).toString('hex'), ...addrs], { cwd: repoRoot(), encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const pan = new CryptoPan(key);
    const here = addrs.map((t) => (t.includes(':') ? anon6Text(pan, t) : anon4Text(pan, t)));
    assert.deepEqual(run.stdout.trim().split('\n'), here);
    // and a different key in the child gives different ones
    const other = spawnSync(process.execPath, [...script, Buffer.from(randKey()).toString('hex'), ...addrs], { cwd: repoRoot(), encoding: 'utf8' });
    assert.equal(other.status, 0, other.stderr);
    const theirs = other.stdout.trim().split('\n');
    assert.equal(theirs.filter((t, i) => t === here[i]).length, 0);
  });

  it('rejects keys of the wrong size with a named error', () => {
    assert.throws(() => new CryptoPan(new Uint8Array(16)), (e: unknown) => e instanceof CryptoPanKeyError && /32 bytes.*got 16/.test(e.message));
    assert.throws(() => new CryptoPan('x'.repeat(32) as unknown as Uint8Array), CryptoPanKeyError);
  });
});
