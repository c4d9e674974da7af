// The collector's early check of metadata (meta-threat-tap.ts) and the watchlist it shares
// with the agents (threat-watchlist.ts): domain and JA4 feeds of the threat-intel analyzers go
// to the agents as hashes the agent's trigger matches; on a real capture's dumps, a listed
// domain alerts per metadata record as the dump is ingested (before its DNS transaction or
// flow completes), once per agent, feed and entry per repeat period, with the key of the
// analyzer's own alert; pseudonymized names never match.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { replayFiles } from '../../../agent/pipeline/replay-files.js';
import { ThreatWatchlist } from '../../../collector/respond/threat-watchlist.js';
import { MetaThreatTap } from '../../../collector/respond/meta-threat-tap.js';
import { analyzerPlan, parseAnalysisConfig } from '../../../collector/analyze/analysis-config.js';
import { DumpIngest } from '../../../collector/import/dump-ingest.js';
import { SqliteFlowStore } from '../../../shared/store/sqlite-flow-store.js';
import { WatchlistTrigger } from '../../../agent/watchlist/watchlist-trigger.js';
import type { EmittedAlert } from '../../../shared/alerts/alert-record.js';
import type { WatchlistPayload } from '../../../shared/watchlist/watchlist-codec.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';
import { decodeDump } from '../../../shared/dump/index.js';
import { tempDir } from '../analyze/harness.js';

const JA4 = 't13d1516h2_8daaf6152771_b186095e22b6';

describe('the metadata threat tap and the name watchlist', function () {
  this.timeout(60_000);
  let dir: string;
  let cleanup: () => void;
  before(() => ({ dir, cleanup } = tempDir()));
  after(() => cleanup());

  function watchlist(feedText: string): ThreatWatchlist {
    const feed = join(dir, `feed-${Math.random().toString(36).slice(2)}.txt`);
    writeFileSync(feed, feedText);
    const plan = analyzerPlan(parseAnalysisConfig({ analyzers: [{ builtin: 'threat-intel', config: { watch: false, feeds: [{ name: 'names', path: feed }] } }] }));
    return ThreatWatchlist.fromPlan(plan, dir);
  }

  it('pushes domains and fingerprints to the agents, where the trigger matches them', () => {
    const w = watchlist(`wikimedia.org\n${JA4}\n198.51.100.0/24\n`);
    const msg = w.current() as WatchlistPayload & { type: string };
    assert.equal(msg.type, 'watchlist');
    assert.ok(msg.names !== undefined && msg.ja4 !== undefined);
    const t = new WatchlistTrigger({ flush: () => undefined, install: () => undefined });
    assert.equal(t.update(msg), true);
    assert.deepEqual([t.stats().names, t.stats().ja4, t.stats().entries], [1, 1, 3]);
    assert.equal(t.matchesMeta({ kind: 'http', method: 'GET', minorVersion: 1, host: { name: 'upload.wikimedia.org', pseudonym: false }, userAgent: null }), true);
    t.stop();
  });

  it('on a real capture: a listed domain alerts as the dump is read, with the analyzer\'s key; pseudonyms never', async () => {
    const out = join(dir, 'dumps');
    mkdirSync(out);
    // names: internal, with wikimedia.org declared internal for one replay: its names are pseudonyms then
    await replayFiles([join(referencePcapsDir(), 'zeek', 'wikipedia.pcap')], { outDir: out, anonymize: 'none', names: 'none', packetsPerDump: 1000, snapLen: 0, agentId: '00000000-0000-4000-8000-0000000000a1' });
    const hidden = join(dir, 'hidden');
    mkdirSync(hidden);
    await replayFiles([join(referencePcapsDir(), 'zeek', 'wikipedia.pcap')], {
      outDir: hidden, anonymize: 'none', names: 'internal', internalSuffixes: ['wikimedia.org'], packetsPerDump: 1000, snapLen: 0,
      agentId: '00000000-0000-4000-8000-0000000000a2',
    });
    const w = watchlist('wikimedia.org ; test list\n');
    const alerts: EmittedAlert[] = [];
    const tap = new MetaThreatTap(w, (a) => alerts.push(a), 600);
    const store = new SqliteFlowStore(join(dir, 'm.db'));
    let appRecordsWhenFirstHit = -1;
    let appRecords = 0;
    const ingest = new DumpIngest(store, {
      onAppRecord: (r) => { if (r.kind === 'dns' && r.record.query?.endsWith('wikimedia.org') === true) appRecords++; },
      onMeta: (m, rec, agentId) => {
        tap.tap(m, rec, agentId);
        if (alerts.length > 0 && appRecordsWhenFirstHit < 0) appRecordsWhenFirstHit = appRecords;
      },
    });
    for (const f of readdirSync(out).sort()) ingest.ingest(readFileSync(join(out, f)), { receivedUs: Date.now() * 1000 });
    const hiddenFiles = readdirSync(hidden).sort();
    for (const f of hiddenFiles) ingest.ingest(readFileSync(join(hidden, f)), { receivedUs: Date.now() * 1000 });
    ingest.flushAll();
    store.close();
    assert.equal(alerts.length, 1, 'one alert per agent, feed and entry within the repeat period');
    const a = alerts[0]!;
    assert.deepEqual([a.analyzer, a.category, a.rule, a.peer, a.agentId], ['threat-intel', 'threat-intel', 'domain:names', 'wikimedia.org', '00000000-0000-4000-8000-0000000000a1']);
    assert.equal((a.evidence as { stage: string }).stage, 'metadata');
    assert.equal(appRecordsWhenFirstHit, 0, 'the alert came from the first record naming it, before its DNS transaction was complete');
    assert.equal(tap.takeHits(), 1);
    assert.equal(tap.takeHits(), 0);
    assert.ok(hiddenFiles.length > 0);
    const hiddenNames = hiddenFiles.flatMap((f) => decodeDump(readFileSync(join(hidden, f))).meta.map((m) => m.meta))
      .filter((m) => m.kind === 'dns' && m.query !== null && m.query.pseudonym);
    assert.ok(hiddenNames.length > 10, 'the second agent shipped the wikimedia.org names as pseudonyms');
    assert.ok(alerts.every((x) => x.agentId.endsWith('a1')), 'pseudonymized names never match');
  });
});
