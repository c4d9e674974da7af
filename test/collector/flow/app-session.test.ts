// Metadata records joined to their flows (FlowEngine.addMeta, app-session.ts): the flow
// records' application fields, and the DNS transactions, TLS handshakes and HTTP requests made.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Harness } from './packet-script.js';
import type { AppRecord, DnsRecord, TlsRecord } from '../../../shared/flow/app-records.js';
import type { AppMeta, DnsMeta, TlsClientMeta, TlsServerMeta } from '../../../shared/appmeta/meta-record.js';
import { MAX_PENDING_DNS } from '../../../collector/flow/app-session.js';
import { PacketRecord } from '../../../shared/packet/packet-record.js';

const T0 = 1_700_000_000_000_000;
const MS = 1000;

function dnsQuery(id: number, name: string, qtype = 1): DnsMeta {
  return {
    kind: 'dns', response: false, tcp: false, id, opcode: 0, authoritative: false, truncated: false, recursionDesired: true, recursionAvailable: false,
    rcode: 0, query: { name, pseudonym: false }, qtype, qclass: 1, answers: [], complete: true,
  };
}

function dnsAnswer(q: DnsMeta, rcode: number, answers: DnsMeta['answers']): DnsMeta {
  return { ...q, response: true, rcode, recursionAvailable: true, answers };
}

const client: TlsClientMeta = {
  kind: 'tls-client', transport: 'tcp', quicVersion: 0, version: 0x0304, serverName: { name: 'www.example.com', pseudonym: false },
  alpn: ['h2', 'http/1.1'], ja4: 't13d1516h2_8daaf6152771_b186095e22b6',
};
const server: TlsServerMeta = { kind: 'tls-server', transport: 'tcp', quicVersion: 0, version: 0x0304, cipher: 0x1301, alpn: null, ja4s: 't130200_1301_a56c5b993250' };

function harness(): { h: Harness; apps: AppRecord[] } {
  const apps: AppRecord[] = [];
  return { h: new Harness({ onAppRecord: (a) => apps.push(a) }), apps };
}

