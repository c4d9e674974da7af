// Dump format version 2: metadata records round-trip exactly with their packets (random
// records, property), strings are stored once per dump, a version-1 dump made before the
// change still reads (committed fixture, compared with tshark's fields of the same
// packets), and damaged metadata columns are refused with a DumpFormatError.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { DumpWriter, decodeDump, DumpFormatError, DUMP_VERSION } from '../../../shared/dump/index.js';
import type { AppMeta, DnsAnswerMeta } from '../../../shared/appmeta/meta-record.js';
import { PacketRecord } from '../../../shared/packet/packet-record.js';
import { recordsFromPcap } from './helpers/pcap-records.js';
import { snapshot } from './helpers/record-arbitrary.js';
import { repoRoot } from '../../../shared/util/repo-paths.js';
import { parseIp } from '../../../shared/net/ip-address.js';

const AGENT = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
const KEY = '00ff10ee20dd30cc';

const nameArb = fc.record({ name: fc.oneof(fc.domain(), fc.string({ maxLength: 30 })), pseudonym: fc.boolean() });
const addrArb = fc.oneof(fc.ipV4(), fc.constantFrom('2001:db8::1', 'fd00::5', '::ffff:10.0.0.1')).chain((a) => fc.record({ address: fc.constant(a), pseudonym: fc.boolean() }));
const answerArb: fc.Arbitrary<DnsAnswerMeta> = fc.oneof(
  fc.record({ type: fc.constantFrom(1, 28), ttl: fc.nat(), address: addrArb }),
  fc.record({ type: fc.constantFrom(5, 12, 2), ttl: fc.nat(), name: nameArb }),
  fc.record({ type: fc.nat(65535), ttl: fc.nat() }),
);
const metaArb: fc.Arbitrary<AppMeta> = fc.oneof(
  fc.record({
    kind: fc.constant('dns' as const), response: fc.boolean(), tcp: fc.boolean(), id: fc.nat(65535), opcode: fc.nat(15),
    authoritative: fc.boolean(), truncated: fc.boolean(), recursionDesired: fc.boolean(), recursionAvailable: fc.boolean(),
    rcode: fc.nat(15), query: fc.option(nameArb, { nil: null }), qtype: fc.nat(65535), qclass: fc.constantFrom(1, 255),
    answers: fc.array(answerArb, { maxLength: 6 }), complete: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('tls-client' as const), transport: fc.constantFrom('tcp' as const, 'quic' as const), quicVersion: fc.constant(0),
    version: fc.constantFrom(0x0303, 0x0304), serverName: fc.option(nameArb, { nil: null }), alpn: fc.array(fc.constantFrom('h2', 'http/1.1', 'h3'), { maxLength: 3 }),
    ja4: fc.constantFrom('t13d1516h2_8daaf6152771_e5627efa2ab1', 'q13d0312h3_55b375c5d22e_06cda9e17597'),
  }).map((m) => ({ ...m, quicVersion: m.transport === 'quic' ? 1 : 0 })),
  fc.record({
    kind: fc.constant('tls-server' as const), transport: fc.constant('tcp' as const), quicVersion: fc.constant(0), version: fc.constantFrom(0x0303, 0x0304),
    cipher: fc.nat(65535), alpn: fc.option(fc.constantFrom('h2', 'http/1.1'), { nil: null }), ja4s: fc.constant('t120400_c030_4e8089b08790'),
  }),
  fc.record({
    kind: fc.constant('http' as const), method: fc.constantFrom('GET', 'POST'), minorVersion: fc.nat(1),
    host: fc.option(nameArb, { nil: null }), userAgent: fc.option(fc.string({ maxLength: 80 }), { nil: null }),
  }),
);

function pkt(i: number): PacketRecord {
  const r = new PacketRecord();
  r.tsUs = 1_700_000_000_000_000 + i * 1000;
  r.ipVersion = 4;
  r.src.set([10, 0, 0, 1]);
  r.dst.set([192, 0, 2, i % 7]);
  r.proto = 17;
  r.sport = 40000 + (i % 3);
  r.dport = 53;
  r.ipLen = 60;
  r.wireLen = 74;
  r.payloadLen = 32;
  return r;
}

