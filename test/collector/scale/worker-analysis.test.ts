// Analyzers and alerts in the flow workers, on a real NATS JetStream server and a real PostgreSQL
// cluster started here. The same 17 real dumps (the reference capture, one agent) are published
// by the front-end's committer for two organisations served by one worker: "ref" commits without
// trouble; in "crash" the first transaction holding dump #2 fails at COMMIT (a deferred trigger:
// after the dumps, flows, replay points and alerts were written), the partition is dropped,
// taken again and rebuilt by replay, as after a worker's crash. Both must end with the same alert
// rows, each written and notified once. Then the worker hands its partitions over (no flush) to a
// second worker, which replays the open flows' dumps: no alert row may change. Last, dumps with
// the agents' DNS/TLS/HTTP metadata (a real capture replayed by the agent's pipeline) give the
// worker the alert rows the single process's analysis (SQLite) gives for the same dumps.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlowWorker } from '../../../collector/scale/flow-worker.js';
import { JetStreamCommitter } from '../../../collector/scale/jetstream-committer.js';
import type { WorkerAnalysisConfig } from '../../../collector/scale/worker-analysis.js';
import { readDumpHeader } from '../../../shared/dump/dump-header.js';
import { logger } from '../../../shared/log.js';
import { PgAlertStore } from '../../../shared/alerts/pg-alert-store.js';
import type { StoredAlert } from '../../../shared/alerts/alert-types.js';
import { PgFlowStore } from '../../../shared/store/postgres/pg-flow-store.js';
import { createAnalysisRuntime } from '../../../collector/analyze/analysis-runtime.js';
import { DumpIngest } from '../../../collector/import/dump-ingest.js';
import { ThreatWatchlist } from '../../../collector/respond/threat-watchlist.js';
import { PacketThreatTap } from '../../../collector/respond/packet-threat-tap.js';
import { MetaThreatTap } from '../../../collector/respond/meta-threat-tap.js';
import { SqliteFlowStore } from '../../../shared/store/sqlite-flow-store.js';
import { SqliteAlertStore } from '../../../shared/alerts/sqlite-alert-store.js';
import { replayFiles } from '../../../agent/pipeline/replay-files.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';
import { startScaleRig, until, type ScaleRig } from '../../helpers/scale-rig.js';
import { referenceRecords, tmpDir } from '../../helpers/transport-rig.js';

const AGENT = '00000000-0000-4000-8000-0000000000a1';
const DUMPS = 17;
const PER_DUMP = 100;
/** on packets 7..185 (dumps 1-2) and 189..519 (dumps 2-6) of the reference capture */
const LISTED = ['54.69.204.241', '52.89.39.139'];

/** What must be equal between two runs (ids, wall-clock times and engine-chosen flow uids aside). */
function comparable(a: StoredAlert): Record<string, unknown> {
  return {
    key: a.key, category: a.category, rule: a.rule, peer: a.peer, host: a.host, analyzer: a.analyzer, severity: a.severity,
    state: a.state, count: a.count, firstSeenUs: a.firstSeenUs, lastSeenUs: a.lastSeenUs, communityId: a.communityId, summary: a.summary,
  };
}

