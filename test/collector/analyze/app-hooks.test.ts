// The application hooks of the analyzer API (onDns, onTls, onHttp, and onDnsName fed from
// DNS transactions): the worked example of docs/analyzers.md (fixtures/app-events-example.js)
// over real captures, in-process and in an analyzer worker with the same alerts; failures of
// the new hooks count like any hook's; pseudonymized names never reach onDnsName.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { replayFiles } from '../../../agent/pipeline/replay-files.js';
import { analyzeImport } from '../../../collector/analyze/analyze-import.js';
import { AnalyzerHost } from '../../../collector/analyze/analyzer-host.js';
import type { EmittedAlert } from '../../../shared/alerts/alert-record.js';
import type { DnsRecord } from '../../../shared/flow/app-records.js';
import { SqliteFlowStore } from '../../../shared/store/sqlite-flow-store.js';
import { SqliteAlertStore } from '../../../shared/alerts/sqlite-alert-store.js';
import { referencePcapsDir, repoRoot } from '../../../shared/util/repo-paths.js';
import { quietLog, tempDir } from './harness.js';

const EXAMPLE = join(repoRoot(), 'test', 'collector', 'analyze', 'fixtures', 'app-events-example.js');

function dnsRecord(over: Partial<DnsRecord> = {}): DnsRecord {
  return {
    ts: 1_700_000_000_000_000, uid: 'F1', agent_id: 'a1', orig_addr: '10.0.0.5', orig_port: 5000, resp_addr: '10.0.0.1', resp_port: 53,
    orig_anon: true, resp_anon: true, proto: 'udp', trans_id: 1, rtt_us: 100, query: 'www.example.com', query_anon: false, qclass: 1,
    qclass_name: 'C_INTERNET', qtype: 1, qtype_name: 'A', rcode: 0, rcode_name: 'NOERROR', AA: false, TC: false, RD: true, RA: true,
    answers: [{ type: 'CNAME', data: 'edge.cdn.example.net', ttl: 30, anon: false }, { type: 'A', data: '192.0.2.7', ttl: 30, anon: false },
      { type: 'PTR', data: 'mk--a.mk--b', ttl: 30, anon: true }],
    ...over,
  };
}