describe('dump metadata columns (format version 2)', () => {
  it('round-trip exactly, each record with its packet (property)', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(40), fc.array(metaArb, { maxLength: 3 })), { maxLength: 25 }), (plan) => {
      const w = new DumpWriter({ agentId: AGENT, anonKeyId: KEY, snapLen: 0 });
      const want: { packet: number; meta: AppMeta }[] = [];
      let n = 0;
      for (const [gap, metas] of plan) {
        for (let k = 0; k < gap % 5; k++) w.add(pkt(n++));
        for (const m of metas) { w.queueMeta(m); want.push({ packet: n, meta: m }); }
        w.add(pkt(n++));
      }
      const d = decodeDump(w.finish(1));
      assert.equal(d.header.version, DUMP_VERSION);
      assert.deepEqual(d.meta, JSON.parse(JSON.stringify(want)));
    }), { numRuns: 200 });
  });

  it('stores an answer address given with its bytes (as the extractor gives it) exactly as one given as text (property)', () => {
    const dnsWith = (answers: DnsAnswerMeta[]): AppMeta => ({
      kind: 'dns', response: true, tcp: false, id: 7, opcode: 0, authoritative: false, truncated: false, recursionDesired: true,
      recursionAvailable: true, rcode: 0, query: { name: 'example.com', pseudonym: false }, qtype: 1, qclass: 1, answers, complete: true,
    });
    const dumpOf = (m: AppMeta): Uint8Array => {
      const w = new DumpWriter({ agentId: AGENT, anonKeyId: KEY, snapLen: 0, compression: 'none' });
      w.queueMeta(m);
      w.add(pkt(0));
      return w.finish(1);
    };
    fc.assert(fc.property(fc.array(fc.oneof(fc.ipV4(), fc.ipV6()), { minLength: 1, maxLength: 4 }), fc.boolean(), (texts, pseudonym) => {
      const asText = texts.map((t): DnsAnswerMeta => ({ type: t.includes(':') ? 28 : 1, ttl: 60, address: { address: t, pseudonym } }));
      const withBytes = asText.map((a): DnsAnswerMeta => ({ ...a, address: { ...a.address!, bytes: parseIp(a.address!.address).bytes.slice(0, a.type === 1 ? 4 : 16) } }));
      assert.deepEqual(dumpOf(dnsWith(withBytes)), dumpOf(dnsWith(asText)));
    }), { numRuns: 300 });
  });

  it('stores nothing for a fresh writer\'s first packet, and a record queued after 256 tuples with its packet, in the first dump and the next', () => {
    const m: AppMeta = { kind: 'http', method: 'GET', minorVersion: 1, host: { name: 'example.com', pseudonym: false }, userAgent: null };
    const w = new DumpWriter({ agentId: AGENT, anonKeyId: KEY, snapLen: 0 });
    for (let dump = 1; dump <= 2; dump++) {
      for (let i = 0; i < 400; i++) {
        const r = pkt(i);
        r.sport = 1024 + i; // a new tuple per packet: the writer's tuple table and state grow past 256
        if (i === 300) w.queueMeta(m);
        w.add(r);
      }
      const d = decodeDump(w.finish(dump));
      assert.equal(d.header.tupleCount, 400);
      assert.deepEqual(d.meta, JSON.parse(JSON.stringify([{ packet: 300, meta: m }])), `dump ${dump}`);
    }
  });

  it('stores a string once per dump however often it is referred to', () => {
    const m: AppMeta = { kind: 'http', method: 'GET', minorVersion: 1, host: { name: 'a-rather-long-host-name.example.com', pseudonym: false }, userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0' };
    const size = (k: number): number => {
      const w = new DumpWriter({ agentId: AGENT, anonKeyId: KEY, snapLen: 0, compression: 'none' });
      for (let i = 0; i < 100; i++) { if (i < k) w.queueMeta(m); w.add(pkt(i)); }
      return w.finish(1).length;
    };
    const one = size(1) - size(0);
    const fifty = size(50) - size(0);
    assert.ok(one > 90, `first record carries the strings (${one} bytes)`);
    assert.ok((fifty - one) / 49 <= 8, `later records are 7 bytes of numbers and references: ${(fifty - one) / 49} bytes each`);
  });

  it('reads a version-1 dump written before metadata existed (fixture), equal to tshark\'s fields of its packets', () => {
    const bytes = readFileSync(join(repoRoot(), 'test', 'shared', 'dump', 'fixtures', 'v1-netflix-300.mkd'));
    const d = decodeDump(bytes);
    assert.equal(d.header.version, 1);
    assert.deepEqual(d.meta, []);
    const want = recordsFromPcap('ndpi/netflix.pcap').slice(0, 300);
    let i = 0;
    d.forEach((r) => { assert.deepStrictEqual(snapshot(r), snapshot(want[i]!), `record ${i}`); i++; });
    assert.equal(i, 300);
  });

  it('refuses damaged metadata columns with a DumpFormatError', () => {
    const w = new DumpWriter({ agentId: AGENT, anonKeyId: KEY, snapLen: 0, compression: 'none' });
    w.queueMeta({ kind: 'tls-client', transport: 'tcp', quicVersion: 0, version: 0x304, serverName: { name: 'example.com', pseudonym: false }, alpn: ['h2'], ja4: 't13d1516h2_8daaf6152771_e5627efa2ab1' });
    w.add(pkt(0));
    const good = w.finish(1);
    assert.equal(decodeDump(good).meta.length, 1);
    let refused = 0;
    // flip each of the last 80 body bytes (the metadata columns end the body): the CRC is
    // fixed up so the structure checks, not the checksum, must catch it
    for (let k = 1; k <= 80; k++) {
      const b = Uint8Array.from(good);
      b[b.length - k]! ^= 0x5a;
      const dv = new DataView(b.buffer);
      dv.setUint32(88, zlibCrc(b.subarray(96)), true);
      dv.setUint32(92, zlibCrc(b.subarray(0, 92)), true);
      try {
        const d = decodeDump(b);
        assert.equal(d.meta.length <= 1, true);
      } catch (e) {
        assert.ok(e instanceof DumpFormatError, String(e));
        refused++;
      }
    }
    assert.ok(refused > 20, `${refused} of 80 damaged dumps refused`);
  });
});

import { crc32 } from 'node:zlib';
function zlibCrc(b: Uint8Array): number {
  return crc32(b);
}
