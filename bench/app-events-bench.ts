// DNS / TLS / HTTP events through the analyzers, for the bench harness: a browsing-like
// capture (make-browsing-capture.ts) goes through the agent's replay pipeline (metadata on)
// and the collector's dump ingest (metadata joined to flows, DNS and TLS logs written);
// the application records it makes are then handed, passes repeated, to the built-in
// analyzers (threat-intel with a 100,000-domain and JA4 feed, dga, and the rest) in this
// thread and in an analyzer worker as the live collector runs them. Events per second of CPU
// (in-process) and of wall clock until the worker has finished them (worker).
// Also runnable alone: node dist/bench/app-events-bench.js
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { replayFiles } from '../agent/pipeline/replay-files.js';
import { DumpIngest } from '../collector/import/dump-ingest.js';
import { AnalyzerHost } from '../collector/analyze/analyzer-host.js';
import { AnalyzerPool } from '../collector/analyze/analyzer-pool.js';
import { loadAnalyzers } from '../collector/analyze/load-analyzers.js';
import { analyzerPlan, parseAnalysisConfig } from '../collector/analyze/analysis-config.js';
import { SqliteFlowStore } from '../shared/store/sqlite-flow-store.js';
import type { AppRecord } from '../shared/flow/app-records.js';
import { makeBrowsingCapture } from './make-browsing-capture.js';

const quiet = pino({ level: 'silent' });

export interface AppEventsBench {
  packets: number;
  events: { dns: number; tls: number; http: number };
  /** dumps with metadata -> flows, DNS/TLS logs in SQLite; the same capture's dumps without metadata */
  ingestPacketsPerSec: number;
  ingestNoMetaPacketsPerSec: number;
  inProcessEventsPerSec: number;
  workerEventsPerSec: number;
}

export async function benchAppEvents(opts: { pages?: number; passes?: number } = {}): Promise<AppEventsBench> {
  const dir = mkdtempSync(join(tmpdir(), 'meerkat-app-events-'));
  try {
    const cap = makeBrowsingCapture(dir, opts.pages ?? 400);
    const apps: AppRecord[] = [];
    const ingestRun = async (metadata: boolean): Promise<number> => {
      const out = join(dir, metadata ? 'dumps' : 'dumps-plain');
      mkdirSync(out);
      const rep = await replayFiles([cap.file], { outDir: out, anonymize: 'none', names: 'internal', packetsPerDump: 20_000, snapLen: 0, metadata });
      packets = rep.stats.packetsKept;
      const store = new SqliteFlowStore(join(dir, metadata ? 'm.db' : 'plain.db'), { synchronous: 'normal' });
      const ingest = new DumpIngest(store, metadata ? { onAppRecord: (a) => apps.push(a) } : {});
      const files = readdirSync(out).sort().map((f) => readFileSync(join(out, f)));
      const c0 = process.cpuUsage();
      for (const b of files) ingest.ingest(b, { receivedUs: Date.now() * 1000 });
      ingest.flushAll();
      const c1 = process.cpuUsage(c0);
      store.close();
      return packets / ((c1.user + c1.system) / 1e6);
    };
    let packets = 0;
    const ingestNoMetaPacketsPerSec = await ingestRun(false);
    const ingestPacketsPerSec = await ingestRun(true);

    // a feed of 100,000 domains and 1,000 JA4s, a few of them seen in the capture
    const feed = join(dir, 'feed.txt');
    const lines: string[] = [];
    for (let i = 0; i < 100_000; i++) lines.push(`bad${i}.example`);
    for (let i = 0; i < 1000; i++) lines.push(`t13d1516h2_${i.toString(16).padStart(12, '0')}_b186095e22b6`);
    lines.push('cdn.segment.com');
    writeFileSync(feed, lines.join('\n') + '\n');
    const config = parseAnalysisConfig({ analyzers: [{ builtin: 'threat-intel', config: { watch: false, feeds: [{ name: 'bench', path: feed }] } }] });
    const plan = analyzerPlan(config);
    const passes = opts.passes ?? 60;

    const host = new AnalyzerHost({ sink: () => undefined, log: quiet });
    await loadAnalyzers(host, plan);
    for (const a of apps.slice(0, 2000)) host.onApp(a); // warm up
    const h0 = process.cpuUsage();
    for (let p = 0; p < passes; p++) for (const a of apps) host.onApp(a);
    const h1 = process.cpuUsage(h0);
    host.close();
    const inProcessEventsPerSec = (passes * apps.length) / ((h1.user + h1.system) / 1e6);

    const pool = await AnalyzerPool.start({ plan, baseDir: dir, tickIntervalUs: 60e6, sink: () => undefined, log: quiet });
    pool.blockWhenBusy = true;
    const t0 = performance.now();
    for (let p = 0; p < passes; p++) {
      for (const a of apps) pool.onAppRecord(a);
      pool.sendBatch();
      await new Promise((r) => setImmediate(r));
    }
    await pool.close(); // returns when the worker has finished every batch
    const workerEventsPerSec = (passes * apps.length) / ((performance.now() - t0) / 1000);

    const count = (k: AppRecord['kind']): number => apps.filter((a) => a.kind === k).length;
    return { packets, events: { dns: count('dns'), tls: count('tls'), http: count('http') }, ingestPacketsPerSec, ingestNoMetaPacketsPerSec, inProcessEventsPerSec, workerEventsPerSec };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchAppEvents().then((r) => {
    process.stdout.write(`browsing capture: ${r.packets} packets, ${r.events.dns} DNS transactions, ${r.events.tls} TLS handshakes, ${r.events.http} HTTP requests\n` +
      `dumps -> flows + DNS/TLS logs in SQLite: ${(r.ingestPacketsPerSec / 1e3).toFixed(0)} k packets per CPU second with metadata, ${(r.ingestNoMetaPacketsPerSec / 1e3).toFixed(0)} k without\n` +
      `events through the built-in analyzers: ${(r.inProcessEventsPerSec / 1e3).toFixed(0)} k/s per core in-process, ${(r.workerEventsPerSec / 1e3).toFixed(0)} k/s in a worker (wall clock)\n`);
  }).catch((e: unknown) => {
    process.stderr.write(`app-events-bench: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  });
}
