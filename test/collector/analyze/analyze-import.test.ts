// Retrospective analysis end to end: analyzeImport over a real capture stores its alerts
// in the flow database (and a JSON lines output), repeated imports give the same alerts
// (packet time only), importing a file again adds nothing, `meerkat alerts` lists/acks/closes
// them with the documented exit codes and prints the documented fields, and strict mode turns
// a broken analyzer config into a ConfigError.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { analyzeImport } from '../../../collector/analyze/analyze-import.js';
import { createAnalysisRuntime } from '../../../collector/analyze/analysis-runtime.js';
import { DumpIngest } from '../../../collector/import/dump-ingest.js';
import { openCaptureFile } from '../../../shared/capture-file/index.js';
import { decodePacket, DecodedPacket } from '../../../shared/decode/index.js';
import { DumpWriter } from '../../../shared/dump/index.js';
import { SqliteAlertStore } from '../../../shared/alerts/sqlite-alert-store.js';
import { SqliteFlowStore } from '../../../shared/store/sqlite-flow-store.js';
import { registerAlertsCommand } from '../../../console/commands/alerts.js';
import { referencePcapsDir, repoRoot } from '../../../shared/util/repo-paths.js';
import { quietLog, tempDir } from './harness.js';
import { runCommand } from '../../helpers/cli-run.js';

const SYNSCAN = join(referencePcapsDir(), 'ndpi', 'synscan.pcap');
const KEY = new Uint8Array(32).fill(7);

