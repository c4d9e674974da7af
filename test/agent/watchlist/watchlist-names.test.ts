// Domains and TLS fingerprints in the watchlist: the codec's hash sections (round trip,
// suffix matching, the shared byte bound, damaged input), the trigger's metadata check (clear
// names only: an internal name pseudonymized by the agent never matches), and the pipeline:
// a DNS query for a listed domain has its dump emitted at once.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeNameHashes, encodeWatchlist, entryHash, HASH_REC, matchNameHash, WatchlistFormatError,
} from '../../../shared/watchlist/watchlist-codec.js';
import { WatchlistTrigger } from '../../../agent/watchlist/watchlist-trigger.js';
import { AgentPipeline } from '../../../agent/pipeline/agent-pipeline.js';
import { createAppMetaExtractor } from '../../../shared/appmeta/app-meta-extractor.js';
import { AddressAnonymizer } from '../../../shared/anonymize/address-anonymizer.js';
import { decodeDump } from '../../../shared/dump/index.js';
import type { AppMeta, DnsMeta } from '../../../shared/appmeta/meta-record.js';
import { ether, ipv4, udp } from '../../helpers/frames.js';

const JA4 = 't13d1516h2_8daaf6152771_b186095e22b6';
const JA4S = 't130200_1301_a56c5b993250';

function dnsQuery(name: string, pseudonym = false): DnsMeta {
  return {
    kind: 'dns', response: false, tcp: false, id: 1, opcode: 0, authoritative: false, truncated: false, recursionDesired: true,
    recursionAvailable: false, rcode: 0, query: { name, pseudonym }, qtype: 1, qclass: 1, answers: [], complete: true,
  };
}

