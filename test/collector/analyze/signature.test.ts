// Machine signature: a random forest trained (through `meerkat model train`) on six
// generated machines stored in a real flow database, its held-out accuracy, evaluation
// (`meerkat model eval`), and the live analyzer: quiet while a machine behaves like
// itself, an alert when it starts behaving like another one.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RandomForest, seededRandom } from '../../../collector/analyze/signature/random-forest.js';
import { SignatureAnalyzer } from '../../../collector/analyze/signature/signature-analyzer.js';
import { SignatureModel } from '../../../collector/analyze/signature/signature-model.js';
import { SqliteFlowStore } from '../../../shared/store/sqlite-flow-store.js';
import { registerModelCommand } from '../../../collector/commands/model.js';
import { T0 } from './flow-gen.js';
import { runCommand } from '../../helpers/cli-run.js';
import { runRecords, tempDir } from './harness.js';
import { machineTraffic, PROFILES } from './machine-profiles.js';

const HOURS = 8;

describe('machine signature', () => {
  let dir: string;
  let cleanup: () => void;
  let db: string;

  before(() => {
    ({ dir, cleanup } = tempDir());
    db = join(dir, 'flows.db');
    const store = new SqliteFlowStore(db, { synchronous: 'normal' });
    PROFILES.forEach((p, i) => store.insertFlows(machineTraffic(p, p, T0, T0 + HOURS * 3600e6, 100 + i)));
    // a second machine with exactly Alice's habits: same role, the model cannot tell them apart well
    store.insertFlows(machineTraffic('ws-alice', 'ws-carol', T0, T0 + HOURS * 3600e6, 999));
    store.close();
  });

  after(() => cleanup());

  it('random forest: deterministic for a seed, learns a separable problem', () => {
    const rand = seededRandom(3);
    const X: Float64Array[] = [];
    const y: number[] = [];
    for (let i = 0; i < 300; i++) {
      const a = rand();
      const b = rand();
      X.push(Float64Array.of(a, b, rand()));
      y.push(a + b > 1 ? 1 : a > 0.5 ? 2 : 0);
    }
    const f1 = RandomForest.train(X, y, 3, { trees: 20, seed: 5 });
    const f2 = RandomForest.train(X, y, 3, { trees: 20, seed: 5 });
    assert.deepEqual(f1.trees, f2.trees);
    let correct = 0;
    for (let i = 0; i < 500; i++) {
      const a = rand();
      const b = rand();
      if (f1.predict([a, b, rand()]) === (a + b > 1 ? 1 : a > 0.5 ? 2 : 0)) correct++;
    }
    assert.ok(correct / 500 > 0.9, `accuracy ${correct / 500}`);
  });

  it('meerkat model train: reports held-out accuracy per agent; eval agrees', async () => {
    const model = join(dir, 'model.json');
    const r = await runCommand(registerModelCommand, ['model', 'train', '--db', db, '--out', model, '--window', '5m', '--json']);
    assert.equal(r.code, 0, r.err);
    const rep = JSON.parse(r.out) as { classes: string[]; holdout: { accuracy: number; windows: number; perAgent: Record<string, { accuracy: number; windows: number }> }; training: { windows: number } };
    assert.deepEqual(rep.classes, [...PROFILES, 'ws-carol'].sort());
    assert.ok(rep.holdout.windows >= 7 * 15, `${rep.holdout.windows} held-out windows`);
    const per = Object.entries(rep.holdout.perAgent).map(([a, x]) => `${a} ${(x.accuracy * 100).toFixed(0)}%`).join(', ');
    console.log(`      (held-out accuracy ${(rep.holdout.accuracy * 100).toFixed(1)} % of ${rep.holdout.windows} windows; ${per}; trained on ${rep.training.windows})`);
    assert.ok(rep.holdout.accuracy >= 0.75, per);
    // the twins are mistaken for each other, not for other roles
    const twins = rep.holdout.perAgent['ws-alice']!.accuracy + rep.holdout.perAgent['ws-carol']!.accuracy;
    assert.ok(twins < 1.9, `twins told apart too well? ${per}`);
    for (const p of ['file-server', 'db-server', 'camera', 'build-box']) assert.ok(rep.holdout.perAgent[p]!.accuracy >= 0.9, per);
    const text = await runCommand(registerModelCommand, ['model', 'train', '--db', db, '--out', join(dir, 'm2.json'), '--window', '5m']);
    assert.match(text.out, /held-out accuracy \(latest 20 % of each agent's windows\): \d+\.\d %/);
    const ev = await runCommand(registerModelCommand, ['model', 'eval', '--db', db, '--model', model, '--json']);
    assert.equal(ev.code, 0, ev.err);
    const e = JSON.parse(ev.out) as { accuracy: number; windows: number };
    assert.ok(e.windows >= rep.holdout.windows * 4 && e.accuracy >= rep.holdout.accuracy - 0.02, `eval ${e.accuracy} on ${e.windows}`);
  });

  it('model commands: usage errors exit 2, too little data exits 1', async () => {
    const bad = await runCommand(registerModelCommand, ['model', 'train', '--db', db, '--out', join(dir, 'x.json'), '--window', 'soon']);
    assert.equal(bad.code, 2);
    const missing = await runCommand(registerModelCommand, ['model', 'eval', '--db', db, '--model', join(dir, 'nope.json')]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /not a usable signature model/);
    const empty = join(dir, 'empty.db');
    new SqliteFlowStore(empty).close();
    const none = await runCommand(registerModelCommand, ['model', 'train', '--db', empty, '--out', join(dir, 'y.json')]);
    assert.equal(none.code, 1);
    assert.match(none.err, /need at least 2 agents/);
  });

  it('the live analyzer stays quiet while a machine is itself and alerts when it acts like another', async () => {
    const modelPath = join(dir, 'live-model.json');
    const r = await runCommand(registerModelCommand, ['model', 'train', '--db', db, '--out', modelPath, '--window', '5m']);
    assert.equal(r.code, 0, r.err);
    const start = T0 + HOURS * 3600e6;
    // two more hours of every machine as usual, then the build box serves files for an hour
    const normal = PROFILES.flatMap((p, i) => machineTraffic(p, p, start, start + 2 * 3600e6, 900 + i))
      .concat(machineTraffic('ws-alice', 'ws-carol', start, start + 3 * 3600e6, 4242));
    const hijack = machineTraffic('file-server', 'build-box', start + 2 * 3600e6, start + 3 * 3600e6, 77)
      .concat(PROFILES.filter((p) => p !== 'build-box').flatMap((p, i) => machineTraffic(p, p, start + 2 * 3600e6, start + 3 * 3600e6, 500 + i)));
    const stranger = machineTraffic('camera', 'not-in-model', start, start + 3 * 3600e6, 5);
    const recs = [...normal, ...hijack, ...stranger].sort((a, b) => a.end - b.end);
    const sig = new SignatureAnalyzer();
    const { alerts } = await runRecords([[sig, { model: modelPath }]], recs, { tickIntervalUs: 60e6 });
    const byAgent = new Map<string, number>();
    for (const a of alerts) byAgent.set(a.agentId, (byAgent.get(a.agentId) ?? 0) + 1);
    console.log(`      (judged ${sig.judged} windows; alerts: ${[...byAgent].map(([a, n]) => `${a} ${n}`).join(', ') || 'none'})`);
    assert.ok((byAgent.get('build-box') ?? 0) >= 1, 'the hijacked machine is reported');
    const first = alerts.find((a) => a.agentId === 'build-box')!;
    assert.ok(first.tsUs >= start + 2 * 3600e6, 'not before it changed');
    assert.ok(first.summary.includes('file-server'), first.summary);
    const falseAlarms = alerts.filter((a) => a.agentId !== 'build-box').length;
    assert.ok(falseAlarms <= 1, `${falseAlarms} alerts on unchanged machines (the twins included)`);
    assert.ok(!byAgent.has('not-in-model'));
    assert.ok(sig.judged >= 6 * 30);
  });

  it('rejects a model file of another feature set', () => {
    assert.throws(() => SignatureModel.fromJson({ format: 'meerkat-signature-model', version: 1, features: ['a'], classes: ['x', 'y'], trees: [{}], windowUs: 1 }),
      /expected the \d+ features of this build/);
  });
});
