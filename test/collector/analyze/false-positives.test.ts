// False-positive rate of all built-in analyzers with their default settings, measured
// (not assumed) on normal traffic: every benign reference capture (all but the SYN scan)
// through the real importer, each capture as its own agent, and a day of six generated
// machines. The numbers are printed; the statistical analyzers (scan, beacon, volume)
// must stay silent on this traffic (but for the absolute upload rule's first look at a
// camera's stream), and policy analyzers may only report what the
// policy names (clear-text Telnet, SSH reachable from the internet).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { EmittedAlert } from '../../../shared/alerts/alert-record.js';
import { BUILTIN_NAMES, createBuiltin } from '../../../collector/analyze/builtin-analyzers.js';
import type { FlowRecord } from '../../../shared/flow/flow-record.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';
import { T0 } from './flow-gen.js';
import { makeHost, recordsOf } from './harness.js';
import { machineTraffic, PROFILES } from './machine-profiles.js';

function benignCaptures(): string[] {
  const root = referencePcapsDir();
  const files: string[] = [];
  for (const d of readdirSync(root, { withFileTypes: true })) {
    if (!d.isDirectory()) continue;
    for (const f of readdirSync(join(root, d.name))) {
      if (/\.(pcap|pcapng)$/.test(f) && f !== 'synscan.pcap') files.push(join(root, d.name, f));
    }
  }
  return files.sort();
}

function summarize(label: string, flows: number, alerts: EmittedAlert[]): void {
  const by = new Map<string, number>();
  for (const a of alerts) by.set(`${a.category}/${a.rule}`, (by.get(`${a.category}/${a.rule}`) ?? 0) + 1);
  console.log(`      (${label}: ${flows} flows, ${alerts.length} alerts = ${((alerts.length / Math.max(1, flows)) * 100).toFixed(3)} % of flows` +
    `${by.size ? `; ${[...by].map(([k, n]) => `${k} ${n}`).join(', ')}` : ''})`);
}

const STATISTICAL = new Set(['scan', 'beacon', 'volume', 'signature', 'threat-intel', 'analyzer']);

describe('false positives of the built-in analyzers (defaults) on normal traffic', () => {
  it('benign reference captures', async () => {
    const files = benignCaptures();
    assert.ok(files.length >= 50, `${files.length} captures`);
    const { host, alerts } = await makeHost(BUILTIN_NAMES.map((n) => [createBuiltin(n), {}]));
    let flows = 0;
    const byUid = new Map<string, FlowRecord>();
    for (const f of files) {
      const recs = await recordsOf([f], { agentId: basename(f) });
      for (const r of recs) {
        if (r.record_seq === 0) { flows++; byUid.set(r.uid, r); }
        host.onFlow(r);
      }
    }
    host.finish();
    host.close();
    summarize(`${files.length} benign captures`, flows, alerts);
    assert.ok(flows > 500);
    assert.deepEqual(alerts.filter((a) => STATISTICAL.has(a.category)).map((a) => a.summary), []);
    // every policy alert names a flow that really uses the port of its rule
    for (const a of alerts) {
      const r = byUid.get(a.flowUid!)!;
      assert.ok(r !== undefined, a.summary);
      assert.ok((a.rule === 'telnet' && r.resp_port === 23) || (a.rule === 'ssh-inbound' && r.resp_port === 22 && r.resp_pkts > 0), a.summary);
    }
    assert.ok(alerts.length / flows < 0.005, `${alerts.length} of ${flows}`);
  });

  it('a day of six generated machines (browsing, file and database servers, a camera, a build box)', async () => {
    const recs = PROFILES.flatMap((p, i) => machineTraffic(p, p, T0, T0 + 24 * 3600e6, 300 + i)).sort((a, b) => a.end - b.end);
    const { host, alerts } = await makeHost(BUILTIN_NAMES.map((n) => [createBuiltin(n), {}]), { tickIntervalUs: 60e6 });
    for (const r of recs) host.onFlow(r);
    host.finish();
    host.close();
    summarize('generated day', recs.length, alerts);
    // the one alert is the absolute upload rule meeting the camera's stream to its cloud (~200 MB/h) in
    // its first hour: a new host streaming that much out is what the rule reports; it is reported once
    // (the peer is then known), and the baseline rules say nothing
    assert.deepEqual(alerts.map((a) => `${a.category}/${a.rule} ${a.agentId} ${a.host} -> ${a.peer}`), ['volume/peer-upload camera 10.30.0.5 -> 203.0.113.40']);
    assert.ok(alerts[0]!.tsUs < T0 + 3600e6, 'in the camera\'s first hour');
  });
});
