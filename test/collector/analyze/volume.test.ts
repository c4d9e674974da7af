// Exfiltration / volume anomalies against the host's own baseline: a day of ordinary
// (heavy-tailed, noisy) traffic stays quiet; an upload burst and a producer shift fire;
// a host that is always busy is judged by its own baseline, not by an absolute level.
import assert from 'node:assert/strict';
import { VolumeAnalyzer } from '../../../collector/analyze/volume-analyzer.js';
import { EwmaBaseline } from '../../../collector/analyze/robust-stats.js';
import type { FlowRecord } from '../../../shared/flow/flow-record.js';
import { exponential, flow, seededRandom, T0 } from './flow-gen.js';
import { runRecords } from './harness.js';

const BUCKET = 600e6;

/** A workstation: every bucket a few dozen web flows, lognormal-ish sizes, mostly downloads. */
function ordinary(agent: string, buckets: number, seed: number, scale = 1): FlowRecord[] {
  const rand = seededRandom(seed);
  const recs: FlowRecord[] = [];
  for (let b = 0; b < buckets; b++) {
    const n = 10 + Math.floor(rand() * 40);
    for (let i = 0; i < n; i++) {
      const t = T0 + b * BUCKET + Math.floor(rand() * BUCKET);
      const down = Math.floor(exponential(rand, 400_000) * scale);
      const up = Math.floor(exponential(rand, 30_000) * scale);
      recs.push(flow({ agent_id: agent, start: t, end: t + 2e6, orig_ip_bytes: up, resp_ip_bytes: down, resp_addr: `198.51.100.${1 + Math.floor(rand() * 50)}` }));
    }
  }
  return recs;
}

describe('volume analyzer', () => {
  it('EWMA baseline follows the level and scores deviations', () => {
    const b = new EwmaBaseline(0.1);
    for (let i = 0; i < 200; i++) b.update(10 + (i % 2 ? 1 : -1));
    assert.ok(Math.abs(b.mean - 10) < 0.2);
    assert.ok(Math.abs(b.dev - 1) < 0.2);
    assert.ok(b.score(15, 0.5) > 4);
    assert.throws(() => new EwmaBaseline(0), RangeError);
  });

  it('a day of ordinary traffic raises nothing; an upload burst raises outbound-bytes and pcr-shift', async () => {
    const day = ordinary('ws-1', 144, 3);
    const quiet = await runRecords([[new VolumeAnalyzer(), {}]], day, { tickIntervalUs: 60e6 });
    assert.equal(quiet.alerts.length, 0, quiet.alerts.map((a) => a.summary).join('\n'));
    // the next bucket: 600 MB to one host
    const t = T0 + 144 * BUCKET + 60e6;
    const exfil = [...day, ...Array.from({ length: 30 }, (_, i) => flow({ agent_id: 'ws-1', start: t + i * 1e6, end: t + i * 1e6 + 5e6, orig_ip_bytes: 20_000_000, resp_ip_bytes: 200_000, resp_addr: '203.0.113.250' })),
      flow({ agent_id: 'ws-1', start: T0 + 146 * BUCKET, end: T0 + 146 * BUCKET + 1 })];
    const v = new VolumeAnalyzer();
    const loud = await runRecords([[v, {}]], exfil, { tickIntervalUs: 60e6 });
    const rules = loud.alerts.map((a) => a.rule).sort();
    assert.deepEqual(rules, ['outbound-bytes', 'pcr-shift']);
    const a = loud.alerts.find((x) => x.rule === 'outbound-bytes')!;
    assert.equal(a.peer, '203.0.113.250');
    assert.equal(a.evidence.bytesOut, 600_000_000);
    assert.ok((a.evidence.zScore as number) >= 4);
    assert.equal(a.tsUs, T0 + 144 * BUCKET);
    assert.ok(v.bucketsClosed >= 145);
  });

  it('judges each host by its own baseline', async () => {
    // a server that always uploads ~100x more than the workstation: no alert for it
    const server = ordinary('srv', 100, 9, 100).map((r) => ({ ...r, orig_ip_bytes: r.resp_ip_bytes, resp_ip_bytes: r.orig_ip_bytes }));
    const ws = ordinary('ws-2', 100, 11);
    const recs = [...server, ...ws].sort((a, b) => a.end - b.end);
    const { alerts } = await runRecords([[new VolumeAnalyzer(), {}]], recs, { tickIntervalUs: 60e6 });
    assert.equal(alerts.length, 0, alerts.map((a) => a.summary).join('\n'));
  });

  it('needs its warm-up before alerting and ignores lateral traffic by default', async () => {
    const t = T0 + 3 * BUCKET;
    const recs = [...ordinary('ws-3', 3, 5), flow({ agent_id: 'ws-3', start: t, end: t + 1e6, orig_ip_bytes: 900_000_000 }),
      flow({ agent_id: 'ws-3', start: t + BUCKET, end: t + BUCKET + 1 })];
    assert.equal((await runRecords([[new VolumeAnalyzer(), {}]], recs)).alerts.length, 0, 'only 3 buckets of baseline');
    const lateral = [...ordinary('ws-4', 50, 6), flow({ agent_id: 'ws-4', start: T0 + 50 * BUCKET, end: T0 + 50 * BUCKET + 1e6, orig_ip_bytes: 900_000_000, resp_addr: '10.9.9.9', resp_anon: true })];
    assert.equal((await runRecords([[new VolumeAnalyzer(), {}]], lateral)).alerts.length, 0);
    const withLateral = await runRecords([[new VolumeAnalyzer(), { includeLateral: true }]], lateral);
    assert.deepEqual(withLateral.alerts.map((a) => a.rule).sort(), ['outbound-bytes', 'pcr-shift'], 'the last (partial) bucket is judged at the end of the stream');
  });
});
