// The analyzer plan: built-ins run by default, config entries change that set (configure,
// disable, add instances and user modules), every mistake is a config error naming the entry.
import assert from 'node:assert/strict';
import { analyzerPlan, describePlan, parseAnalysisConfig, type AnalysisConfigInput, type PlannedAnalyzer } from '../../../collector/analyze/analysis-config.js';
import { BUILTIN_NAMES } from '../../../collector/analyze/builtin-analyzers.js';
import { AnalyzerHost } from '../../../collector/analyze/analyzer-host.js';
import { ScanAnalyzer } from '../../../collector/analyze/scan-analyzer.js';
import type { Analyzer } from '../../../collector/analyze/analyzer.js';
import { z } from 'zod';
import { quietLog } from './harness.js';

const plan = (c: AnalysisConfigInput): PlannedAnalyzer[] => analyzerPlan(parseAnalysisConfig(c, 'collector.json'), 'collector.json');
const running = (p: PlannedAnalyzer[]): string[] => p.filter((x) => x.enabled).map((x) => (x.kind === 'builtin' ? x.name : x.name ?? x.module));

describe('analysis config: the analyzer plan', () => {
  it('no "analyzers" key: every built-in, in registry order, with its defaults filled in', () => {
    const p = plan({});
    assert.deepEqual(running(p), BUILTIN_NAMES);
    const scan = p.find((x) => x.name === 'scan')!;
    assert.equal((scan.config as { windowSec: number }).windowSec, 300);
  });

  it('naming one feed configures threat-intel and keeps every other built-in on', () => {
    const p = plan({ analyzers: [{ builtin: 'threat-intel', config: { feeds: [{ name: 'abuse', path: 'abuse.txt' }] } }] });
    assert.deepEqual(running(p), BUILTIN_NAMES);
    const ti = p.find((x) => x.name === 'threat-intel')!;
    assert.equal((ti.config as { feeds: Array<{ name: string; severity: string }> }).feeds[0]!.severity, 'high');
    assert.deepEqual(describePlan(p).running.find((r) => r.name === 'threat-intel'), { name: 'threat-intel', builtin: 'threat-intel', feeds: ['abuse'] });
    assert.deepEqual(describePlan(p).warnings, []);
  });

  it('{"builtin": X, "enabled": false} turns one off; a named entry adds an instance; modules are added', () => {
    const p = plan({ analyzers: [
      { builtin: 'scan', enabled: false },
      { builtin: 'volume', name: 'volume-lateral', config: { includeLateral: true } },
      { module: './mine.js', config: { x: 1 } },
    ] });
    const names = running(p);
    assert.ok(!names.includes('scan'));
    assert.deepEqual(names.slice(-2), ['volume-lateral', './mine.js']);
    assert.equal(names.filter((n) => n === 'volume').length, 1, 'the default volume instance stays');
    assert.deepEqual(describePlan(p).disabled, ['scan']);
  });

  it('defaultAnalyzers: false runs only the listed ones', () => {
    assert.deepEqual(running(plan({ analysis: { defaultAnalyzers: false }, analyzers: [{ builtin: 'beacon' }, { module: 'builtin:scan' }] })), ['beacon', 'scan']);
  });

  it('mistakes are config errors naming the entry: unknown name (valid ones listed), twice, bad built-in config', () => {
    assert.throws(() => plan({ analyzers: [{ builtin: 'scn' }] }), (e: unknown) => e instanceof Error && e.name === 'ConfigError' &&
      e.message.includes(`collector.json: analyzers.0: no built-in analyzer "scn" (did you mean "scan"?); the built-ins are ${BUILTIN_NAMES.join(', ')}`));
    assert.throws(() => plan({ analyzers: [{ module: 'builtin:nope' }] }), /analyzers\.0: no built-in analyzer "nope"/);
    assert.throws(() => plan({ analyzers: [{ builtin: 'scan' }, { builtin: 'scan', config: { windowSec: 5 } }] }), /analyzers\.1: "scan" is configured twice/);
    assert.throws(() => plan({ analyzers: [{ builtin: 'scan', config: { windowSec: 'x', typo: 1 } }] }), (e: unknown) => e instanceof Error && e.name === 'ConfigError' &&
      /analyzer "scan" config: invalid configuration/.test(e.message) && /windowSec/.test(e.message) && /typo/.test(e.message));
    // a disabled entry's config is not checked (turning an analyzer off never fails)
    assert.doesNotThrow(() => plan({ analyzers: [{ builtin: 'scan', enabled: false, config: { windowSec: 'x' } }] }));
  });

  it('threat-intel with no feed says so', () => {
    const d = describePlan(plan({}));
    assert.equal(d.warnings.length, 1);
    assert.match(d.warnings[0]!, /threat-intel: no feed configured, it raises nothing/);
  });

  it('the host validates a declared schema once, before setup, and hands setup the validated config', async () => {
    const host = new AnalyzerHost({ sink: () => undefined, log: quietLog });
    const scan = new ScanAnalyzer();
    assert.equal(host.addSync(scan, { windowSec: 30 }), true);
    assert.equal(host.addSync(new ScanAnalyzer(), { windowSec: -1 }, 'bad-scan'), false);
    assert.match(host.status().at(-1)!.disabledReason!, /config invalid: bad-scan config: invalid configuration\n\s+windowSec:/);
    // a user analyzer may declare a schema too (any Standard Schema; zod here)
    let got: unknown;
    const mine: Analyzer<{ limit: number }> = { name: 'mine', configSchema: z.object({ limit: z.number().default(7) }), setup(c) { got = c; }, onFlow() {} };
    assert.equal(await host.add(mine as Analyzer, {}), true);
    assert.deepEqual(got, { limit: 7 });
  });
});
