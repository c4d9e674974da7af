// Watchlist pieces on the agent: prefix matcher (against cidrContains), the wire codec, the
// rate-limited early flush, and the pipeline hook on real frames.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cidrContains, parseCidr, parseIp } from '../../../shared/net/ip-address.js';
import { PrefixMatcher } from '../../../shared/watchlist/prefix-matcher.js';
import { decodeWatchlist, encodeWatchlist, WatchlistFormatError } from '../../../shared/watchlist/watchlist-codec.js';
import { WatchlistTrigger } from '../../../agent/watchlist/watchlist-trigger.js';
import { PacketRecord, RecordFlag } from '../../../shared/packet/packet-record.js';

const cidr = (s: string) => parseCidr(s);

describe('watchlist: prefix matcher', () => {
  it('matches exactly what cidrContains says (random v4 and v6 prefixes and addresses)', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.nat(128)), { minLength: 1, maxLength: 20 }),
      fc.array(fc.tuple(fc.boolean(), fc.uint8Array({ minLength: 16, maxLength: 16 })), { minLength: 1, maxLength: 20 }),
      (prefixes, addrs) => {
        const list = prefixes.map(([v4, b, len]) => {
          const version = v4 ? 4 as const : 6 as const;
          const bytes = new Uint8Array(16); bytes.set(b.subarray(0, v4 ? 4 : 16));
          return { version, bytes, prefixLen: v4 ? len % 33 : len };
        });
        const m = PrefixMatcher.from(list);
        // also probe addresses inside the listed prefixes
        const probes = [...addrs.map(([v4, b]) => ({ v: v4 ? 4 : 6, b: v4 ? Uint8Array.from([...b.subarray(0, 4), ...new Uint8Array(12)]) : b })),
          ...list.map((e) => ({ v: e.version, b: e.bytes }))];
        for (const p of probes) {
          const expected = list.some((e) => {
            const c = { version: e.version, bytes: new Uint8Array(e.bytes), prefixLen: e.prefixLen };
            const max = e.version === 4 ? 32 : 128;
            for (let bit = c.prefixLen; bit < max; bit++) c.bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
            return cidrContains(c, p.v, p.b);
          });
          assert.equal(m.matches(p.v, p.b), expected);
        }
      }), { numRuns: 200 });
  });

  it('keeps v4 and v6 apart and matches nothing when empty', () => {
    const m = PrefixMatcher.from([cidr('0.0.0.0/0')]);
    assert.equal(m.matches(4, parseIp('203.0.113.9').bytes), true);
    assert.equal(m.matches(6, parseIp('2001:db8::1').bytes), false);
    assert.equal(new PrefixMatcher().matches(4, parseIp('203.0.113.9').bytes), false);
  });
});

describe('watchlist: codec', () => {
  it('round-trips sorted, de-duplicated prefixes; the version is a content hash', () => {
    const list = ['198.51.100.0/24', '203.0.113.7', '2001:db8::/32', '203.0.113.7', '198.51.100.77/24'].map(cidr);
    const p = encodeWatchlist(list);
    const back = decodeWatchlist(p);
    assert.equal(back.length, 3);
    assert.deepEqual(back.map((e) => `${e.version}/${e.prefixLen}`), ['4/24', '4/32', '6/32']);
    assert.equal(encodeWatchlist([...list].reverse()).version, p.version);
    assert.notEqual(encodeWatchlist(list.slice(0, 1)).version, p.version);
  });

  it('stays within its byte bound and says when it left entries out', () => {
    const list = Array.from({ length: 1000 }, (_, i) => cidr(`10.${i >> 8}.${i & 255}.1`));
    const p = encodeWatchlist(list, 500);
    assert.equal(p.truncated, true);
    assert.equal(decodeWatchlist(p).length, 100);
  });

  it('refuses damaged payloads with a named error', () => {
    assert.throws(() => decodeWatchlist({ version: 'x', v4: 'AAAA', v6: '' }), WatchlistFormatError);
    assert.throws(() => decodeWatchlist({ version: 'x', v4: Buffer.from([1, 2, 3, 4, 40]).toString('base64'), v6: '' }), /prefix lengths up to 32/);
    assert.throws(() => decodeWatchlist({ version: 'x', v4: '!!', v6: '' }), WatchlistFormatError);
  });
});

describe('watchlist: trigger', () => {
  function rec(src: string, dst: string, flags = 0): PacketRecord {
    const r = new PacketRecord();
    const a = parseIp(src); const b = parseIp(dst);
    r.ipVersion = a.version; r.src.set(a.bytes); r.dst.set(b.bytes); r.flags = flags;
    return r;
  }

  it('matches clear addresses only, installs/removes the hook, and rate-limits early flushes', async () => {
    let now = 1_000_000;
    let flushes = 0;
    let installed: unknown = 'unset';
    const t = new WatchlistTrigger({ flush: () => { flushes++; }, install: (w) => { installed = w; }, now: () => now, minIntervalMs: 1000, maxPerMinute: 3, peerQuietMs: 60_000 });
    assert.equal(t.update(encodeWatchlist([cidr('203.0.113.0/24')])), true);
    assert.equal(installed, t);
    assert.equal(t.matches(rec('10.0.0.1', '203.0.113.5')), true);
    assert.equal(t.matches(rec('203.0.113.5', '10.0.0.1')), true);
    assert.equal(t.matches(rec('10.0.0.1', '203.0.113.5', RecordFlag.DstAnon)), false, 'a pseudonym never matches');
    assert.equal(t.matches(rec('10.0.0.1', '198.51.100.1')), false);
    const hitOn = (addr: string): void => { assert.equal(t.matches(rec('10.0.0.1', addr)), true); t.hit(); };
    hitOn('203.0.113.1');
    assert.equal(flushes, 1);
    hitOn('203.0.113.1'); // the same peer again: its first packet already went out
    assert.equal(t.stats().quiet, 1);
    hitOn('203.0.113.2'); hitOn('203.0.113.3'); // new peers inside the interval: one deferred flush
    assert.equal(flushes, 1);
    await new Promise((r) => setTimeout(r, 1100));
    now += 1100;
    assert.equal(flushes, 2);
    now += 2000; hitOn('203.0.113.4');
    now += 2000; hitOn('203.0.113.5'); // per-minute cap of 3 reached
    assert.equal(flushes, 3);
    assert.equal(t.stats().limited, 1);
    now += 61_000; hitOn('203.0.113.1'); // quiet period over, new minute
    assert.equal(flushes, 4);
    assert.equal(t.update(encodeWatchlist([])), true);
    assert.equal(installed, null, 'an empty list removes the per-packet hook');
    t.stop();
  });
});
