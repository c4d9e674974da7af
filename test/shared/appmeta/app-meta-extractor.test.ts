// Metadata extraction through the real agent pipeline (decode -> anonymize -> extract ->
// dump -> read back): a ClientHello cut into three segments that arrive out of order, a
// retransmission reported once, an HTTP head, DNS over UDP and TCP with internal names and
// addresses pseudonymized, a reverse lookup of an internal address, QUIC Initials (RFC
// vectors), the payload never shipped at snap length 0, and a bounded stream table under
// a flood of half hellos; random frames never throw.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { randomBytes, randomUUID } from 'node:crypto';
import { AgentPipeline } from '../../../agent/pipeline/agent-pipeline.js';
import { createAppMetaExtractor, MAX_STREAMS } from '../../../shared/appmeta/app-meta-extractor.js';
import { AddressAnonymizer } from '../../../shared/anonymize/address-anonymizer.js';
import { decodeDump } from '../../../shared/dump/index.js';
import { DecodedPacket, decodeFrame } from '../../../shared/decode/index.js';
import { deanonymizeNameText, deanonymizeText } from '../../../shared/anonymize/pseudonym-text.js';
import type { AppMeta, DumpMeta } from '../../../shared/appmeta/meta-record.js';
import { ether, ipv4, tcp, udp, ACK, PSH } from '../../helpers/frames.js';
import { clientHelloMessage, serverHelloMessage, tlsRecords, SPEC_EXAMPLE } from './hello-builder.js';
import { V1_CLIENT_INITIAL, V2_CLIENT_INITIAL } from './fixtures/quic-vectors.js';

const CLIENT = '10.20.30.40';
const SERVER = '93.184.216.34';
const M1 = '02:00:00:00:00:01';
const M2 = '02:00:00:00:00:02';

interface Run { meta: DumpMeta[]; payloadBytes: number; stats: ReturnType<AgentPipeline['stats']>; key: Uint8Array }

function run(frames: number[][], opts: { snapLen?: number; names?: 'internal' | 'all' | 'none'; suffixes?: string[] } = {}): Run {
  const key = randomBytes(32);
  const anonymizer = new AddressAnonymizer({ key, policy: 'internal' });
  const dumps: Uint8Array[] = [];
  let seq = 1;
  const p = new AgentPipeline({
    agentId: randomUUID(), anonymizer, snapLen: opts.snapLen ?? 0, hostAddresses: [CLIENT],
    metadata: createAppMetaExtractor({ key, addresses: anonymizer, names: opts.names ?? 'internal', internalSuffixes: opts.suffixes }),
    nextSequence: () => seq++, onDump: (b) => dumps.push(b),
  });
  let t = 1_700_000_000_000_000;
  for (const f of frames) {
    const b = Uint8Array.from(f);
    p.handleFrame(1, b, 0, b.length, b.length, (t += 1000));
  }
  p.flush();
  const meta: DumpMeta[] = [];
  let payloadBytes = 0;
  for (const d of dumps) {
    const dd = decodeDump(d);
    meta.push(...dd.meta);
    dd.forEach((r) => { payloadBytes += r.payload.length; });
  }
  return { meta, payloadBytes, stats: p.stats(), key };
}

const out = (payload: number[], seq: number, sport = 50000, dport = 443): number[] =>
  ether(M2, M1, 0x0800, ipv4(CLIENT, SERVER, 6, tcp(sport, dport, ACK | PSH, payload, seq, 1)));
const back = (payload: number[], seq: number, sport = 50000, dport = 443): number[] =>
  ether(M1, M2, 0x0800, ipv4(SERVER, CLIENT, 6, tcp(dport, sport, ACK | PSH, payload, seq, 1)));
const kinds = (m: DumpMeta[]): string[] => m.map((x) => x.meta.kind);
const only = <K extends AppMeta['kind']>(m: DumpMeta[], k: K): Extract<AppMeta, { kind: K }>[] =>
  m.filter((x) => x.meta.kind === k).map((x) => x.meta as Extract<AppMeta, { kind: K }>);