describe('analyzeImport and meerkat alerts', () => {
  let dir: string;
  let cleanup: () => void;
  before(() => ({ dir, cleanup } = tempDir()));
  after(() => cleanup());

  it('imports with analysis: flows and aggregated alerts in one database, JSON lines out', async () => {
    const db = join(dir, 'a.db');
    const jsonl = join(dir, 'alerts.jsonl');
    const r = await analyzeImport([SYNSCAN, join(referencePcapsDir(), 'zeek', 'http_get.pcap')], {
      db, anonKey: KEY, progress: false, log: quietLog, analyzersConfig: { alerts: { outputs: [{ type: 'jsonl', path: jsonl }] } },
    });
    assert.equal(r.import.errors, 0);
    assert.ok(r.records >= 1994);
    assert.ok((r.hitsByCategory.scan ?? 0) >= 1);
    assert.ok(r.hits > r.alerts, 'occurrences aggregate into fewer rows');
    assert.equal(r.loadFailures.length, 0);
    assert.ok(r.analyzers.every((a) => a.enabled));
    const flows = new SqliteFlowStore(db, { readonly: true });
    assert.equal(flows.countFlows(), r.import.records);
    flows.close();
    const store = new SqliteAlertStore(db, { readonly: true });
    const scans = store.list({ category: 'scan' });
    assert.equal(scans.length, 1);
    assert.equal(scans[0]!.peer, '64.13.134.52');
    assert.equal(scans[0]!.count, r.hitsByCategory.scan);
    assert.equal(store.count(), r.alerts);
    store.close();
    const lines = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string });
    assert.equal(lines.filter((l) => l.kind === 'new').length, r.newAlerts);
  });

  it('the same capture gives the same alerts every time (packet time, not import speed)', async () => {
    const rows = async (name: string, analyzers: 'in-process' | 'worker' = 'in-process'): Promise<string[]> => {
      const db = join(dir, name);
      await analyzeImport([SYNSCAN], { db, anonKey: KEY, progress: false, log: quietLog, analyzers });
      const s = new SqliteAlertStore(db, { readonly: true });
      const out = s.list().map((a) => JSON.stringify([a.category, a.rule, a.peer, a.agentId, a.severity, a.count, a.firstSeenUs, a.lastSeenUs, a.summary, a.evidence]));
      s.close();
      return out.sort();
    };
    const one = await rows('d1.db');
    const two = await rows('d2.db');
    assert.ok(one.length > 0);
    assert.deepEqual(one, two);
    // and the same again with the analyzers in a worker thread, as the live collector runs them
    assert.deepEqual(await rows('d3.db', 'worker'), one);
  });

  it('importing the same capture again does not double alert counts (the file is skipped)', async () => {
    const db = join(dir, 'twice.db');
    const first = await analyzeImport([SYNSCAN], { db, anonKey: KEY, progress: false, log: quietLog });
    const rows = (): string[] => {
      const s = new SqliteAlertStore(db, { readonly: true });
      try { return s.list().map((a) => `${a.category}/${a.rule} ${a.host} ${a.peer} x${a.count}`).sort(); } finally { s.close(); }
    };
    const before = rows();
    assert.ok(before.length >= 1 && first.alerts >= 1);
    const second = await analyzeImport([SYNSCAN], { db, anonKey: KEY, progress: false, log: quietLog });
    assert.equal(second.import.files[0]!.status, 'duplicate');
    assert.equal(second.records, 0);
    assert.equal(second.alerts, 0);
    assert.deepEqual(rows(), before);
    // the CLI says so and exits 0
    const cli = spawnSync(process.execPath, [join(repoRoot(), 'dist/collector/cli.js'), 'import', SYNSCAN, '--db', db, '--no-progress'], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /^duplicate .*synscan\.pcap {2}\(imported \d{4}-.* as agent import; --reimport to import it again\)/m);
    assert.deepEqual(rows(), before);
  });

  it('strict mode: an analyzer that cannot be loaded is a ConfigError before anything is imported', async () => {
    await assert.rejects(analyzeImport([SYNSCAN], {
      db: join(dir, 's.db'), progress: false, log: quietLog, strict: true,
      analyzersConfig: { analyzers: [{ module: join(dir, 'missing.js') }] },
    }), (e: unknown) => e instanceof Error && e.name === 'ConfigError' && /missing\.js: cannot be imported/.test(e.message));
    // not strict: reported as an alert, the import and the other analyzers go on
    const r = await analyzeImport([SYNSCAN], {
      db: join(dir, 'n.db'), progress: false, log: quietLog,
      analyzersConfig: { analyzers: [{ module: join(dir, 'missing.js') }, { builtin: 'scan' }, { module: join(repoRoot(), 'test', 'collector', 'analyze', 'fixtures', 'new-service-port.js'), config: { learnSec: 0 } }] },
    });
    assert.equal(r.loadFailures.length, 1);
    assert.equal(r.hitsByCategory.analyzer, 1);
    assert.ok((r.hitsByCategory.scan ?? 0) > 0);
    assert.ok((r.hitsByCategory['new-service-port'] ?? 0) > 0, JSON.stringify(r.hitsByCategory));
  });

  it('the live path: DumpIngest onRecord -> analysis runtime in the same database, flushed on a timer', async () => {
    const db = join(dir, 'live.db');
    const rt = await createAnalysisRuntime({ db, flushEveryMs: 20, log: quietLog, config: { analyzers: [{ builtin: 'scan' }], analysis: { defaultAnalyzers: false } } });
    const store = new SqliteFlowStore(db);
    // onRecord runs inside the flow store's write transaction: the pipeline must not write there
    const ingest = new DumpIngest(store, { onRecord: rt.onRecord });
    const agentId = '00000000-0000-4000-8000-0000000000aa';
    const w = new DumpWriter({ agentId, anonKeyId: '0000000000000000', snapLen: 0 });
    const reader = openCaptureFile(SYNSCAN);
    const pkt = new DecodedPacket();
    for (let fr = reader.next(); fr !== null; fr = reader.next()) {
      decodePacket(fr.linkType, fr.data, fr.wireLen, fr.tsUs, pkt);
      w.add(pkt);
    }
    reader.close();
    const res = ingest.ingest(w.finish(1), { receivedUs: Date.now() * 1000 });
    ingest.flushAll();
    assert.ok(res.packets > 2000);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(rt.pipeline.stats.flushErrors, 0);
    const alerts = rt.store.list({ agentId });
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]!.rule, 'port-scan');
    await rt.close();
    store.close();
  });

  it('meerkat alerts: list (table, JSON, filters), ack, close; exit codes 0/1/2', async () => {
    const db = join(dir, 'a.db');
    const list = await runCommand(registerAlertsCommand, ['alerts', '--db', db, '--json']);
    assert.equal(list.code, 0, list.err);
    const all = list.out.trim().split('\n').map((l) => JSON.parse(l) as { id: number; category: string; state: string });
    assert.ok(all.length >= 2);
    // every field printed is documented (docs/analyzers.md "The alert as JSON"), none is internal
    assert.ok(!list.out.includes('\\u0000') && !list.out.includes('\u0000'), 'no NUL, escaped or raw');
    const doc = readFileSync(join(repoRoot(), 'docs', 'analyzers.md'), 'utf8');
    const fieldTable = doc.slice(doc.indexOf('### The alert as JSON'), doc.indexOf('Evidence of the built-ins'));
    const documented = new Set([...fieldTable.matchAll(/^\| (`[^|]+`) \|/gm)].flatMap((m) => [...m[1]!.matchAll(/`(\w+)`/g)].map((x) => x[1]!)));
    assert.ok(documented.size >= 20, [...documented].join(' '));
    for (const a of all) assert.deepEqual(Object.keys(a).filter((k) => !documented.has(k)), [], 'undocumented fields');
    assert.deepEqual([...documented].filter((k) => !(k in all[0]!)), [], 'documented fields missing');
    assert.ok(all.every((a) => typeof (a as { host?: unknown }).host === 'string'));
    const scan = all.find((a) => a.category === 'scan')!;
    const table = await runCommand(registerAlertsCommand, ['alerts', '--db', db, '--category', 'scan']);
    assert.equal(table.code, 0);
    assert.match(table.out, /^id\s+state\s+severity\s+category/);
    assert.match(table.out, new RegExp(`\\n${scan.id}\\s+open\\s+high\\s+scan\\s+port-scan`));
    assert.match(table.err, /1 alert\(s\)/);
    const ack = await runCommand(registerAlertsCommand, ['alerts', 'ack', String(scan.id), '--db', db]);
    assert.equal(ack.code, 0, ack.err);
    assert.match(ack.out, new RegExp(`alert ${scan.id} is acknowledged`));
    const acked = await runCommand(registerAlertsCommand, ['alerts', '--db', db, '--state', 'acknowledged', '--json']);
    assert.deepEqual(acked.out.trim().split('\n').map((l) => (JSON.parse(l) as { id: number }).id), [scan.id]);
    const close = await runCommand(registerAlertsCommand, ['alerts', '--db', db, 'close', String(scan.id), '--json']);
    assert.equal(close.code, 0, close.err);
    assert.equal((JSON.parse(close.out) as { state: string }).state, 'closed');
    const limited = await runCommand(registerAlertsCommand, ['alerts', '--db', db, '--limit', '1', '--json']);
    assert.equal(limited.out.trim().split('\n').length, 1);
    // errors
    assert.equal((await runCommand(registerAlertsCommand, ['alerts', 'ack', '999999', '--db', db])).code, 1);
    assert.equal((await runCommand(registerAlertsCommand, ['alerts', 'ack', 'x1', '--db', db])).code, 2);
    assert.equal((await runCommand(registerAlertsCommand, ['alerts', '--db', db, '--state', 'snoozed'])).code, 2);
    assert.equal((await runCommand(registerAlertsCommand, ['alerts', '--db', join(dir, 'nope.db')])).code, 2);
    assert.equal((await runCommand(registerAlertsCommand, ['alerts'])).code, 2);
    assert.equal((await runCommand(registerAlertsCommand, ['alerts', 'ack', '--db', db])).code, 2, 'missing id');
  });
});
