import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { AddressAnonymizer, DEFAULT_INTERNAL_PREFIXES, type AnonymizePolicy } from '../../../shared/anonymize/address-anonymizer.js';
import { CryptoPan } from '../../../shared/anonymize/cryptopan.js';
import { anonKeyId } from '../../../shared/anonymize/key-derivation.js';
import { PacketRecord, RecordFlag } from '../../../shared/packet/packet-record.js';
import { AddressParseError, formatIp, parseIp } from '../../../shared/net/ip-address.js';

const KEY = Uint8Array.from(randomBytes(32));

/** What Crypto-PAn itself makes of an address (IPv4-mapped through its IPv4 part). */
function expectedPseudonym(key: Uint8Array, text: string): string {
  const pan = new CryptoPan(key);
  const a = parseIp(text);
  const b = a.bytes;
  const mapped = a.version === 6 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (a.version === 4 || mapped) {
    const off = a.version === 4 ? 0 : 12;
    Buffer.from(b.buffer, b.byteOffset).writeUInt32BE(pan.anonymizeV4(Buffer.from(b.buffer, b.byteOffset).readUInt32BE(off)), off);
  } else {
    pan.anonymizeV6(b, 0, b, 0);
  }
  return formatIp(a.version, b);
}

function anonText(an: AddressAnonymizer, text: string): { out: string; did: boolean } {
  const a = parseIp(text);
  const did = an.anonymize(a.version, a.bytes);
  return { out: formatIp(a.version, a.bytes), did };
}

function record(src: string, dst: string): PacketRecord {
  const r = new PacketRecord();
  const s = parseIp(src);
  const d = parseIp(dst);
  r.ipVersion = s.version;
  r.src.set(s.bytes);
  r.dst.set(d.bytes);
  return r;
}

const INTERNAL_SAMPLES = [
  '10.0.0.1', '10.255.255.254', '172.16.0.1', '172.31.255.255', '192.168.1.20', '100.64.0.1', '100.127.255.255',
  '169.254.10.10', 'fd12:3456:789a::1', 'fc00::5', 'fe80::1:2:3:4', 'febf::1', 'ff02::1:ff12:3456', '::ffff:10.1.2.3',
];
const EXTERNAL_SAMPLES = [
  '8.8.8.8', '172.32.0.1', '172.15.255.255', '192.169.0.1', '100.128.0.1', '100.63.255.255', '11.0.0.1', '9.255.255.255',
  '2001:db8::1', '2a00:1450:4001:803::1012', 'fec0::1', 'ff02::1', 'ff02::1:fe00:1', '::ffff:8.8.8.8',
];