describe('flow worker analysis (NATS JetStream, PostgreSQL)', function () {
  this.timeout(120_000);
  let rig: ScaleRig;
  let dir: string;
  const workers: FlowWorker[] = [];

  before(async () => {
    dir = tmpDir('worker-analysis');
    rig = await startScaleRig();
  });
  after(async () => {
    for (const w of workers) await w.stop({ flush: false }).catch(() => undefined);
    await rig?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes each alert once with the dumps that raised it: a failed commit and its replay, then a hand-over, change nothing', async () => {
    const { pool, nc } = rig;
    assert.ok(referenceRecords().length >= DUMPS * PER_DUMP, 'the reference capture has the packets');
    const feed = join(dir, 'bad-ips.txt');
    writeFileSync(feed, LISTED.join('\n') + '\n');
    const out = join(dir, 'alerts.jsonl');
    const analysis: WorkerAnalysisConfig = {
      config: {
        analyzers: [{ builtin: 'threat-intel', config: { watch: false, feeds: [{ name: 'bad', path: feed }] } }],
        alerts: { notify: 'new', outputs: [{ type: 'jsonl', path: out }] },
      },
      configSource: 'test config',
      baseDir: dir,
    };
    const stores = { ref: await PgFlowStore.open(pool, 'ref'), crash: await PgFlowStore.open(pool, 'crash') };
    // the crash: the first transaction committing dump #2 of the "crash" organisation fails at COMMIT
    await pool.query(`CREATE SEQUENCE org_crash.fail_once;
      CREATE FUNCTION org_crash.fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.sequence = 2 AND nextval('org_crash.fail_once') = 1 THEN RAISE EXCEPTION 'injected failure at commit'; END IF;
        RETURN NULL;
      END $$;
      CREATE CONSTRAINT TRIGGER fail_at_commit AFTER INSERT ON org_crash.dumps DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION org_crash.fail_at_commit();`);
    for (const org of ['ref', 'crash'] as const) await rig.publish(org, stores[org], AGENT, 1, DUMPS, PER_DUMP);
    const so = (id: string): ReturnType<ScaleRig['workerConfig']> => rig.workerConfig(['ref', 'crash'], id);
    const log = logger('worker-analysis-test');
    const w1 = await FlowWorker.start(so('w1'), { log, analysis });
    workers.push(w1);
    await until('every dump committed in both organisations', async () => (await stores.ref.countDumps()) === DUMPS && (await stores.crash.countDumps()) === DUMPS);
    const failed = await pool.query<{ is_called: boolean }>('SELECT is_called FROM org_crash.fail_once');
    assert.equal(failed.rows[0]!.is_called, true, 'the injected failure happened');
    const crashPart = w1.status().partitions.find((p) => p.org === 'crash');
    assert.ok(crashPart !== undefined && crashPart.replayed > 0, `the crash partition was taken again and replayed (${JSON.stringify(crashPart)})`);

    const alerts = { ref: await PgAlertStore.open(pool, 'ref'), crash: await PgAlertStore.open(pool, 'crash') };
    const ref = await alerts.ref.list();
    const intel = ref.filter((a) => a.category === 'threat-intel');
    assert.deepEqual([...new Set(intel.map((a) => a.peer))].sort(), [...LISTED].sort(), 'an alert for each listed address');
    for (const a of intel) assert.ok(a.count >= 1 && a.evidence !== null);
    // the crashed organisation's rows are the reference's: nothing counted twice, nothing lost
    const crashRows = await alerts.crash.list();
    assert.deepEqual(crashRows.map(comparable), ref.map(comparable));
    // notified once each: the rolled-back batch's "new" alerts were never sent
    // the outputs write after the commit, asynchronously: the file may not exist yet
    await until('the alert file written', async () => existsSync(out) && readFileSync(out, 'utf8').trim().split('\n').length >= 2 * ref.length);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; peer: string; category: string; rule: string });
    assert.equal(lines.length, 2 * ref.length, 'one "new" line per alert row and organisation');
    assert.ok(lines.every((l) => l.kind === 'new'));

    // hand-over without a flush: the second worker replays the open flows' dumps (analyzers rebuilt, their alerts dropped)
    const before = { ref: await alerts.ref.list(), crash: await alerts.crash.list() };
    await w1.stop({ flush: false });
    const w2 = await FlowWorker.start(so('w2'), { log, analysis });
    workers.push(w2);
    await until('w2 owns both partitions and replayed', async () => w2.status().partitions.length === 2 && w2.status().partitions.every((p) => p.replayed > 0));
    // a batch past the replay (the agent's watermark in the stream) commits with nothing new to alert
    const positions = async (): Promise<number[]> => (await pool.query<{ next_seq: number }>('SELECT next_seq FROM meerkat.partitions ORDER BY org')).rows.map((r) => r.next_seq);
    const p0 = await positions();
    for (const org of ['ref', 'crash'] as const) {
      const c = new JetStreamCommitter({ js: nc.jetstream(), partitions: 1, orgOf: () => org, storeOf: () => stores[org], quota: { perSec: 1000, burst: 1000 } });
      assert.equal(await c.publishWatermark(AGENT, referenceRecords()[DUMPS * PER_DUMP - 1]!.tsUs - 5_000_000), true);
    }
    await until('the watermarks committed', async () => (await positions()).every((n, i) => n > p0[i]!));
    assert.deepEqual(await alerts.ref.list(), before.ref, 'replay and hand-over changed no alert row');
    assert.deepEqual(await alerts.crash.list(), before.crash);
    // a graceful stop writes the open flows out and evaluates the last windows, in both alike
    await w2.stop();
    assert.deepEqual((await alerts.crash.list()).map(comparable), (await alerts.ref.list()).map(comparable));
  });

  it('on dumps with the agents\' metadata: the worker\'s alert rows are the single process\'s (listed names through the metadata tap and the DNS hooks, every built-in running)', async () => {
    const dumps = join(dir, 'meta-dumps');
    mkdirSync(dumps);
    const agent = '00000000-0000-4000-8000-0000000000b2';
    await replayFiles([join(referencePcapsDir(), 'zeek', 'wikipedia.pcap')], { outDir: dumps, anonymize: 'none', names: 'none', packetsPerDump: 40, snapLen: 0, agentId: agent });
    const files = readdirSync(dumps).sort().map((f) => readFileSync(join(dumps, f)));
    assert.ok(files.length >= 3 && files.some((b) => readDumpHeader(b).packetCount > 0));
    const feed = join(dir, 'names.txt');
    writeFileSync(feed, 'wikimedia.org ; test list\nwikipedia.org\n');
    // every built-in (the defaults) plus the feed: what the single process runs by default
    const analysis: WorkerAnalysisConfig = {
      config: { analyzers: [{ builtin: 'threat-intel', config: { watch: false, feeds: [{ name: 'names', path: feed }] } }] },
      configSource: 'test config',
      baseDir: dir,
    };
    // the single process's path (collector/orgs/org-runtime.ts buildFlows): SQLite, in-thread analyzers, the same taps
    const db = join(dir, 'single.db');
    const rt = await createAnalysisRuntime({ db, config: analysis.config, configSource: 'test config', baseDir: dir });
    const wl = ThreatWatchlist.fromPlan(rt.plan, rt.baseDir);
    const packetTap = new PacketThreatTap(wl, rt.pipeline.add);
    const metaTap = new MetaThreatTap(wl, rt.pipeline.add);
    const flows = new SqliteFlowStore(db);
    const ingest = new DumpIngest(flows, {
      onRecord: rt.onRecord, onAppRecord: rt.onAppRecord, onMeta: metaTap.tap,
      onPacket: (rec, agentId, hasMeta) => { rt.onPacket(rec, agentId, hasMeta); packetTap.tap(rec, agentId); },
    });
    for (const b of files) { ingest.ingest(b, { receivedUs: Date.now() * 1000 }); rt.flush(); }
    ingest.flushAll();
    await rt.close();
    flows.close();
    const single = new SqliteAlertStore(db, { readonly: true });
    const expected = single.list();
    single.close();
    assert.ok(expected.some((a) => a.rule === 'domain:names' && a.peer === 'wikimedia.org'), 'the listed name raised its alert');

    const { pool, nc } = rig;
    const store = await PgFlowStore.open(pool, 'meta');
    const c = new JetStreamCommitter({ js: nc.jetstream(), partitions: 1, orgOf: () => 'meta', storeOf: () => store, quota: { perSec: 1000, burst: 1000 } });
    for (const b of files) assert.equal(await c.commit(agent, readDumpHeader(b), b, Date.now()), 'stored');
    const w = await FlowWorker.start(rig.workerConfig(['meta'], 'w-meta'), { log: logger('worker-analysis-test'), analysis });
    workers.push(w);
    await until('every dump committed', async () => (await store.countDumps()) === files.length);
    await w.stop();
    const got = await (await PgAlertStore.open(pool, 'meta')).list();
    const order = (a: Record<string, unknown>, b: Record<string, unknown>): number => String(a.key).localeCompare(String(b.key));
    assert.deepEqual(got.map(comparable).sort(order), expected.map(comparable).sort(order));
  });
});
