// Reference captures through the anonymizer: the addresses tshark reads from real traffic.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { AddressAnonymizer } from '../../../shared/anonymize/address-anonymizer.js';
import { deanonymizeText } from '../../../shared/anonymize/pseudonym-text.js';
import { PacketRecord, RecordFlag } from '../../../shared/packet/packet-record.js';
import { formatIp, parseIp } from '../../../shared/net/ip-address.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';

function addressPairs(pcap: string): Array<[string, string]> {
  const out = execFileSync('tshark', ['-r', join(referencePcapsDir(), pcap), '-T', 'fields', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'ipv6.src', '-e', 'ipv6.dst'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const pairs: Array<[string, string]> = [];
  for (const line of out.split('\n')) {
    // tunnels list several addresses per field; the first (outer) pair is enough here
    const f = line.split('\t').map((x) => x.split(',')[0] ?? '');
    if (f[0] && f[1]) pairs.push([f[0], f[1]]);
    else if (f[2] && f[3]) pairs.push([f[2], f[3]]);
  }
  return pairs;
}

function commonPrefix(a: Uint8Array, b: Uint8Array, bytes: number): number {
  for (let i = 0; i < bytes; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return bytes * 8;
}

const isRfc1918 = (t: string): boolean => /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(t);

describe('anonymizing reference captures', function () {
  this.timeout(60_000);
  const key = Uint8Array.from(randomBytes(32));

  it("netflix.pcap under 'internal': private addresses become pseudonyms, public ones stay", () => {
    const pairs = addressPairs('ndpi/netflix.pcap');
    assert.ok(pairs.length > 1000, `packets ${pairs.length}`);
    const an = new AddressAnonymizer({ key, policy: 'internal' });
    const rec = new PacketRecord();
    let srcAnon = 0;
    let dstAnon = 0;
    const seen = new Map<string, string>();
    for (const [s, d] of pairs) {
      rec.reset();
      const a = parseIp(s);
      rec.ipVersion = a.version;
      rec.src.set(a.bytes);
      rec.dst.set(parseIp(d).bytes);
      an.anonymizeRecord(rec);
      const ps = formatIp(rec.ipVersion, rec.src);
      const pd = formatIp(rec.ipVersion, rec.dst);
      assert.equal((rec.flags & RecordFlag.SrcAnon) !== 0, isRfc1918(s), s);
      assert.equal((rec.flags & RecordFlag.DstAnon) !== 0, isRfc1918(d), d);
      if (rec.flags & RecordFlag.SrcAnon) { srcAnon++; assert.equal(deanonymizeText({ anonKey: key }, ps), s); } else assert.equal(ps, s);
      if (rec.flags & RecordFlag.DstAnon) { dstAnon++; assert.equal(deanonymizeText({ anonKey: key }, pd), d); } else assert.equal(pd, d);
      // consistent: one address, one pseudonym
      for (const [orig, p] of [[s, ps], [d, pd]] as const) {
        const prev = seen.get(orig);
        assert.ok(prev === undefined || prev === p);
        seen.set(orig, p);
      }
    }
    assert.ok(srcAnon > 100 && dstAnon > 100, `anonymized src ${srcAnon} dst ${dstAnon}`);
    // a few distinct addresses, thousands of packets: nearly all cache hits
    assert.ok(an.stats.misses <= seen.size, `misses ${an.stats.misses}`);
    assert.equal(an.stats.lookups, srcAnon + dstAnon);
  });

  it("http_ipv6.pcap: the host's own global IPv6 address is rewritten, its peers are not", () => {
    const pairs = addressPairs('ndpi/http_ipv6.pcap');
    const host = '2a00:d40:1:3:7aac:c0ff:fea7:d4c';
    const an = new AddressAnonymizer({ key, policy: 'internal', hostAddresses: [host] });
    const rec = new PacketRecord();
    let n = 0;
    for (const [s, d] of pairs) {
      if (!s.includes(':')) continue;
      rec.reset();
      rec.ipVersion = 6;
      rec.src.set(parseIp(s).bytes);
      rec.dst.set(parseIp(d).bytes);
      an.anonymizeRecord(rec);
      assert.equal((rec.flags & RecordFlag.SrcAnon) !== 0, s === host);
      assert.equal((rec.flags & RecordFlag.DstAnon) !== 0, d === host);
      assert.notEqual(formatIp(6, rec.src), host);
      assert.notEqual(formatIp(6, rec.dst), host);
      n++;
    }
    assert.ok(n > 50, `IPv6 packets ${n}`);
  });

  it("under 'all' every pair of distinct addresses keeps its shared prefix length", () => {
    const addrs = new Set<string>();
    for (const f of ['ndpi/netflix.pcap', 'ndpi/http_ipv6.pcap', 'arkime/v6.pcap']) for (const [s, d] of addressPairs(f)) addrs.add(s).add(d);
    const an = new AddressAnonymizer({ key, policy: 'all' });
    const list = [...addrs].map((t) => {
      const a = parseIp(t);
      const p = Uint8Array.from(a.bytes);
      assert.ok(an.anonymize(a.version, p));
      return { v: a.version, a: a.bytes, p };
    });
    let compared = 0;
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const x = list[i]!;
        const y = list[j]!;
        if (x.v !== y.v) continue;
        const n = x.v === 4 ? 4 : 16;
        assert.equal(commonPrefix(x.p, y.p, n), commonPrefix(x.a, y.a, n));
        compared++;
      }
    }
    assert.ok(compared > 200, `pairs compared ${compared}`);
  });
});