describe('AddressAnonymizer', () => {
  it("'internal' rewrites internal addresses (Crypto-PAn) and leaves external ones", () => {
    const an = new AddressAnonymizer({ key: KEY, policy: 'internal' });
    for (const t of INTERNAL_SAMPLES) {
      const r = anonText(an, t);
      assert.ok(r.did, t);
      assert.equal(r.out, expectedPseudonym(KEY, t), t);
      assert.notEqual(r.out, t);
    }
    for (const t of EXTERNAL_SAMPLES) {
      const r = anonText(an, t);
      assert.ok(!r.did, t);
      assert.equal(r.out, formatIp(parseIp(t).version, parseIp(t).bytes), t);
    }
  });

  it('keeps loopback in the clear under internal, even when listed as a host address; rewrites it under all', () => {
    const an = new AddressAnonymizer({ key: KEY, policy: 'internal', hostAddresses: ['127.0.0.1', '::1', '0.0.0.0', '::'] });
    for (const t of ['127.0.0.1', '127.0.1.1', '::1', '0.0.0.0', '::']) assert.ok(!anonText(an, t).did, t);
    const all = new AddressAnonymizer({ key: KEY, policy: 'all' });
    for (const t of ['127.0.0.1', '::1']) {
      const r = anonText(all, t);
      assert.ok(r.did);
      assert.equal(r.out, expectedPseudonym(KEY, t));
    }
  });

  it("host's own addresses are rewritten under internal even when public; setHostAddresses replaces them", () => {
    const an = new AddressAnonymizer({ key: KEY, policy: 'internal', hostAddresses: ['203.0.113.7', '2001:db8:1::7', '::ffff:198.51.100.9'] });
    assert.ok(anonText(an, '203.0.113.7').did);
    assert.ok(!anonText(an, '203.0.113.8').did);
    assert.ok(anonText(an, '2001:db8:1::7').did);
    assert.ok(!anonText(an, '2001:db8:1::8').did);
    assert.ok(anonText(an, '198.51.100.9').did, 'a mapped host address counts for IPv4 too');
    assert.ok(anonText(an, '::ffff:203.0.113.7').did);
    an.setHostAddresses(['203.0.113.8']);
    assert.ok(!anonText(an, '203.0.113.7').did);
    assert.ok(anonText(an, '203.0.113.8').did);
    assert.ok(!anonText(an, '2001:db8:1::7').did);
  });

  it("'all' rewrites every address, 'none' none; both agree with Crypto-PAn", () => {
    const all = new AddressAnonymizer({ key: KEY, policy: 'all' });
    const none = new AddressAnonymizer({ key: KEY, policy: 'none', hostAddresses: ['10.0.0.1'] });
    for (const t of [...INTERNAL_SAMPLES, ...EXTERNAL_SAMPLES]) {
      const r = anonText(all, t);
      assert.ok(r.did, t);
      assert.equal(r.out, expectedPseudonym(KEY, t), t);
      const n = anonText(none, t);
      assert.ok(!n.did);
      assert.equal(n.out, formatIp(parseIp(t).version, parseIp(t).bytes));
    }
    assert.ok(!all.anonymize(0, new Uint8Array(16)), 'non-IP is never touched');
    assert.equal(none.stats.lookups, 0);
  });

  it('own internal prefixes replace the defaults; a mapped prefix applies to IPv4', () => {
    const an = new AddressAnonymizer({ key: KEY, policy: 'internal', internalPrefixes: ['198.18.0.0/15', '2001:db8:aa::/48', '::ffff:203.0.113.0/120'] });
    assert.ok(anonText(an, '198.19.1.1').did);
    assert.ok(!anonText(an, '198.20.1.1').did);
    assert.ok(!anonText(an, '10.1.1.1').did, 'defaults no longer apply');
    assert.ok(anonText(an, '2001:db8:aa:ffff::1').did);
    assert.ok(!anonText(an, '2001:db8:ab::1').did);
    assert.ok(anonText(an, '203.0.113.99').did);
    assert.throws(() => new AddressAnonymizer({ key: KEY, policy: 'internal', internalPrefixes: ['10.0.0.0/33'] }), AddressParseError);
    assert.throws(() => new AddressAnonymizer({ key: KEY, policy: 'internal', hostAddresses: ['host.example'] }), AddressParseError);
    assert.throws(() => new AddressAnonymizer({ key: KEY, policy: 'some' as AnonymizePolicy }), /policy/);
  });

  it('matches the default prefixes exactly as CIDR containment does (random addresses)', () => {
    const an = new AddressAnonymizer({ key: KEY, policy: 'internal' });
    const v4Nets = DEFAULT_INTERNAL_PREFIXES.filter((c) => !c.includes(':'));
    const inV4 = (a: number): boolean => v4Nets.some((c) => {
      const [net, len] = c.split('/');
      const n = Buffer.from(parseIp(net!).bytes).readUInt32BE(0);
      const m = Number(len) === 0 ? 0 : (0xffffffff << (32 - Number(len))) >>> 0;
      return ((a & m) >>> 0) === n;
    });
    // bias towards the interesting ranges by drawing the first octet from them half the time
    const firstOctet = fc.oneof(fc.constantFrom(10, 172, 192, 100, 169), fc.integer({ min: 0, max: 255 }));
    fc.assert(fc.property(firstOctet, fc.integer({ min: 0, max: 0xffffff }), (o, rest) => {
      const a = ((o << 24) | rest) >>> 0;
      const b = new Uint8Array(16);
      Buffer.from(b.buffer).writeUInt32BE(a, 0);
      assert.equal(an.wouldAnonymize(4, b), inV4(a));
      assert.equal(an.anonymize(4, b), inV4(a));
    }), { numRuns: 3000 });
  });

  it('anonymizeRecord rewrites per side, sets SrcAnon/DstAnon, and never rewrites a pseudonym twice', () => {
    const an = new AddressAnonymizer({ key: KEY, policy: 'internal' });
    const r = record('192.168.1.10', '93.184.216.34');
    an.anonymizeRecord(r);
    assert.equal(r.flags & (RecordFlag.SrcAnon | RecordFlag.DstAnon), RecordFlag.SrcAnon);
    assert.equal(formatIp(4, r.src), expectedPseudonym(KEY, '192.168.1.10'));
    assert.equal(formatIp(4, r.dst), '93.184.216.34');
    const once = formatIp(4, r.src);
    an.anonymizeRecord(r); // a second pass must not pseudonymize the pseudonym
    assert.equal(formatIp(4, r.src), once);

    const r6 = record('2001:db8::5', 'fe80::abcd');
    r6.flags = RecordFlag.Truncated;
    an.anonymizeRecord(r6);
    assert.equal(r6.flags, RecordFlag.Truncated | RecordFlag.DstAnon);
    assert.equal(formatIp(6, r6.dst), expectedPseudonym(KEY, 'fe80::abcd'));

    const both = record('10.1.1.1', '10.2.2.2');
    an.anonymizeRecord(both);
    assert.equal(both.flags & (RecordFlag.SrcAnon | RecordFlag.DstAnon), RecordFlag.SrcAnon | RecordFlag.DstAnon);

    const arp = new PacketRecord(); // ipVersion 0: untouched
    arp.src[0] = 10;
    an.anonymizeRecord(arp);
    assert.equal(arp.flags, 0);
    assert.equal(arp.src[0], 10);
  });

  it('keyId: 16 hex chars, stable for a key, different for another key, not a prefix of the key', () => {
    const a = new AddressAnonymizer({ key: KEY, policy: 'internal' });
    const b = new AddressAnonymizer({ key: Uint8Array.from(KEY), policy: 'all' });
    const c = new AddressAnonymizer({ key: Uint8Array.from(randomBytes(32)), policy: 'internal' });
    assert.match(a.keyId, /^[0-9a-f]{16}$/);
    assert.equal(a.keyId, b.keyId);
    assert.equal(a.keyId, anonKeyId(KEY));
    assert.notEqual(a.keyId, c.keyId);
    assert.ok(!Buffer.from(KEY).toString('hex').includes(a.keyId));
  });

  it('counts lookups and misses: repeated addresses hit the cache', () => {
    const an = new AddressAnonymizer({ key: KEY, policy: 'internal' });
    const addrs = ['10.0.0.1', '10.0.0.2', 'fd00::1', '8.8.8.8'];
    for (let round = 0; round < 5; round++) for (const t of addrs) anonText(an, t);
    assert.deepEqual({ ...an.stats }, { lookups: 15, misses: 3 });
  });

  it('cache stays bounded under random hostile addresses and stays correct after eviction', () => {
    const cacheSize = 1000;
    const an = new AddressAnonymizer({ key: KEY, policy: 'all', cacheSize });
    const pan = new CryptoPan(KEY);
    const bytesBefore = an.cacheBytes;
    const b = new Uint8Array(16);
    // 30,000 DISTINCT random addresses: a repeat could hit the cache and skew the miss count
    const seen = new Set<number>();
    const rand: number[] = [];
    while (rand.length < 30_000) {
      const x = randomBytes(4).readUInt32BE(0);
      if ((x >>> 24) === 10 || seen.has(x)) continue; // 10/8: where the steady addresses live
      seen.add(x);
      rand.push(x);
    }
    for (let i = 0; i < 30_000; i++) {
      const a = rand[i]!;
      b.fill(0);
      Buffer.from(b.buffer).writeUInt32BE(a, 0);
      an.anonymize(4, b);
      assert.equal(Buffer.from(b.buffer).readUInt32BE(0), pan.anonymizeV4(a));
      // a few steady addresses in between must keep hitting
      if (i % 10 === 0) {
        b.fill(0);
        b[0] = 10; b[3] = i % 7;
        an.anonymize(4, b);
      }
      assert.ok(an.cachedEntries <= cacheSize, `entries ${an.cachedEntries}`);
    }
    const r6 = randomBytes(16 * 5_000);
    const o = new Uint8Array(16);
    for (let i = 0; i < 5_000; i++) {
      b.set(r6.subarray(16 * i, 16 * i + 16));
      if (b[0] === 0) b[0] = 0x20; // keep off the IPv4-mapped path
      pan.anonymizeV6(b, 0, o, 0);
      an.anonymize(6, b);
      assert.deepEqual(b, o);
    }
    assert.ok(an.cachedEntries <= 2 * cacheSize, `entries ${an.cachedEntries}`);
    assert.equal(an.cacheBytes, bytesBefore, 'table memory is fixed');
    // the steady addresses were looked up 3,000 times; only their first sight missed
    const steadyMisses = an.stats.misses - 30_000 - 5_000;
    assert.ok(steadyMisses >= 7 && steadyMisses <= 20, `steady addresses missed ${steadyMisses} times`);
  });
});
