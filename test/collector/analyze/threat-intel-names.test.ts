// Threat intelligence on names and TLS fingerprints: JA4/JA4S entries and the MISP CSV
// export in the feed formats; the analyzer's hits on DNS transactions (question and answer
// targets), TLS server names, HTTP Hosts and JA4/JA4S; never on a pseudonymized name; the
// same aggregation key as the collector's early per-record check.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeJa4, parseFeed, type FeedSpec } from '../../../collector/analyze/threat-intel/feed-formats.js';
import { ThreatIntelAnalyzer } from '../../../collector/analyze/threat-intel/threat-intel-analyzer.js';
import type { DnsRecord, HttpRecord, TlsRecord } from '../../../shared/flow/app-records.js';
import { makeHost, tempDir } from './harness.js';

const JA4 = 't13d1516h2_8daaf6152771_b186095e22b6';
const JA4S = 't130200_1301_a56c5b993250';

const MISP_CSV = `uuid,event_id,category,type,value,comment,to_ids,date
"5f1a","101","Network activity","domain","c2.evil.example","",1,1700000000
"5f1b","101","Network activity","url","http://drop.evil.example:8080/x.bin","",1,1700000000
"5f1c","101","Network activity","ip-dst","198.51.100.23","",1,1700000000
"5f1d","101","Network activity","ja4","${JA4.toUpperCase()}","",1,1700000000
"5f1e","101","Payload delivery","md5","d41d8cd98f00b204e9800998ecf8427e","",1,1700000000
`;

function parse(text: string, spec: FeedSpec): { ips: number; domains: string[]; ja4: string[]; invalid: number } {
  const domains: string[] = [];
  const ja4: string[] = [];
  const st = parseFeed(text, spec, { cidr: () => undefined, domain: (d, l) => domains.push(`${d}:${l}`), ja4: (f, l) => ja4.push(`${f}:${l}`) });
  return { ips: st.ips, domains, ja4, invalid: st.invalid };
}

const base = { uid: 'F7', agent_id: 'agent-1', orig_addr: '10.9.0.5', orig_port: 50000, resp_addr: '192.0.2.80', resp_port: 443, orig_anon: true, resp_anon: false };

function tls(over: Partial<TlsRecord> = {}): TlsRecord {
  return {
    ...base, ts: 1_700_000_000_000_000, transport: 'tcp', version: 'TLSv13', client_version: 'TLSv13', cipher: 'TLS_AES_128_GCM_SHA256',
    server_name: 'www.shop.example', server_name_anon: false, alpn: ['h2'], next_protocol: null, ja4: 't13d0000h2_000000000000_000000000000',
    ja4s: 't130000_1301_000000000000', quic_version: null, ...over,
  };
}

function dns(over: Partial<DnsRecord> = {}): DnsRecord {
  return {
    ...base, resp_port: 53, ts: 1_700_000_000_000_000, proto: 'udp', trans_id: 1, rtt_us: 1000, query: 'www.good.example', query_anon: false,
    qclass: 1, qclass_name: 'C_INTERNET', qtype: 1, qtype_name: 'A', rcode: 0, rcode_name: 'NOERROR', AA: false, TC: false, RD: true, RA: true,
    answers: [], ...over,
  };
}

describe('threat intel on domains and TLS fingerprints', () => {
  let dir: string;
  let cleanup: () => void;
  before(() => ({ dir, cleanup } = tempDir()));
  after(() => cleanup());

  it('feeds: JA4 / JA4S lines, kind ja4, and the MISP CSV export (domains, URL hosts, IPs, fingerprints)', () => {
    assert.equal(normalizeJa4(` ${JA4.toUpperCase()} `), JA4);
    assert.equal(normalizeJa4(JA4S), JA4S);
    assert.equal(normalizeJa4('t13d1516h2_8daaf6152771'), '');
    const plain = parse(`# fingerprints and names\n${JA4} # sliver\n${JA4S}\nevil.example\n`, { format: 'plain' });
    assert.deepEqual(plain.ja4, [`${JA4}:sliver`, `${JA4S}:`]);
    assert.deepEqual(plain.domains, ['evil.example:']);
    const only = parse(`${JA4}\nevil.example\n198.51.100.1\n`, { format: 'plain', kind: 'ja4' });
    assert.deepEqual([only.ja4.length, only.domains.length, only.ips, only.invalid], [1, 0, 0, 2]);
    const misp = parse(MISP_CSV, { format: 'misp-csv' });
    assert.deepEqual(misp.domains, ['c2.evil.example:Network activity', 'drop.evil.example:Network activity']);
    assert.deepEqual(misp.ja4, [`${JA4}:Network activity`]);
    assert.equal(misp.ips, 1);
    assert.equal(misp.invalid, 1, 'the md5 attribute is no entry');
  });

  it('the analyzer alerts on listed names in DNS, TLS and HTTP records and on listed JA4 / JA4S; pseudonyms never match', async () => {
    const feed = join(dir, 'names.txt');
    writeFileSync(feed, `evil.example ; c2\n${JA4} ; sliver\n${JA4S}\n`);
    const { host, alerts } = await makeHost([[new ThreatIntelAnalyzer(), { watch: false, feeds: [{ name: 'names', path: feed, severity: 'critical' }] }]]);
    host.onApp({ kind: 'dns', record: dns({ query: 'a.b.evil.example' }) });
    host.onApp({ kind: 'dns', record: dns({ query: 'cdn.good.example', answers: [{ type: 'CNAME', data: 'edge.evil.example', ttl: 5, anon: false }] }) });
    host.onApp({ kind: 'dns', record: dns({ query: 'mk--x.evil.example', query_anon: true }) });
    host.onApp({ kind: 'tls', record: tls({ server_name: 'www.evil.example' }) });
    host.onApp({ kind: 'tls', record: tls({ server_name: 'www.evil.example', server_name_anon: true }) });
    host.onApp({ kind: 'tls', record: tls({ ja4: JA4 }) });
    host.onApp({ kind: 'tls', record: tls({ ja4s: JA4S }) });
    const http: HttpRecord = { ...base, resp_port: 80, ts: 1, method: 'GET', version: '1.1', host: 'evil.example', host_anon: false, user_agent: 'x' };
    host.onApp({ kind: 'http', record: http });
    host.onApp({ kind: 'http', record: { ...http, host_anon: true } });
    host.close();
    const got = alerts.map((a) => `${a.rule}|${a.peer}|${a.severity}|${(a.evidence as { source?: string; side?: string }).source ?? (a.evidence as { side: string }).side}`);
    assert.deepEqual(got, [
      'domain:names|evil.example|critical|DNS query',
      'domain:names|evil.example|critical|DNS answer',
      'domain:names|evil.example|critical|TLS server name',
      `ja4:names|${JA4}|critical|client`,
      `ja4:names|${JA4S}|critical|server`,
      'domain:names|evil.example|critical|HTTP Host',
    ]);
    assert.ok(alerts.every((a) => a.agentId === 'agent-1' && a.category === 'threat-intel' && a.flowUid === 'F7'));
    assert.match(alerts[0]!.summary, /DNS query a\.b\.evil\.example is on names as evil\.example \(c2\)/);
  });
});