describe('flow engine: application metadata joined to flows', () => {
  it('pairs a DNS query with its answer (rtt, rcode, answers); the flow record names the question', () => {
    const { h, apps } = harness();
    const q = dnsQuery(0x1234, 'www.example.com');
    h.add({ tsUs: T0, src: '10.0.0.5', dst: '10.0.0.1', proto: 17, sport: 40000, dport: 53, payloadLen: 33 });
    h.engine.addMeta(q);
    assert.equal(apps.length, 0, 'a query waits for its answer');
    h.add({ tsUs: T0 + 12 * MS, src: '10.0.0.1', dst: '10.0.0.5', proto: 17, sport: 53, dport: 40000, payloadLen: 80 });
    h.engine.addMeta(dnsAnswer(q, 0, [
      { type: 5, ttl: 60, name: { name: 'example.cdn.net', pseudonym: false } },
      { type: 1, ttl: 30, address: { address: '93.184.216.34', pseudonym: false } },
    ]));
    assert.equal(apps.length, 1);
    const r = apps[0]!.record as DnsRecord;
    assert.equal(apps[0]!.kind, 'dns');
    assert.deepEqual([r.ts, r.rtt_us, r.trans_id, r.query, r.qtype_name, r.rcode_name, r.RD, r.RA], [T0, 12 * MS, 0x1234, 'www.example.com', 'A', 'NOERROR', true, true]);
    assert.deepEqual(r.answers, [
      { type: 'CNAME', data: 'example.cdn.net', ttl: 60, anon: false },
      { type: 'A', data: '93.184.216.34', ttl: 30, anon: false },
    ]);
    assert.deepEqual([r.orig_addr, r.orig_port, r.resp_addr, r.resp_port], ['10.0.0.5', 40000, '10.0.0.1', 53]);
    const recs = h.finish();
    assert.equal(recs.length, 1);
    assert.equal(r.uid, recs[0]!.uid);
    assert.deepEqual([recs[0]!.app_proto, recs[0]!.server_name, recs[0]!.server_name_anon], ['dns', 'www.example.com', false]);
  });

  it('A and AAAA from one socket pair by id; a retransmitted query is one transaction; an unanswered one is logged when the flow ends', () => {
    const { h, apps } = harness();
    const a = dnsQuery(1, 'a.example.org', 1);
    const aaaa = dnsQuery(2, 'a.example.org', 28);
    const lost = dnsQuery(3, 'lost.example.org', 1);
    const pkt = (ts: number, fromClient: boolean): void => h.add(fromClient
      ? { tsUs: ts, src: '10.0.0.5', dst: '10.0.0.1', proto: 17, sport: 41000, dport: 53, payloadLen: 30 }
      : { tsUs: ts, src: '10.0.0.1', dst: '10.0.0.5', proto: 17, sport: 53, dport: 41000, payloadLen: 60 });
    pkt(T0, true); h.engine.addMeta(a);
    pkt(T0 + 1, true); h.engine.addMeta(aaaa);
    pkt(T0 + 2, true); h.engine.addMeta(lost);
    pkt(T0 + 900 * MS, true); h.engine.addMeta(lost); // retransmission
    pkt(T0 + 5 * MS, false); h.engine.addMeta(dnsAnswer(aaaa, 0, []));
    pkt(T0 + 6 * MS, false); h.engine.addMeta(dnsAnswer(a, 3, []));
    assert.deepEqual(apps.map((x) => (x.record as DnsRecord).qtype_name), ['AAAA', 'A']);
    assert.equal((apps[1]!.record as DnsRecord).rcode_name, 'NXDOMAIN');
    h.finish();
    assert.equal(apps.length, 3);
    const unanswered = apps[2]!.record as DnsRecord;
    assert.deepEqual([unanswered.query, unanswered.rcode, unanswered.rtt_us, unanswered.ts], ['lost.example.org', null, null, T0 + 2]);
  });

  it('an answer without its query is logged alone; a flow holds at most MAX_PENDING_DNS queries', () => {
    const { h, apps } = harness();
    h.add({ tsUs: T0, src: '10.0.0.1', dst: '10.0.0.5', proto: 17, sport: 53, dport: 42000, payloadLen: 60 });
    h.engine.addMeta(dnsAnswer(dnsQuery(7, 'late.example'), 0, []));
    assert.equal(apps.length, 1);
    assert.deepEqual([(apps[0]!.record as DnsRecord).rtt_us, (apps[0]!.record as DnsRecord).rcode], [null, 0]);
    for (let i = 0; i < MAX_PENDING_DNS + 5; i++) {
      h.add({ tsUs: T0 + i + 1, src: '10.0.0.5', dst: '10.0.0.1', proto: 17, sport: 42000, dport: 53, payloadLen: 30 });
      h.engine.addMeta(dnsQuery(100 + i, `q${i}.example`));
    }
    assert.equal(apps.length, 1 + 5, 'the oldest pending queries are logged unanswered as the table fills');
    h.finish();
    assert.equal(apps.length, 1 + MAX_PENDING_DNS + 5);
  });

  it('TLS: client and server hello make one handshake record; the flow carries SNI, ALPN, JA4 and JA4S; SNI outranks an HTTP Host or DNS name', () => {
    const { h, apps } = harness();
    h.add({ tsUs: T0, src: '10.0.0.5', dst: '93.184.216.34', proto: 6, sport: 50000, dport: 443, tcpFlags: 0x02 });
    h.add({ tsUs: T0 + MS, src: '93.184.216.34', dst: '10.0.0.5', proto: 6, sport: 443, dport: 50000, tcpFlags: 0x12 });
    h.add({ tsUs: T0 + 2 * MS, src: '10.0.0.5', dst: '93.184.216.34', proto: 6, sport: 50000, dport: 443, tcpFlags: 0x18, payloadLen: 517 });
    h.engine.addMeta({ kind: 'http', method: 'GET', minorVersion: 1, host: { name: 'other.example', pseudonym: false }, userAgent: 'x' });
    h.engine.addMeta(client);
    assert.deepEqual(apps.map((a) => a.kind), ['http'], 'the TCP client hello waits for the server hello');
    h.add({ tsUs: T0 + 20 * MS, src: '93.184.216.34', dst: '10.0.0.5', proto: 6, sport: 443, dport: 50000, tcpFlags: 0x18, payloadLen: 1400 });
    h.engine.addMeta(server);
    assert.equal(apps.length, 2);
    const t = apps[1]!.record as TlsRecord;
    assert.deepEqual([t.ts, t.version, t.client_version, t.cipher, t.server_name, t.alpn, t.ja4, t.ja4s, t.transport],
      [T0 + 2 * MS, 'TLSv13', 'TLSv13', 'TLS_AES_128_GCM_SHA256', 'www.example.com', ['h2', 'http/1.1'], client.ja4, server.ja4s, 'tcp']);
    const [rec] = h.finish();
    assert.deepEqual([rec!.app_proto, rec!.server_name, rec!.alpn, rec!.ja4, rec!.ja4s], ['tls', 'www.example.com', 'h2,http/1.1', client.ja4, server.ja4s]);
    assert.equal(apps.length, 2, 'nothing more at the end');
  });

  it('QUIC: the client hello is logged at once; a TCP client hello alone is logged when its flow ends', () => {
    const { h, apps } = harness();
    h.add({ tsUs: T0, src: '10.0.0.5', dst: '142.250.1.1', proto: 17, sport: 51000, dport: 443, payloadLen: 1250 });
    h.engine.addMeta({ ...client, transport: 'quic', quicVersion: 1, ja4: 'q13d0312h3_55b375c5d22e_06cda9e17597' });
    assert.equal(apps.length, 1);
    assert.deepEqual([(apps[0]!.record as TlsRecord).transport, (apps[0]!.record as TlsRecord).quic_version, (apps[0]!.record as TlsRecord).version], ['quic', 1, null]);
    h.add({ tsUs: T0 + 1, src: '10.0.0.5', dst: '93.184.216.34', proto: 6, sport: 50001, dport: 443, tcpFlags: 0x18, payloadLen: 517 });
    h.engine.addMeta(client);
    assert.equal(apps.length, 1);
    const recs = h.finish();
    assert.equal(apps.length, 2);
    assert.equal((apps[1]!.record as TlsRecord).ja4s, null);
    assert.deepEqual(recs.map((r) => r.app_proto).sort(), ['quic', 'tls']);
  });

  it('pseudonymized names keep their mark in records and flows; metadata after a non-IP packet is dropped', () => {
    const { h, apps } = harness();
    h.add({ tsUs: T0, src: '10.0.0.5', dst: '10.0.0.1', proto: 17, sport: 43000, dport: 53, payloadLen: 30 });
    h.engine.addMeta({ ...dnsQuery(9, 'mk--abc.mk--def'), query: { name: 'mk--abc.mk--def', pseudonym: true } });
    const arp = new PacketRecord();
    arp.tsUs = T0 + 1;
    arp.ipVersion = 0;
    h.engine.add(arp);
    h.engine.addMeta(client);
    const recs = h.finish();
    assert.equal(recs.length, 1);
    assert.deepEqual([recs[0]!.server_name, recs[0]!.server_name_anon, recs[0]!.app_proto], ['mk--abc.mk--def', true, 'dns']);
    assert.equal((apps[0]!.record as DnsRecord).query_anon, true);
    assert.equal(apps.length, 1);
  });

  it('flows without metadata carry empty application fields', () => {
    const { h } = harness();
    h.add({ tsUs: T0, src: '10.0.0.5', dst: '10.0.0.9', proto: 17, sport: 1000, dport: 2000, payloadLen: 10 });
    const [r] = h.finish();
    assert.deepEqual([r!.app_proto, r!.server_name, r!.server_name_anon, r!.alpn, r!.ja4, r!.ja4s], ['', null, false, '', '', '']);
  });

  it('any sequence of packets and metadata records: no exception, every record belongs to an emitted flow, nothing pending is lost', () => {
    const name = fc.constantFrom('a.example', 'b.example', 'mk--x.mk--y', '');
    const meta = fc.oneof(
      fc.record({ id: fc.integer({ min: 0, max: 3 }), response: fc.boolean(), q: name, rcode: fc.integer({ min: 0, max: 5 }) })
        .map(({ id, response, q, rcode }): AppMeta => ({ ...dnsQuery(id, q, 1), response, rcode: response ? rcode : 0, query: q === '' ? null : { name: q, pseudonym: q.startsWith('mk--') } })),
      fc.constantFrom<AppMeta>(client, server, { ...client, transport: 'quic', quicVersion: 1 },
        { kind: 'http', method: 'GET', minorVersion: 0, host: null, userAgent: null }),
    );
    const step = fc.record({ port: fc.integer({ min: 1, max: 3 }), fromClient: fc.boolean(), dt: fc.integer({ min: -5, max: 90_000_000 }), metas: fc.array(meta, { maxLength: 3 }) });
    fc.assert(fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      const { h, apps } = harness();
      let ts = T0;
      let queries = 0;
      for (const st of steps) {
        ts += st.dt;
        h.add(st.fromClient
          ? { tsUs: ts, src: '10.0.0.5', dst: '10.0.0.1', proto: 17, sport: 50000 + st.port, dport: 53, payloadLen: 40 }
          : { tsUs: ts, src: '10.0.0.1', dst: '10.0.0.5', proto: 17, sport: 53, dport: 50000 + st.port, payloadLen: 80 });
        for (const m of st.metas) {
          h.engine.addMeta(m);
          if (m.kind === 'dns') queries++;
        }
      }
      const uids = new Set(h.finish().map((r) => r.uid));
      for (const a of apps) assert.ok(uids.has(a.record.uid));
      const dnsRecords = apps.filter((a) => a.kind === 'dns').length;
      // every DNS message is in one record: a query alone or paired, an answer alone or paired (retransmissions fold)
      assert.ok(dnsRecords <= queries);
    }), { numRuns: 200 });
  });
});
