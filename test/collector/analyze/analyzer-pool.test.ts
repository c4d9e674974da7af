// Analyzers in worker threads with real workers: records go in without waiting, built-in
// alerts come back, a user analyzer that never returns is stopped at the hard limit
// (restarted, then disabled), a slow one is reported per call and disabled after its
// failures, and nothing of this stalls the caller or the other analyzers.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import type { EmittedAlert } from '../../../shared/alerts/alert-record.js';
import { AnalyzerPool } from '../../../collector/analyze/analyzer-pool.js';
import { AnalyzerHost } from '../../../collector/analyze/analyzer-host.js';
import { loadAnalyzers } from '../../../collector/analyze/load-analyzers.js';
import { AnalysisMetrics } from '../../../collector/analyze/analysis-metrics.js';
import { BUILTIN_NAMES } from '../../../collector/analyze/builtin-analyzers.js';
import { analyzerPlan, parseAnalysisConfig, type AnalysisConfigInput } from '../../../collector/analyze/analysis-config.js';
import { repoRoot } from '../../../shared/util/repo-paths.js';
import { generateFlows } from '../../../bench/analyze-bench.js';
import { quietLog, tempDir } from './harness.js';
import { writeFileSync } from 'node:fs';

const fixture = (f: string): string => join(repoRoot(), 'test', 'collector', 'analyze', 'fixtures', f);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function startPool(c: AnalysisConfigInput, budget: Record<string, number>, extra: { maxQueuedFlows?: number } = {}): Promise<{ pool: AnalyzerPool; alerts: EmittedAlert[]; metrics: AnalysisMetrics; registry: Registry }> {
  const alerts: EmittedAlert[] = [];
  let pool: AnalyzerPool | null = null;
  const metrics = new AnalysisMetrics({ status: () => pool?.status() ?? [], queuedFlows: () => pool?.queuedFlows() ?? new Map() });
  const registry = new Registry();
  metrics.register(registry);
  pool = await AnalyzerPool.start({
    plan: analyzerPlan(parseAnalysisConfig(c)), baseDir: repoRoot(), tickIntervalUs: 60e6, budget,
    sink: (a) => alerts.push(a), log: quietLog, metrics, ...extra,
  });
  return { pool, alerts, metrics, registry };
}

