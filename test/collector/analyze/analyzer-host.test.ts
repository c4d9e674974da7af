// The analyzer host: isolation of failing and stalling analyzers (measured budgets,
// disabling after N failures, reporting), packet-time ticks, alert validation, and
// user analyzers loaded from the collector config by path (dynamic import).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Analyzer, AnalyzerContext } from '../../../collector/analyze/analyzer.js';
import type { EmittedAlert } from '../../../shared/alerts/alert-record.js';
import { AnalyzerHost } from '../../../collector/analyze/analyzer-host.js';
import { analyzerPlan, parseAnalysisConfig } from '../../../collector/analyze/analysis-config.js';
import { loadAnalyzers } from '../../../collector/analyze/load-analyzers.js';
import type { FlowRecord } from '../../../shared/flow/flow-record.js';
import { repoRoot } from '../../../shared/util/repo-paths.js';
import { flow, T0 } from './flow-gen.js';
import { quietLog, tempDir } from './harness.js';

function counting(name: string): Analyzer & { flows: number; ticks: number[] } {
  const a = {
    name, flows: 0, ticks: [] as number[],
    onFlow(): void { a.flows++; },
    onTick(now: number): void { a.ticks.push(now); },
  };
  return a;
}

function records(n: number, stepUs: number): FlowRecord[] {
  return Array.from({ length: n }, (_, i) => flow({ start: T0 + i * stepUs, end: T0 + i * stepUs + 1000 }));
}