describe('analyzer hooks for DNS, TLS and HTTP', function () {
  this.timeout(120_000);
  let dir: string;
  let cleanup: () => void;
  let dumps: string[];
  before(async () => {
    ({ dir, cleanup } = tempDir());
    const out = join(dir, 'dumps');
    mkdirSync(out);
    await replayFiles([join(referencePcapsDir(), 'ndpi', 'netflix.pcap'), join(referencePcapsDir(), 'zeek', 'wikipedia.pcap')],
      { outDir: out, anonymize: 'none', names: 'none', packetsPerDump: 500, snapLen: 0 });
    dumps = readdirSync(out).sort().map((f) => join(out, f));
  });
  after(() => cleanup());

  const config = { analysis: { defaultAnalyzers: false }, analyzers: [{ module: EXAMPLE, config: { maxNxdomain: 1 } }] };
  const rows = (db: string): string[] => {
    const s = new SqliteAlertStore(db, { readonly: true });
    try {
      return s.list({}).map((a) => JSON.stringify([a.category, a.rule, a.agentId, a.peer, a.count, a.firstSeenUs, a.summary])).sort();
    } finally {
      s.close();
    }
  };

  it('the worked example: its alerts from real captures, the same in-process and in a worker', async () => {
    const inProcess = await analyzeImport(dumps, { db: join(dir, 'in.db'), progress: false, log: quietLog, analyzersConfig: config, strict: true });
    const worker = await analyzeImport(dumps, { db: join(dir, 'worker.db'), progress: false, log: quietLog, analyzersConfig: config, strict: true, analyzers: 'worker' });
    const flows = new SqliteFlowStore(join(dir, 'in.db'), { readonly: true });
    const ja4s = new Set([...flows.iterateTls()].map((t) => t.ja4).filter((j) => j !== null));
    const nx = [...flows.iterateDns({ rcode: 3 })];
    flows.close();
    assert.ok(ja4s.size >= 3, `${ja4s.size} distinct JA4 in the captures`);
    assert.ok(nx.length >= 2, 'wikipedia.pcap has NXDOMAIN answers');
    assert.equal(inProcess.hitsByCategory['new-tls-client'], ja4s.size, 'one alert per fingerprint first seen');
    assert.equal(inProcess.hitsByCategory['nxdomain-burst'], 1, 'the host passed maxNxdomain once in its tick');
    const status = inProcess.analyzers.find((s) => s.name === 'app-events-example')!;
    assert.ok(status.enabled && status.calls > ja4s.size + nx.length, JSON.stringify(status));
    // the same alerts when the example runs in its worker (records and events in stream order)
    assert.deepEqual(worker.hitsByCategory, inProcess.hitsByCategory);
    assert.deepEqual(rows(join(dir, 'worker.db')), rows(join(dir, 'in.db')));
    assert.equal(worker.hits, inProcess.hits);
  });

  it('onDnsName gets the clear names of DNS transactions (question, CNAME targets), never a pseudonym; failures of onDns count', async () => {
    const names: string[] = [];
    const alerts: EmittedAlert[] = [];
    const host = new AnalyzerHost({ sink: (a) => alerts.push(a), log: quietLog, budget: { maxFailures: 2 } });
    await host.add({ name: 'names', onDnsName: (n, _r, _c, info) => { names.push(`${info?.role}:${n}:${info?.uid}`); } });
    let calls = 0;
    await host.add({ name: 'broken', onDns: () => { calls++; throw new Error('boom'); } });
    host.onApp({ kind: 'dns', record: dnsRecord() });
    host.onApp({ kind: 'dns', record: dnsRecord({ query: 'mk--x.mk--y', query_anon: true, answers: [] }) });
    host.onApp({ kind: 'dns', record: dnsRecord({ query: 'again.example' }) });
    assert.deepEqual(names, ['query:www.example.com:F1', 'answer:edge.cdn.example.net:F1', 'query:again.example:F1', 'answer:edge.cdn.example.net:F1']);
    assert.equal(calls, 2, 'disabled at its second failure');
    const broken = host.status().find((s) => s.name === 'broken')!;
    assert.equal(broken.enabled, false);
    assert.match(broken.lastError ?? '', /onDns: Error: boom/);
    assert.ok(alerts.some((a) => a.category === 'analyzer' && a.rule === 'disabled' && a.peer === 'broken'));
    assert.equal(host.appRecords, 3);
    host.close();
  });

  it('onTls and onHttp reach the analyzers that have them, timed like onFlow', async () => {
    const seen: string[] = [];
    const host = new AnalyzerHost({ sink: () => undefined, log: quietLog });
    await host.add({ name: 'tls', onTls: (r) => { seen.push(`tls:${r.server_name}`); }, onHttp: (r) => { seen.push(`http:${r.host}`); } });
    const base = { ts: 1, uid: 'F2', agent_id: 'a1', orig_addr: '10.0.0.5', orig_port: 1, resp_addr: '192.0.2.1', resp_port: 443, orig_anon: false, resp_anon: false };
    host.onApp({
      kind: 'tls', record: {
        ...base, transport: 'tcp', version: 'TLSv13', client_version: 'TLSv13', cipher: 'TLS_AES_128_GCM_SHA256', server_name: 'a.example',
        server_name_anon: false, alpn: [], next_protocol: null, ja4: null, ja4s: null, quic_version: null,
      },
    });
    host.onApp({ kind: 'http', record: { ...base, method: 'GET', version: '1.1', host: 'b.example', host_anon: false, user_agent: null } });
    assert.deepEqual(seen, ['tls:a.example', 'http:b.example']);
    assert.equal(host.status()[0]!.calls, 2);
    host.close();
  });
});