function dnsMessage(id: number, flags: number, qname: string, qtype: number, answers: number[][] = []): number[] {
  const name = qname.split('.').flatMap((l) => [l.length, ...Buffer.from(l)]).concat(0);
  return [id >> 8, id & 0xff, flags >> 8, flags & 0xff, 0, 1, 0, answers.length, 0, 0, 0, 0, ...name, qtype >> 8, qtype & 0xff, 0, 1, ...answers.flat()];
}
const aRecord = (ip: number[]): number[] => [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...ip];
const ptrRecord = (target: string): number[] => {
  const n = target.split('.').flatMap((l) => [l.length, ...Buffer.from(l)]).concat(0);
  return [0xc0, 12, 0, 12, 0, 1, 0, 0, 0, 60, 0, n.length, ...n];
};

describe('agent metadata extraction (pipeline)', () => {
  it('reassembles a ClientHello from three out-of-order segments, reports a retransmission once, ships no payload', () => {
    const stream = [...tlsRecords(clientHelloMessage({ ...SPEC_EXAMPLE, serverName: 'www.example.org', padding: 1800 }))];
    const a = stream.slice(0, 1000), b = stream.slice(1000, 2000), c = stream.slice(2000);
    const sh = [...tlsRecords(serverHelloMessage({ cipher: 0x1301, extensions: [0x002b, 0x0033], selectedVersion: 0x0304 }))];
    const r = run([out(a, 1000), out(c, 3000), out(b, 2000), back(sh, 7000), out(a, 1000), out(b, 2000), out(c, 3000)]);
    assert.deepEqual(kinds(r.meta), ['tls-client', 'tls-server']);
    const ch = only(r.meta, 'tls-client')[0]!;
    assert.deepEqual(ch.serverName, { name: 'www.example.org', pseudonym: false });
    assert.equal(ch.ja4, 't13d1516h2_8daaf6152771_e5627efa2ab1');
    assert.equal(r.meta[0]!.packet, 2, 'linked to the segment that completed it');
    assert.match(only(r.meta, 'tls-server')[0]!.ja4s, /^t130200_1301_/);
    assert.equal(r.payloadBytes, 0, 'payload stays in memory at snap length 0');
    assert.equal(r.stats.metadata!.streams, 0, 'nothing left in the stream table');
  });

  it('reads an HTTP head; internal Host names become tokens the owner can open', () => {
    const req = [...Buffer.from('GET /x HTTP/1.1\r\nHost: intranet.corp.example.com\r\nUser-Agent: curl/8.5\r\n\r\n')];
    const r = run([out(req, 10, 50001, 80)], { suffixes: ['corp.example.com'] });
    const h = only(r.meta, 'http')[0]!;
    assert.equal(h.method, 'GET');
    assert.equal(h.userAgent, 'curl/8.5');
    assert.equal(h.host!.pseudonym, true);
    assert.match(h.host!.name, /^mk--[a-z2-7]+\.mk--[a-z2-7]+$/);
    assert.equal(deanonymizeNameText({ anonKey: r.key }, h.host!.name), 'intranet.corp.example.com');
    assert.throws(() => deanonymizeNameText({ anonKey: randomBytes(32) }, h.host!.name), /not made with this anonymization key/);
  });

  it('DNS over UDP and TCP: external names clear, internal ones and internal answer addresses pseudonymized', () => {
    const q = udp(53000, 53, dnsMessage(0x1234, 0x0100, 'printer.local', 1));
    const resp = udp(53, 53000, dnsMessage(0x1234, 0x8180, 'printer.local', 1, [aRecord([192, 168, 1, 9])]));
    const ext = dnsMessage(7, 0x8180, 'www.example.com', 1, [aRecord([93, 184, 216, 34])]);
    const tcpMsg = [ext.length >> 8, ext.length & 0xff, ...ext];
    const r = run([
      ether(M2, M1, 0x0800, ipv4(CLIENT, '10.0.0.53', 17, q)),
      ether(M1, M2, 0x0800, ipv4('10.0.0.53', CLIENT, 17, resp)),
      back(tcpMsg.slice(0, 20), 500, 53001, 53), back(tcpMsg.slice(20), 520, 53001, 53),
    ]);
    const d = only(r.meta, 'dns');
    assert.equal(d.length, 3);
    assert.equal(d[0]!.response, false);
    assert.equal(d[0]!.query!.pseudonym, true);
    assert.equal(deanonymizeNameText({ anonKey: r.key }, d[0]!.query!.name), 'printer.local');
    assert.deepEqual(d[1]!.query, d[0]!.query, 'the same name, the same pseudonym');
    const addr = d[1]!.answers[0]!.address!;
    assert.equal(addr.pseudonym, true);
    assert.equal(deanonymizeText({ anonKey: r.key }, addr.address), '192.168.1.9');
    assert.equal(d[2]!.tcp, true);
    assert.deepEqual(d[2]!.query, { name: 'www.example.com', pseudonym: false });
    assert.deepEqual(d[2]!.answers[0]!.address, { address: '93.184.216.34', pseudonym: false });
  });

  it('a reverse lookup of an internal address: the name maps through Crypto-PAn, the answered host name becomes tokens', () => {
    const name = '40.30.20.10.in-addr.arpa';
    const resp = udp(53, 53000, dnsMessage(9, 0x8180, name, 12, [ptrRecord('alice-laptop.example.net')]));
    const r = run([ether(M1, M2, 0x0800, ipv4('10.0.0.53', CLIENT, 17, resp))]);
    const d = only(r.meta, 'dns')[0]!;
    assert.equal(d.query!.pseudonym, true);
    assert.match(d.query!.name, /^\d+\.\d+\.\d+\.\d+\.in-addr\.arpa$/);
    assert.notEqual(d.query!.name, name);
    assert.equal(deanonymizeNameText({ anonKey: r.key }, d.query!.name), name);
    assert.equal(d.answers[0]!.name!.pseudonym, true);
    assert.equal(deanonymizeNameText({ anonKey: r.key }, d.answers[0]!.name!.name), 'alice-laptop.example.net');
  });

  it('opens QUIC v1 and v2 client Initials (RFC vectors) once per connection', () => {
    const qf = (p: Uint8Array): number[] => ether(M2, M1, 0x0800, ipv4(CLIENT, SERVER, 17, udp(50500, 443, [...p])));
    const r = run([qf(V1_CLIENT_INITIAL), qf(V1_CLIENT_INITIAL), qf(V2_CLIENT_INITIAL)]);
    const t = only(r.meta, 'tls-client');
    assert.deepEqual(t.map((x) => [x.transport, x.quicVersion, x.serverName!.name]), [['quic', 1, 'example.com'], ['quic', 0x6b3343cf, 'example.com']]);
    assert.equal(r.stats.metadata!.quic, 2);
  });

  it('keeps its stream table bounded under a flood of half hellos', () => {
    const half = [...tlsRecords(clientHelloMessage({ ...SPEC_EXAMPLE, padding: 3000 }))].slice(0, 900);
    const frames: number[][] = [];
    for (let i = 0; i < MAX_STREAMS * 3; i++) frames.push(out(half, 1, 1024 + i));
    const r = run(frames);
    assert.equal(r.meta.length, 0);
    assert.equal(r.stats.metadata!.streams, MAX_STREAMS);
    assert.equal(r.stats.metadata!.streamsEvicted, MAX_STREAMS * 2);
  });

  it('never throws on random TCP/UDP payloads on the metadata ports', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom(53, 80, 443, 8443), fc.boolean(), fc.uint8Array({ maxLength: 1400 }), fc.nat(4000)), { maxLength: 20 }), (pkts) => {
      const frames = pkts.map(([port, isTcp, p, seq]) => isTcp ? out([...p], seq, 40000, port) : ether(M2, M1, 0x0800, ipv4(CLIENT, SERVER, 17, udp(40000, port, [...p]))));
      run(frames);
    }), { numRuns: 200 });
  });

  it('a TCP segment ignoresTcpSegment() says it ignores may skip inspect(): the same records, before and after (fast-check)', () => {
    // segments of four connections (TLS, HTTP, DNS over TCP, other) both ways, in order or not:
    // pieces of a ClientHello and a ServerHello, HTTP heads, DNS messages, TLS application data,
    // random bytes, nothing. One extractor inspects every segment; the other skips those it says
    // it ignores. Their records must not differ, nor their counters.
    const hello = [...tlsRecords(clientHelloMessage({ ...SPEC_EXAMPLE, serverName: 'www.example.org', padding: 600 }))];
    const serverHello = [...tlsRecords(serverHelloMessage({ cipher: 0x1301, extensions: [0x002b, 0x0033], selectedVersion: 0x0304 }))];
    const http = [...Buffer.from('GET /x HTTP/1.1\r\nHost: www.example.org\r\nUser-Agent: curl/8.5\r\n\r\n')];
    const dns = dnsMessage(0x4321, 0x0100, 'www.example.org', 1);
    const dnsTcp = [dns.length >> 8, dns.length & 0xff, ...dns];
    // a piece of a message sits at its place in the stream (sequence number 1000 + offset), so
    // pieces reassemble; whole messages and other bytes come at any of a few sequence numbers
    const pieceArb = fc.tuple(fc.constantFrom(hello, serverHello, http, dnsTcp), fc.constantFrom(0, 0, 100, 300, 500), fc.constantFrom(100, 200, 300, 700))
      .map(([p, from, len]) => ({ payload: p.slice(from, from + len), seq: 1000 + from }))
      .filter((x) => x.payload.length > 0);
    const otherArb = fc.record({
      payload: fc.oneof(
        fc.constantFrom(hello, http, dnsTcp, [0x17, 0x03, 0x03, 0, 5, 1, 2, 3, 4, 5], []),
        fc.array(fc.nat(255), { minLength: 1, maxLength: 40 }),
      ),
      seq: fc.constantFrom(1000, 1300, 0x7ffffff0),
    });
    const segArb = fc.record({
      conn: fc.constantFrom(443, 80, 53, 5001),
      toServer: fc.boolean(),
      data: fc.oneof(pieceArb, otherArb),
    }).map(({ conn, toServer, data }) => ({ conn, toServer, payload: data.payload, seq: data.seq }));
    let ignored = 0;
    let segments = 0;
    fc.assert(fc.property(fc.array(segArb, { minLength: 1, maxLength: 40 }), (segs) => {
      const key = new Uint8Array(32).fill(3);
      const addresses = new AddressAnonymizer({ key, policy: 'none' });
      const all = createAppMetaExtractor({ key, addresses, names: 'none' });
      const some = createAppMetaExtractor({ key, addresses, names: 'none' });
      const d = new DecodedPacket();
      const fromAll: AppMeta[] = [];
      const fromSome: AppMeta[] = [];
      let t = 1_700_000_000_000_000;
      for (const s of segs) {
        const f = Uint8Array.from(s.toServer ? out(s.payload, s.seq, 50000, s.conn) : back(s.payload, s.seq, 50000, s.conn));
        decodeFrame(1, f, 0, f.length, f.length, (t += 1000), d, { payloadView: false });
        segments++;
        all.inspect(d, { queueMeta: (m) => fromAll.push(m) });
        if (some.ignoresTcpSegment(d)) ignored++;
        else some.inspect(d, { queueMeta: (m) => fromSome.push(m) });
        assert.deepEqual(fromSome, fromAll);
      }
      assert.deepEqual(some.stats(), all.stats());
    }), { numRuns: 600 });
    assert.ok(ignored > segments / 10 && ignored < segments, `segments ignored: ${ignored} of ${segments}`);
  });
});
