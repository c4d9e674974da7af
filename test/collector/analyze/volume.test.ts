// Exfiltration / volume anomalies: against the host's own baseline (a day of ordinary,
// heavy-tailed traffic stays quiet; an upload burst and a producer shift fire; a host that
// is always busy is judged by its own baseline), and the absolute per-peer rule (an upload
// of tens of MB in a host's first hour alerts; a video call and a known peer do not; the
// hosts of one imported capture are judged and named apart).
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
    // the absolute rule reports the upload at once, and the bucket raises no second alert for it
    const both = await runRecords([[new VolumeAnalyzer(), {}]], exfil, { tickIntervalUs: 60e6 });
    assert.deepEqual(both.alerts.map((a) => a.rule), ['peer-upload']);
    assert.equal(both.alerts[0]!.host, '10.1.2.3');
    assert.equal(both.alerts[0]!.evidence.bytesOut, 40_000_000, 'at the second 20 MB flow: over 25 MB');
    // the baseline rules alone
    const v = new VolumeAnalyzer();
    const loud = await runRecords([[v, { absoluteBytes: 0 }]], exfil, { tickIntervalUs: 60e6 });
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
    const { alerts } = await runRecords([[new VolumeAnalyzer(), { absoluteBytes: 0 }]], recs, { tickIntervalUs: 60e6 });
    assert.equal(alerts.length, 0, alerts.map((a) => a.summary).join('\n'));
  });

  it('needs its warm-up before alerting and ignores lateral traffic by default', async () => {
    const t = T0 + 3 * BUCKET;
    const recs = [...ordinary('ws-3', 3, 5), flow({ agent_id: 'ws-3', start: t, end: t + 1e6, orig_ip_bytes: 900_000_000 }),
      flow({ agent_id: 'ws-3', start: t + BUCKET, end: t + BUCKET + 1 })];
    assert.equal((await runRecords([[new VolumeAnalyzer(), { absoluteBytes: 0 }]], recs)).alerts.length, 0, 'only 3 buckets of baseline');
    assert.deepEqual((await runRecords([[new VolumeAnalyzer(), {}]], recs)).alerts.map((a) => a.rule), ['peer-upload'], 'the absolute rule needs no baseline');
    const lateral = [...ordinary('ws-4', 50, 6), flow({ agent_id: 'ws-4', start: T0 + 50 * BUCKET, end: T0 + 50 * BUCKET + 1e6, orig_ip_bytes: 900_000_000, resp_addr: '10.9.9.9', resp_anon: true })];
    assert.equal((await runRecords([[new VolumeAnalyzer(), {}]], lateral)).alerts.length, 0);
    const withLateral = await runRecords([[new VolumeAnalyzer(), { includeLateral: true, absoluteBytes: 0 }]], lateral);
    assert.deepEqual(withLateral.alerts.map((a) => a.rule).sort(), ['outbound-bytes', 'pcr-shift'], 'the last (partial) bucket is judged at the end of the stream');
  });

  it('absolute rule: tens of MB to one peer in a host\'s first hour alert; a video call, a download and a known peer do not', async () => {
    const t = T0 + 20 * 60e6;
    const host = (addr: string, p: Partial<FlowRecord>): FlowRecord => flow({ agent_id: 'capture', orig_addr: addr, ...p });
    const recs = [
      // a fresh host: 30 MB in five 6 MB records of one upload, 20 minutes after its first flow
      host('10.1.0.1', { start: T0, end: T0 + 1e6 }),
      ...Array.from({ length: 5 }, (_, i) => host('10.1.0.1', { uid: 'Cup', record_seq: i, start: t + i * 60e6, end: t + (i + 1) * 60e6, orig_ip_bytes: 6_000_000, resp_ip_bytes: 90_000, resp_addr: '203.0.113.9' })),
      // another host of the same capture: a video call (symmetric) and a 500 MB download
      ...Array.from({ length: 40 }, (_, i) => host('10.1.0.2', { proto: 'udp', ip_proto: 17, start: t + i * 60e6, end: t + (i + 1) * 60e6, orig_ip_bytes: 4_000_000, resp_ip_bytes: 4_100_000, resp_addr: '203.0.113.50', resp_port: 3478 })),
      host('10.1.0.2', { start: t, end: t + 100e6, orig_ip_bytes: 2_000_000, resp_ip_bytes: 500_000_000, resp_addr: '203.0.113.60' }),
      // a third host streams 12 MB every 5 minutes to its cloud: reported once, then known
      ...Array.from({ length: 36 }, (_, i) => host('10.1.0.3', { proto: 'udp', ip_proto: 17, start: T0 + i * 300e6, end: T0 + i * 300e6 + 120e6, orig_ip_bytes: 12_000_000, resp_ip_bytes: 20_000, resp_addr: '203.0.113.40', resp_port: 10000 })),
    ].sort((a, b) => a.end - b.end);
    const v = new VolumeAnalyzer();
    const { alerts } = await runRecords([[v, {}]], recs, { tickIntervalUs: 60e6 });
    assert.deepEqual(alerts.map((a) => `${a.rule} ${a.host} -> ${a.peer}`).sort(), [
      'peer-upload 10.1.0.1 -> 203.0.113.9',
      'peer-upload 10.1.0.3 -> 203.0.113.40',
    ]);
    const up = alerts.find((a) => a.host === '10.1.0.1')!;
    assert.equal(up.evidence.bytesOut, 30_000_000);
    assert.equal(up.agentId, 'capture');
    assert.match(up.summary, /^10\.1\.0\.1 sent 30\.0 MB to 203\.0\.113\.9 within 1 h/);
    assert.ok(v.knownPeerRepeats >= 1, 'the stream crossed the limit again and was not reported again');
    // the limit and the ignore list are configurable
    assert.equal((await runRecords([[new VolumeAnalyzer(), { absoluteBytes: 50_000_000 }]], recs, { tickIntervalUs: 60e6 })).alerts.filter((a) => a.host === '10.1.0.1').length, 0);
    const ignored = await runRecords([[new VolumeAnalyzer(), { ignorePeers: ['203.0.113.40/32'] }]], recs, { tickIntervalUs: 60e6 });
    assert.deepEqual(ignored.alerts.map((a) => a.peer), ['203.0.113.9']);
  });
});
