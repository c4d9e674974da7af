// Scans and sweeps: the nDPI SYN-scan capture through the real importer, generated
// sweeps / inbound scans / slow scans, and ordinary busy clients that must stay quiet.
// Alerts report totals (ports or hosts probed over the whole scan) and name the local host;
// a sweep's peer is the swept range.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isProbe, ScanAnalyzer } from '../../../collector/analyze/scan-analyzer.js';
import type { EmittedAlert } from '../../../shared/alerts/alert-record.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';
import { flow, probe, T0 } from './flow-gen.js';
import { recordsOf, runRecords } from './harness.js';

describe('scan analyzer', () => {
  it('finds the outbound port scan in ndpi/synscan.pcap (importFiles + onRecord) and reports its total', async () => {
    const recs = await recordsOf([join(referencePcapsDir(), 'ndpi', 'synscan.pcap')]);
    const scanner = recs[0]!.orig_addr;
    assert.ok(recs[0]!.orig_anon, 'the internal scanner is a pseudonym');
    const { alerts } = await runRecords([[new ScanAnalyzer(), {}]], recs);
    assert.ok(alerts.length >= 2);
    assert.ok(alerts.every((a) => a.rule === 'port-scan' && a.severity === 'high' && a.evidence.direction === 'outbound'));
    assert.ok(alerts.every((a) => a.evidence.scanner === scanner && a.host === scanner && a.peer === '64.13.134.52'));
    const distinct = new Set(recs.filter((r) => r.orig_addr === scanner && r.record_seq === 0 && isProbe(r)).map((r) => r.resp_port)).size;
    assert.equal(alerts[0]!.evidence.distinctPorts, 20, 'first alert at the threshold');
    assert.equal(alerts[0]!.evidence.ended, false);
    const last = alerts.at(-1)!;
    assert.equal(last.evidence.distinctPorts, distinct, 'the last alert has the total');
    assert.equal(last.evidence.ended, true);
    assert.match(last.summary, new RegExp(`probed ${distinct} ports of 64\\.13\\.134\\.52`));
    // totals grow from alert to alert; not one alert per probe
    for (let i = 1; i < alerts.length; i++) assert.ok((alerts[i]!.evidence.distinctPorts as number) >= (alerts[i - 1]!.evidence.distinctPorts as number));
    assert.ok(alerts.length < 10, `${alerts.length} alerts`);
  });

  it('sweeps, inbound scans, and the window: host, peer (the swept range) and totals', async () => {
    const recs = [
      // internal host probing 30 internal hosts on 445 (worm-like lateral sweep)
      ...Array.from({ length: 30 }, (_, i) => probe({ start: T0 + i * 1e6, orig_addr: '10.0.0.66', resp_addr: `10.0.1.${i + 1}`, resp_anon: true, resp_port: 445, conn_state: i % 2 ? 'REJ' : 'S0' })),
      // an internet host scanning our host's ports: inbound
      ...Array.from({ length: 25 }, (_, i) => probe({ start: T0 + i * 2e5, orig_addr: '203.0.113.66', orig_anon: false, resp_addr: '10.0.0.5', resp_port: 1000 + i })),
      // a slow scan: 30 ports, one every 20 s, never 20 in 300 s
      ...Array.from({ length: 30 }, (_, i) => probe({ start: T0 + i * 20e6, orig_addr: '10.0.0.77', resp_addr: '198.51.100.77', resp_port: 2000 + i })),
      // ICMP ping sweep of 26 hosts
      ...Array.from({ length: 26 }, (_, i) => flow({ start: T0 + i * 1e5, proto: 'icmp', ip_proto: 1, orig_port: 8, resp_port: 0, resp_pkts: 0, orig_addr: '10.0.0.88', resp_addr: `198.51.100.${i + 1}`, orig_payload_bytes: 56, resp_payload_bytes: 0 })),
    ].sort((a, b) => a.start - b.start);
    const { alerts } = await runRecords([[new ScanAnalyzer(), {}]], recs);
    const latest = new Map<string, EmittedAlert>();
    for (const a of alerts) latest.set(`${a.rule} ${String(a.evidence.scanner)}`, a);
    const got = [...latest.values()].map((a) => `${a.rule} ${String(a.evidence.scanner)} ${String(a.evidence.direction)} ${a.severity} host ${a.host} peer ${a.peer}`);
    assert.deepEqual(got.sort(), [
      'port-scan 203.0.113.66 inbound medium host 10.0.0.5 peer 203.0.113.66',
      'sweep 10.0.0.66 lateral high host 10.0.0.66 peer 10.0.1.0/24',
      'sweep 10.0.0.88 outbound high host 10.0.0.88 peer 198.51.100.0/24',
    ]);
    const sweep = latest.get('sweep 10.0.0.66')!;
    assert.equal(sweep.evidence.topPort, 'tcp/445');
    assert.equal(sweep.evidence.distinctHosts, 30, 'the total, not the count at the threshold (25)');
    assert.equal(sweep.evidence.range, '10.0.1.0/27');
    assert.match(sweep.summary, /probed 30 hosts in 10\.0\.1\.0\/27/);
    assert.equal(latest.get('sweep 10.0.0.88')!.evidence.distinctHosts, 26);
    const inbound = latest.get('port-scan 203.0.113.66')!;
    assert.equal(inbound.evidence.distinctPorts, 25);
    assert.deepEqual(inbound.suggestedResponse, { action: 'block-peer', peer: '203.0.113.66', reason: 'port scan source' });
    // every alert of one scan has the same host and peer: one row
    assert.equal(new Set(alerts.map((a) => `${a.rule} ${a.host} ${a.peer}`)).size, 3);
  });

  it('a scan longer than the window: updates carry the growing totals, the last one the whole scan', async () => {
    // 300 ports, one every 2 s (10 minutes, twice the window), then a 120-host sweep of a /24 and more
    const recs = [
      ...Array.from({ length: 300 }, (_, i) => probe({ start: T0 + i * 2e6, orig_addr: '10.0.0.9', resp_addr: '198.51.100.200', resp_port: 1 + i })),
      ...Array.from({ length: 120 }, (_, i) => probe({ start: T0 + i * 3e6, orig_addr: '10.0.0.10', resp_addr: `10.0.${2 + (i >> 7)}.${(i * 37) % 128}`, resp_anon: true, resp_port: 445 })),
    ].sort((a, b) => a.start - b.start);
    const { alerts } = await runRecords([[new ScanAnalyzer(), {}]], recs, { tickIntervalUs: 60e6 });
    const ports = alerts.filter((a) => a.rule === 'port-scan');
    assert.ok(ports.length >= 5, `${ports.length} reports`);
    assert.equal(ports.at(-1)!.evidence.distinctPorts, 300);
    assert.equal(ports.at(-1)!.evidence.samplePorts instanceof Array ? (ports.at(-1)!.evidence.samplePorts as string[])[0] : '', 'tcp/1');
    assert.ok((ports.at(-1)!.evidence.durationSec as number) >= 590);
    const sweeps = alerts.filter((a) => a.rule === 'sweep');
    assert.equal(sweeps.at(-1)!.evidence.distinctHosts, 120);
    assert.equal(sweeps.at(-1)!.evidence.range, '10.0.2.0/25');
    assert.ok(sweeps.every((a) => a.peer === '10.0.2.0/24' && a.host === '10.0.0.10'));
  });

  it('past maxEpisodes scans are still reported (at detection and each doubling), without totals', async () => {
    const scan = (src: string, dst: string, t: number, n: number) => Array.from({ length: n }, (_, i) => probe({ start: t + i * 1e5, orig_addr: src, resp_addr: dst, resp_port: 100 + i }));
    const recs = [...scan('10.0.0.1', '198.51.100.1', T0, 30), ...scan('10.0.0.2', '198.51.100.2', T0 + 5e6, 45)].sort((a, b) => a.start - b.start);
    const { alerts } = await runRecords([[new ScanAnalyzer(), { maxEpisodes: 1 }]], recs);
    assert.deepEqual(alerts.map((a) => `${a.host} ${String(a.evidence.distinctPorts)}`), ['10.0.0.1 20', '10.0.0.2 20', '10.0.0.2 40', '10.0.0.1 30']);
  });

  it('busy clients talking to many servers (with data) and repeated connections to one port stay quiet', async () => {
    const recs = [
      ...Array.from({ length: 300 }, (_, i) => flow({ start: T0 + i * 5e5, resp_addr: `198.51.${100 + (i % 3)}.${i % 250}`, resp_port: i % 2 ? 443 : 80 })),
      ...Array.from({ length: 100 }, (_, i) => probe({ start: T0 + i * 1e6, resp_addr: '198.51.100.9', resp_port: 443 })), // retries of one port
    ];
    const a = new ScanAnalyzer();
    const { alerts } = await runRecords([[a, {}]], recs);
    assert.equal(alerts.length, 0);
  });

  it('forgets state after the window (packet time) and can alert again later', async () => {
    const burst = (t: number) => Array.from({ length: 20 }, (_, i) => probe({ start: t + i * 1e5, orig_addr: '10.0.0.9', resp_addr: '198.51.100.200', resp_port: 3000 + i }));
    const a = new ScanAnalyzer();
    const { alerts } = await runRecords([[a, {}]], [...burst(T0), flow({ start: T0 + 400e6, end: T0 + 400e6 + 1 }), ...burst(T0 + 3600e6)], { tickIntervalUs: 60e6 });
    // each burst: its detection and its end
    assert.deepEqual(alerts.map((x) => `${String(x.evidence.distinctPorts)} ${String(x.evidence.ended)}`), ['20 false', '20 true', '20 false', '20 true']);
    assert.equal(a.trackedSources(), 1);
  });
});
