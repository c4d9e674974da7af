// Scans and sweeps: the nDPI SYN-scan capture through the real importer, generated
// sweeps / inbound scans / slow scans, and ordinary busy clients that must stay quiet.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ScanAnalyzer } from '../../../collector/analyze/scan-analyzer.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';
import { flow, probe, T0 } from './flow-gen.js';
import { recordsOf, runRecords } from './harness.js';

describe('scan analyzer', () => {
  it('finds the outbound port scan in ndpi/synscan.pcap (importFiles + onRecord)', async () => {
    const recs = await recordsOf([join(referencePcapsDir(), 'ndpi', 'synscan.pcap')]);
    const scanner = recs[0]!.orig_addr;
    assert.ok(recs[0]!.orig_anon, 'the internal scanner is a pseudonym');
    const { alerts } = await runRecords([[new ScanAnalyzer(), {}]], recs);
    assert.ok(alerts.length >= 1);
    assert.ok(alerts.every((a) => a.rule === 'port-scan' && a.severity === 'high' && a.evidence.direction === 'outbound'));
    assert.ok(alerts.every((a) => a.evidence.scanner === scanner && a.peer === '64.13.134.52'));
    const distinct = new Set(recs.filter((r) => r.orig_addr === scanner).map((r) => r.resp_port)).size;
    const last = alerts.at(-1)!;
    assert.ok((last.evidence.distinctPorts as number) * 2 > distinct, `last alert at ${last.evidence.distinctPorts as number} of ${distinct} ports`);
    assert.equal(alerts[0]!.evidence.distinctPorts, 20, 'first alert at the threshold');
    // one alert per doubling, not one per probe
    assert.equal(alerts.length, Math.floor(Math.log2((last.evidence.distinctPorts as number) / 20)) + 1);
  });

  it('sweeps, inbound scans, and the window', async () => {
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
    const got = alerts.map((a) => `${a.rule} ${a.evidence.scanner} ${a.evidence.direction} ${a.severity}`);
    assert.deepEqual(got.sort(), [
      'port-scan 203.0.113.66 inbound medium',
      'sweep 10.0.0.66 lateral high',
      'sweep 10.0.0.88 outbound high',
    ]);
    const sweep = alerts.find((a) => a.rule === 'sweep' && a.evidence.scanner === '10.0.0.66')!;
    assert.equal(sweep.evidence.topPort, 'tcp/445');
    const inbound = alerts.find((a) => a.rule === 'port-scan')!;
    assert.equal(inbound.peer, '203.0.113.66');
    assert.deepEqual(inbound.suggestedResponse, { action: 'block-peer', peer: '203.0.113.66', reason: 'port scan source' });
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
    assert.equal(alerts.length, 2);
  });
});