describe('analyzer pool: analyzers in worker threads', function () {
  this.timeout(60_000);

  it('built-ins in their worker give exactly the alerts they give in-process; every record analyzed; the final tick runs at close', async () => {
    const recs = generateFlows(100_000, 20);
    const key = (a: EmittedAlert): string => JSON.stringify([a.analyzer, a.category, a.rule, a.agentId, a.peer, a.severity, a.tsUs, a.summary, a.evidence]);
    // a feed listing every 200th web server, so threat-intel has work as well
    const { dir, cleanup } = tempDir();
    after(cleanup);
    const feed = join(dir, 'feed.txt');
    writeFileSync(feed, recs.filter((r, i) => !r.resp_anon && i % 200 === 0).map((r) => r.resp_addr).join('\n') + '\n');
    const config: AnalysisConfigInput = { analyzers: [{ builtin: 'threat-intel', config: { watch: false, feeds: [{ name: 'listed', path: feed }] } }] };
    const inProcess: EmittedAlert[] = [];
    const host = new AnalyzerHost({ sink: (a) => inProcess.push(a), log: quietLog, baseDir: repoRoot() });
    await loadAnalyzers(host, analyzerPlan(parseAnalysisConfig(config)));
    for (const r of recs) host.onFlow(r);
    host.finish();
    host.close();
    const { pool, alerts } = await startPool(config, {});
    try {
      pool.blockWhenBusy = true; // as an import does: wait for the worker rather than drop
      for (const r of recs) pool.onRecord(r);
      await until('the worker to take every record', () => pool.queuedFlows().get('builtins') === 0, 30_000);
      await pool.close();
      const st = pool.status();
      assert.equal(st.length, BUILTIN_NAMES.length);
      assert.ok(st.every((s) => s.enabled), JSON.stringify(st.filter((s) => !s.enabled)));
      // machine-signature looks at windows, dga at DNS transactions (these records have none)
      assert.ok(st.filter((s) => s.name !== 'machine-signature' && s.name !== 'dga').every((s) => s.calls >= recs.length), JSON.stringify(st.map((s) => [s.name, s.calls])));
      assert.ok(inProcess.length > 10, `${inProcess.length} alerts in-process`);
      assert.deepEqual(alerts.map(key).sort(), inProcess.map(key).sort());
    } finally {
      await pool.close();
    }
  });

  it('a user analyzer that never returns is stopped at the hard limit, restarted, then disabled; the built-ins and the caller go on', async () => {
    const { pool, alerts, registry } = await startPool(
      { analyzers: [{ module: fixture('never-returns.js') }] },
      { stallMs: 300, maxStalls: 2 },
    );
    try {
      // the live path: records arrive dump by dump, until the endless analyzer is given up
      const recs = generateFlows(200_000, 5);
      let fed = 0;
      let slowestChunkMs = 0;
      const disabled = (): boolean => pool.status().some((s) => s.name === 'never-returns' && !s.enabled);
      const end = Date.now() + 20_000;
      while (!disabled() && fed + 1000 <= recs.length) {
        if (Date.now() > end) throw new Error('timed out waiting for the endless analyzer to be disabled');
        const t0 = performance.now();
        for (let k = fed; k < fed + 1000; k++) pool.onRecord(recs[k]!);
        slowestChunkMs = Math.max(slowestChunkMs, performance.now() - t0);
        fed += 1000;
        await sleep(25);
      }
      assert.ok(disabled(), `still enabled after ${fed} records`);
      const st = pool.status().find((s) => s.name === 'never-returns')!;
      assert.equal(st.stalls, 2);
      assert.match(st.disabledReason ?? '', /stalled 2 times \(last: onFlow over 300 ms\)/);
      const stalled = alerts.filter((a) => a.category === 'analyzer' && a.rule === 'stalled');
      assert.equal(stalled.length, 2);
      assert.match(stalled[0]!.summary, /never-returns stalled: onFlow ran over 300 ms .*restarted with fresh state/);
      assert.match(stalled[1]!.summary, /disabled/);
      const h = pool.health();
      assert.ok(h.reasons.some((r) => /never-returns stalled .* in onFlow \(2 of 2\): disabled/.test(r)), JSON.stringify(h));
      assert.ok(h.notes.some((n) => /never-returns disabled: stalled 2 times/.test(n)));
      const text = await registry.metrics();
      assert.match(text, /meerkat_collector_analyzer_stalls_total\{analyzer="never-returns"\} 2/);
      assert.match(text, /meerkat_collector_analyzer_worker_restarts_total\{worker="module:never-returns.js",reason="stall"\} 1/);
      assert.match(text, /meerkat_collector_analyzer_enabled\{analyzer="never-returns"\} 0/);
      // the caller never waited for it, and the built-ins analyzed every record
      assert.ok(slowestChunkMs < 1000, `1000 records took ${slowestChunkMs.toFixed(0)} ms to hand over`);
      await until('the built-ins to analyze every record', () => pool.status().some((s) => s.name === 'sensitive-ports' && s.enabled && s.calls === fed), 30_000);
      assert.ok(alerts.some((a) => a.category !== 'analyzer'), 'the built-ins still alert');
    } finally {
      await pool.close();
    }
  });

  it('an analyzer whose setup never returns: the pool still starts, without it, once it stalled maxStalls times', async () => {
    const t0 = performance.now();
    const { pool, alerts } = await startPool(
      { analysis: { defaultAnalyzers: false }, analyzers: [{ builtin: 'scan' }, { module: fixture('never-sets-up.js') }] },
      { setupMs: 200, stallMs: 200, maxStalls: 2 },
    );
    try {
      assert.ok(performance.now() - t0 < 15_000);
      const st = pool.status().find((s) => s.name.endsWith('never-sets-up.js'))!;
      assert.equal(st.enabled, false);
      assert.match(st.disabledReason ?? '', /stalled 2 times \(last: setup over 200 ms\)/);
      assert.equal(alerts.filter((a) => a.rule === 'stalled').length, 2);
      assert.ok(pool.status().some((s) => s.name === 'scan' && s.enabled), 'the built-ins run');
    } finally {
      await pool.close();
    }
  });

  it('a slow analyzer: each call over its budget is reported to its worker as a failure, and it is disabled after maxFailures', async () => {
    const { pool, alerts } = await startPool(
      { analysis: { defaultAnalyzers: false }, analyzers: [{ module: fixture('slow-flows.js'), config: { ms: 150 } }, { builtin: 'scan' }] },
      { flowMs: 50, maxFailures: 3 },
    );
    try {
      const recs = generateFlows(20, 2);
      for (const r of recs) pool.onRecord(r);
      await until('the slow analyzer to be disabled', () => pool.status().some((s) => s.name === 'slow-flows' && !s.enabled), 20_000);
      const st = pool.status().find((s) => s.name === 'slow-flows')!;
      assert.ok(st.slowCalls >= 3, JSON.stringify(st));
      assert.match(st.disabledReason ?? '', /onFlow ran for more than \d+ ms \(budget 50 ms\)/);
      assert.ok(st.maxMs >= 50, JSON.stringify(st));
      assert.ok(alerts.some((a) => a.category === 'analyzer' && a.rule === 'disabled' && a.peer === 'slow-flows'));
      assert.equal(st.stalls, 0, 'slow is not stalled: the worker was never terminated');
    } finally {
      await pool.close();
    }
  });

  it('a worker whose queue is full has records dropped and counted; the caller does not wait', async () => {
    const { pool, registry } = await startPool(
      { analysis: { defaultAnalyzers: false }, analyzers: [{ module: fixture('never-returns.js') }] },
      { stallMs: 2000, maxStalls: 1 },
      { maxQueuedFlows: 2048 },
    );
    try {
      const recs = generateFlows(10_000, 2);
      const t0 = performance.now();
      for (const r of recs) pool.onRecord(r);
      pool.sendBatch();
      assert.ok(performance.now() - t0 < 2000);
      const text = await registry.metrics();
      const m = /meerkat_collector_analyzer_flows_not_analyzed_total\{worker="module:never-returns.js",reason="queue-full"\} (\d+)/.exec(text);
      assert.ok(m && Number(m[1]) >= 10_000 - 2048 - 1024, text);
      assert.ok(pool.health().reasons.some((r) => /module:never-returns\.js is behind: \d+ flow records not analyzed/.test(r)));
    } finally {
      await pool.close();
    }
  });
});