/** A DNS query message for name (RFC 1035 wire format). */
function dnsWire(name: string, id = 0x4242): number[] {
  const out = [id >> 8, id & 255, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
  for (const label of name.split('.')) out.push(label.length, ...Buffer.from(label));
  out.push(0, 0, 1, 0, 1);
  return out;
}

describe('watchlist: domains and TLS fingerprints', () => {
  it('round-trips the hashes of domains and fingerprints; a list without them keeps its old version', () => {
    const v4 = [{ version: 4 as const, bytes: Uint8Array.from([203, 0, 113, 0, ...new Uint8Array(12)]), prefixLen: 24 }];
    const plain = encodeWatchlist(v4);
    assert.equal(plain.names, undefined);
    assert.equal(encodeWatchlist(v4, undefined, { domains: [], ja4: [] }).version, plain.version);
    const p = encodeWatchlist(v4, undefined, { domains: ['evil.example', 'bad.test', 'evil.example'], ja4: [JA4, JA4S] });
    assert.notEqual(p.version, plain.version);
    const h = decodeNameHashes(p);
    assert.deepEqual([...h.names].sort(), [entryHash('bad.test'), entryHash('evil.example')].sort());
    assert.deepEqual([...h.ja4].sort(), [entryHash(JA4), entryHash(JA4S)].sort());
    assert.equal(Buffer.from(p.names!, 'base64').length, 2 * HASH_REC, 'a domain costs 8 bytes whatever its length');
    assert.ok(!p.names!.includes('evil'), 'names travel as hashes, not text');
  });

  it('a name matches when it or a parent of two labels or more is listed, whatever the case', () => {
    const h = new Set([entryHash('evil.example'), entryHash('co.uk')]);
    assert.equal(matchNameHash('EVIL.example.', h), entryHash('evil.example'));
    assert.equal(matchNameHash('a.b.evil.example', h), entryHash('evil.example'));
    assert.equal(matchNameHash('notevil.example', h), null);
    assert.equal(matchNameHash('example', h), null);
    fc.assert(fc.property(fc.domain(), (d) => {
      const set = new Set([entryHash(d.toLowerCase())]);
      return matchNameHash(`x.${d}`, set) !== null && (d.includes('.') ? matchNameHash(d.toUpperCase(), set) !== null : true);
    }));
  });

  it('shares the byte bound with the prefixes and says when it left entries out', () => {
    const domains = Array.from({ length: 100 }, (_, i) => `d${i}.example`);
    const p = encodeWatchlist([], 40 * HASH_REC, { domains, ja4: [JA4] });
    assert.equal(p.truncated, true);
    const h = decodeNameHashes(p);
    assert.equal(h.ja4.size, 1, 'fingerprints go before domains');
    assert.equal(h.names.size, 39);
  });

  it('refuses damaged sections with a named error', () => {
    const p = encodeWatchlist([], undefined, { domains: ['a.example'], ja4: [] });
    assert.throws(() => decodeNameHashes({ ...p, names: 'AAAA' }), WatchlistFormatError);
    assert.throws(() => decodeNameHashes({ ...p, ja4: 'not base64!' }), WatchlistFormatError);
    fc.assert(fc.property(fc.string(), fc.string(), (names, ja4) => {
      try {
        decodeNameHashes({ version: 'x', v4: '', v6: '', names, ja4 });
      } catch (e) {
        if (!(e instanceof WatchlistFormatError)) throw e;
      }
    }));
  });

  it('the trigger matches clear names (DNS questions and answer targets, SNI, HTTP Host) and fingerprints; never a pseudonym', () => {
    let installed: unknown = null;
    let flushes = 0;
    const t = new WatchlistTrigger({ flush: () => { flushes++; }, install: (w) => { installed = w; }, now: () => 1e6, minIntervalMs: 0 });
    t.update(encodeWatchlist([], undefined, { domains: ['evil.example'], ja4: [JA4, JA4S] }));
    assert.equal(installed, t, 'names alone install the hook');
    assert.deepEqual([t.stats().names, t.stats().ja4], [1, 2]);
    const hits = (m: AppMeta): boolean => t.matchesMeta(m);
    assert.equal(hits(dnsQuery('cdn.evil.example')), true);
    assert.equal(hits(dnsQuery('cdn.evil.example', true)), false, 'a pseudonymized name never matches');
    assert.equal(hits(dnsQuery('good.example')), false);
    assert.equal(hits({ ...dnsQuery('good.example'), response: true, answers: [{ type: 5, ttl: 1, name: { name: 'x.evil.example', pseudonym: false } }] }), true);
    const client = { kind: 'tls-client' as const, transport: 'tcp' as const, quicVersion: 0, version: 0x304, alpn: [], ja4: 't13d0000h2_000000000000_000000000000' };
    assert.equal(hits({ ...client, serverName: { name: 'www.evil.example', pseudonym: false } }), true);
    assert.equal(hits({ ...client, serverName: null, ja4: JA4 }), true);
    assert.equal(hits({ ...client, serverName: null }), false);
    assert.equal(hits({ kind: 'tls-server', transport: 'tcp', quicVersion: 0, version: 0x304, cipher: 0x1301, alpn: null, ja4s: JA4S }), true);
    assert.equal(hits({ kind: 'http', method: 'GET', minorVersion: 1, host: { name: 'evil.example', pseudonym: false }, userAgent: null }), true);
    // one flush per listed entry within peerQuietMs
    assert.equal(hits(dnsQuery('evil.example')), true);
    t.hit();
    assert.equal(hits(dnsQuery('a.evil.example')), true);
    t.hit();
    assert.deepEqual([flushes, t.stats().quiet], [1, 1]);
    t.stop();
  });

  it('in the pipeline: a DNS query for a listed domain has its dump emitted at once, with the record in it', () => {
    const dumps: Uint8Array[] = [];
    const key = new Uint8Array(32).fill(3);
    const anonymizer = new AddressAnonymizer({ key, policy: 'none' });
    let seq = 1;
    const pipeline = new AgentPipeline({
      agentId: '00000000-0000-4000-8000-000000000001', anonymizer, onDump: (b) => dumps.push(b), nextSequence: () => seq++,
      metadata: createAppMetaExtractor({ key, addresses: anonymizer, names: 'internal' }),
    });
    const trigger = new WatchlistTrigger({ flush: () => pipeline.flush(), install: (w) => pipeline.setPacketWatch(w), minIntervalMs: 0 });
    trigger.update(encodeWatchlist([], undefined, { domains: ['evil.example', 'corp.internal'], ja4: [] }));
    const frame = (name: string): Uint8Array => Uint8Array.from(ether('02:00:00:00:00:01', '02:00:00:00:00:02', 0x0800,
      ipv4('192.0.2.10', '192.0.2.53', 17, udp(40000, 53, dnsWire(name)))));
    const send = (name: string, ts: number): void => { const f = frame(name); pipeline.handleFrame(1, f, 0, f.length, f.length, ts); };
    send('www.good.example', 1_000_000);
    send('host.corp.internal', 1_000_010); // internal: pseudonymized by the name policy, so never a hit
    assert.equal(dumps.length, 0);
    send('c2.evil.example', 1_000_020);
    assert.equal(dumps.length, 1, 'the hit emitted the open dump');
    const d = decodeDump(dumps[0]!);
    assert.equal(d.packetCount, 3);
    const names = d.meta.map((m) => (m.meta as DnsMeta).query);
    assert.deepEqual(names.map((n) => n?.pseudonym), [false, true, false]);
    assert.equal(names[2]!.name, 'c2.evil.example');
    assert.equal(trigger.stats().earlyFlushes, 1);
    trigger.stop();
  });
});