describe('analyzer host', () => {
  it('isolates a throwing analyzer: disabled after maxFailures, reported once, the others go on', async () => {
    const alerts: EmittedAlert[] = [];
    const host = new AnalyzerHost({ sink: (a) => alerts.push(a), log: quietLog, budget: { maxFailures: 3 } });
    let closed = false;
    const bad: Analyzer = { name: 'bad', onFlow() { throw new Error('boom'); }, close() { closed = true; } };
    const good = counting('good');
    await host.add(bad);
    await host.add(good);
    for (const r of records(10, 1e6)) host.onFlow(r);
    const st = host.status();
    assert.equal(st[0]!.enabled, false);
    assert.equal(st[0]!.failures, 3, 'no calls after it was disabled');
    assert.match(st[0]!.disabledReason!, /3 failures, last: onFlow: Error: boom/);
    assert.equal(good.flows, 10);
    assert.ok(closed, 'a disabled analyzer is closed');
    const reports = alerts.filter((a) => a.category === 'analyzer');
    assert.equal(reports.length, 1);
    assert.equal(reports[0]!.rule, 'disabled');
    assert.equal(reports[0]!.peer, 'bad');
    assert.equal(reports[0]!.agentId, 'collector');
  });

  it('measures every call: a stalling analyzer (over its budget) is disabled, a fast one is not', async () => {
    const alerts: EmittedAlert[] = [];
    const host = new AnalyzerHost({ sink: (a) => alerts.push(a), log: quietLog, budget: { flowMs: 20, maxFailures: 2 } });
    const slow: Analyzer = {
      name: 'slow',
      onFlow(rec) {
        if (rec.orig_port % 2 === 0) return; // stalls on some flows only
        const until = performance.now() + 40;
        while (performance.now() < until) { /* a stall the host cannot interrupt, only measure */ }
      },
    };
    const good = counting('good');
    await host.add(slow);
    await host.add(good);
    const recs = records(12, 1e6);
    for (const r of recs) host.onFlow(r);
    const st = host.status();
    assert.equal(st[0]!.enabled, false);
    assert.equal(st[0]!.slowCalls, 2);
    assert.ok(st[0]!.maxMs >= 40, `measured ${st[0]!.maxMs} ms`);
    assert.match(st[0]!.disabledReason!, /onFlow took \d+\.\d ms \(budget 20 ms\)/);
    assert.equal(st[1]!.enabled, true);
    assert.equal(good.flows, 12);
    assert.equal(alerts.filter((a) => a.rule === 'disabled').length, 1);
  });

  it('counts rejected promises and invalid alerts as failures; a hung async setup is cut off', async () => {
    const host = new AnalyzerHost({ sink: () => {}, log: quietLog, budget: { maxFailures: 2, setupMs: 100 } });
    const asyncBad = { name: 'async-bad', async onFlow() { throw new Error('later'); } } as unknown as Analyzer;
    const garbage: Analyzer = { name: 'garbage', onFlow(_r, ctx) { ctx.emit({ severity: 'urgent' } as never); } };
    const hung: Analyzer = { name: 'hung', setup: () => new Promise<void>(() => {}), onFlow() {} };
    await host.add(asyncBad);
    await host.add(garbage);
    const t0 = Date.now();
    assert.equal(await host.add(hung), false);
    assert.ok(Date.now() - t0 < 2000);
    for (const r of records(3, 1e6)) host.onFlow(r);
    await new Promise((r) => setImmediate(r));
    const st = host.status();
    assert.equal(st[0]!.enabled, false, 'async rejections counted');
    assert.match(st[0]!.lastError!, /later/);
    assert.equal(st[1]!.enabled, false);
    assert.match(st[1]!.lastError!, /invalid alert: severity must be one of low, medium, high, critical/);
    assert.equal(st[2]!.enabled, false);
    assert.match(st[2]!.disabledReason!, /setup failed: Error: setup did not finish within 100 ms/);
  });

  it('ticks on packet time: same ticks however fast the records arrive, one tick per gap', async () => {
    const recs = records(50, 7e6); // 7 s apart: 350 s of packet time
    recs.push(flow({ start: T0 + 86_400e6, end: T0 + 86_400e6 + 1 })); // a day later
    const a = counting('a');
    const host = new AnalyzerHost({ sink: () => {}, log: quietLog, tickIntervalUs: 60e6 });
    await host.add(a);
    for (const r of recs) host.onFlow(r);
    const b = counting('b');
    const host2 = new AnalyzerHost({ sink: () => {}, log: quietLog, tickIntervalUs: 60e6 });
    await host2.add(b);
    for (const r of recs) { host2.onFlow(r); await new Promise((res) => setTimeout(res, 1)); }
    assert.deepEqual(a.ticks, b.ticks);
    // boundaries at T0+60 s ... T0+300 s (T0 is on a minute), then one for the day-long gap
    assert.equal(a.ticks.length, 6, a.ticks.map((t) => (t - T0) / 1e6).join(','));
    assert.equal(a.ticks[0], T0 + 63e6 + 1000, 'the first record ending past the boundary ticks with its own end time');
    assert.equal(a.ticks.at(-1), T0 + 86_400e6 + 1);
    host.finish();
    assert.equal(a.ticks.length, 7, 'finish() runs a last tick');
  });

  it('per-agent clocks and the shared context (sides, nowUs)', async () => {
    let seen: { now: number; agentB: number; direction: string } | null = null;
    const probe: Analyzer = {
      name: 'probe',
      onFlow(rec: FlowRecord, ctx: AnalyzerContext) {
        if (rec.agent_id === 'b') seen = { now: ctx.nowUs(), agentB: ctx.agentNowUs('b'), direction: ctx.sides(rec).direction };
      },
    };
    const host = new AnalyzerHost({ sink: () => {}, log: quietLog });
    await host.add(probe);
    host.onFlow(flow({ agent_id: 'a', start: T0 + 10e6, end: T0 + 20e6 }));
    host.onFlow(flow({ agent_id: 'b', start: T0, end: T0 + 5e6, orig_addr: '198.51.100.9', orig_anon: false, resp_addr: '10.0.0.5', resp_anon: false }));
    assert.deepEqual(seen, { now: T0 + 20e6, agentB: T0 + 5e6, direction: 'inbound' });
    // an agent's watermark moves its clock (and the stream's) without a record
    host.advanceAgent('b', T0 + 90e6);
    assert.equal(host.agentClockUs('b'), T0 + 90e6);
    assert.equal(host.agentClockUs('a'), T0 + 20e6);
    assert.equal(host.clockUs, T0 + 90e6);
    assert.equal(host.ticks, 1, 'crossing a tick boundary ticks');
  });

  it('an alert without a host gets the local side of the flow (or the DNS client) it was raised on, else none', async () => {
    const emitting: Analyzer = {
      name: 'emitting',
      onFlow(rec: FlowRecord, ctx: AnalyzerContext) {
        ctx.emit({ severity: 'low', category: 'x', agentId: rec.agent_id, summary: 'flow', evidence: {}, tsUs: rec.start });
        ctx.emit({ severity: 'low', category: 'x', rule: 'own', agentId: rec.agent_id, host: 'given', summary: 'own host', evidence: {}, tsUs: rec.start });
      },
      onDnsName(_name, _rec, ctx, info) {
        ctx.emit({ severity: 'low', category: 'x', rule: 'dns', agentId: info!.agentId, summary: 'dns', evidence: {}, tsUs: info!.tsUs });
      },
      onTick(now: number, ctx: AnalyzerContext) {
        ctx.emit({ severity: 'low', category: 'x', rule: 'tick', agentId: 'a', summary: 'tick', evidence: {}, tsUs: now });
      },
    };
    const got: EmittedAlert[] = [];
    const host = new AnalyzerHost({ sink: (a) => got.push(a), log: quietLog });
    await host.add(emitting);
    host.onFlow(flow({ agent_id: 'a', orig_addr: '198.51.100.9', orig_anon: false, resp_addr: '10.0.0.5' }));
    host.onDnsName('example.org', undefined, { agentId: 'a', tsUs: T0, role: 'query', client: '10.0.0.7', server: '10.0.0.53' });
    host.finish();
    assert.deepEqual(got.map((a) => `${a.summary}: ${String(a.host)}`), ['flow: 10.0.0.5', 'own host: given', 'dns: 10.0.0.7', 'tick: undefined']);
  });

  describe('user analyzers from the config', () => {
    const example = join(repoRoot(), 'test', 'collector', 'analyze', 'fixtures', 'new-service-port.js');

    it('loads the documented example by path and it alerts on a new port after learning (packet time)', async () => {
      const { dir, cleanup } = tempDir();
      try {
        const cfg = parseAnalysisConfig({
          analyzers: [{ module: example, config: { learnSec: 600, ignorePorts: [53] } }, { builtin: 'scan' }],
          analysis: { defaultAnalyzers: false },
        });
        const alerts: EmittedAlert[] = [];
        const host = new AnalyzerHost({ sink: (a) => alerts.push(a), log: quietLog, baseDir: dir });
        const r = await loadAnalyzers(host, analyzerPlan(cfg));
        assert.deepEqual(r.loaded, ['new-service-port', 'scan']);
        const recs = [
          flow({ start: T0, resp_port: 443 }),
          flow({ start: T0 + 300e6, resp_port: 8443 }), // new, but still learning
          flow({ start: T0 + 700e6, resp_port: 443 }),
          flow({ start: T0 + 800e6, resp_port: 53, proto: 'udp' }),
          flow({ start: T0 + 900e6, resp_port: 4444, resp_addr: '203.0.113.50' }),
        ];
        for (const rec of recs) host.onFlow(rec);
        host.finish();
        assert.equal(alerts.length, 1);
        assert.equal(alerts[0]!.analyzer, 'new-service-port');
        assert.equal(alerts[0]!.rule, 'tcp/4444');
        assert.equal(alerts[0]!.peer, '203.0.113.50');
        assert.equal(alerts[0]!.tsUs, T0 + 900e6);
      } finally {
        cleanup();
      }
    });

    it('a module that cannot be loaded is reported and skipped; relative paths resolve against the config folder', async () => {
      const { dir, cleanup } = tempDir();
      try {
        writeFileSync(join(dir, 'no-hooks.js'), 'export default { name: "x" };\n');
        writeFileSync(join(dir, 'syntax.js'), 'export default {;\n');
        writeFileSync(join(dir, 'ok.js'), 'export const analyzer = { name: "ok", onFlow() {} };\n');
        const cfg = parseAnalysisConfig({
          analyzers: [{ module: './missing.js' }, { module: './no-hooks.js' }, { module: './syntax.js' }, { module: './ok.js', name: 'renamed' }],
          analysis: { defaultAnalyzers: false },
        });
        const alerts: EmittedAlert[] = [];
        const host = new AnalyzerHost({ sink: (a) => alerts.push(a), log: quietLog, baseDir: dir });
        const r = await loadAnalyzers(host, analyzerPlan(cfg));
        assert.deepEqual(r.loaded, ['renamed']);
        assert.equal(r.failed.length, 3);
        assert.match(r.failed[0]!.error, /missing\.js: cannot be imported/);
        assert.match(r.failed[1]!.error, /expected a default export/);
        assert.equal(alerts.filter((a) => a.rule === 'load-failed').length, 3);
      } finally {
        cleanup();
      }
    });

    it('rejects a bad config with the key path named', () => {
      assert.throws(() => analyzerPlan(parseAnalysisConfig({ analyzers: [{ builtin: 'nope' }] }, 'collector.json'), 'collector.json'),
        (e: unknown) => e instanceof Error && e.name === 'ConfigError' && /collector\.json: analyzers\.0: no built-in analyzer "nope"; the built-ins are threat-intel, /.test(e.message));
      assert.throws(() => parseAnalysisConfig({ analysis: { tickIntervalSec: -1 } }), /analysis\.tickIntervalSec/);
    });
  });
});
