// The DGA classifier: the shipped model meets its targets on held-out names (benign names of
// the top-sites list it never saw, DGA names of campaigns it never saw), what is judged and
// what is not (short labels, internal and reverse names, pseudonym tokens, IDNs), model files
// are checked with named errors (fuzzed), and `meerkat-collector model train dga` trains a
// model that loads and reports its figures.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DgaModel, DgaModelError } from '../../../../collector/analyze/dga/dga-model.js';
import { nameParts } from '../../../../collector/analyze/dga/name-features.js';
import { evaluateDgaModel } from '../../../../collector/analyze/dga/train-dga.js';
import { topSitesNames, trainingSet } from '../../../../collector/analyze/dga/dga-training-data.js';
import { registerModelCommand } from '../../../../collector/commands/model.js';
import { runCommand } from '../../../helpers/cli-run.js';
import { tempDir } from '../harness.js';

describe('DGA classifier', function () {
  this.timeout(120_000);

  it('the shipped model: precision >= 0.99 and recall >= 0.90 on held-out names (six families, top-sites names)', () => {
    const m = DgaModel.builtin();
    const set = trainingSet(topSitesNames());
    const e = evaluateDgaModel(m, set.benignTest, set.dgaTest);
    const line = Object.entries(e.families).map(([f, v]) => `${f} ${v.recall.toFixed(3)}`).join(', ');
    console.log(`      (held out: ${e.benign} benign, ${e.falsePositives} false positives; precision ${e.precision.toFixed(4)}, ` +
      `at equal class sizes ${e.balancedPrecision.toFixed(4)}, recall ${e.recall.toFixed(4)}: ${line})`);
    assert.ok(e.precision >= 0.99, `precision ${e.precision}`);
    assert.ok(e.balancedPrecision >= 0.99, `precision at equal class sizes ${e.balancedPrecision}`);
    assert.ok(e.recall >= 0.9, `recall ${e.recall}`);
    assert.deepEqual(m.json.evaluation, e, 'the model file reports what it measures');
  });

  it('judges registrable labels only', () => {
    const m = DgaModel.builtin();
    assert.deepEqual(nameParts('www.bbc.co.uk'), { label: 'bbc', suffix: 'co.uk', subdomainLabels: 1 });
    assert.deepEqual(nameParts('x.xvzqbimttk.mooo.com'), { label: 'xvzqbimttk', suffix: 'mooo.com', subdomainLabels: 1 });
    assert.deepEqual(nameParts('annubayqwr.bit'), { label: 'annubayqwr', suffix: 'bit', subdomainLabels: 0 });
    for (const n of ['fileserver', 'printer.local', 'host.corp', '4.3.2.10.in-addr.arpa', '192.0.2.1', 'mk--abcdefgh.mk--ijkl', 'xn--mnchen-3ya.de']) {
      assert.equal(m.score(n), null, n);
    }
    assert.equal(m.score('npr.org'), null, 'labels under minLabel are not judged');
    assert.equal(m.score('wikipedia.org')?.dga, false);
    assert.equal(m.score('mtsoexdphaqliva.com')?.dga, true);
  });

  it('model files: a named error for anything but a model; never another exception', () => {
    const good = JSON.stringify(DgaModel.builtin().json);
    assert.throws(() => DgaModel.fromText('{', 'x'), DgaModelError);
    assert.throws(() => DgaModel.fromText(good.replace('"threshold":', '"threshold":2,"x":'), 'x'), /threshold/);
    assert.throws(() => DgaModel.fromText(JSON.stringify({ ...JSON.parse(good), features: ['length'] }), 'x'), /features/);
    fc.assert(fc.property(fc.jsonValue(), (v) => {
      try {
        DgaModel.fromText(JSON.stringify(v), 'fuzz');
        return false;
      } catch (e) {
        return e instanceof DgaModelError;
      }
    }), { numRuns: 300 });
  });

  it('`meerkat-collector model train dga` trains, reports and writes a model that loads', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const benign = join(dir, 'tranco.csv');
      writeFileSync(benign, topSitesNames().map((n, i) => `${i + 1},${n.replace(/^www\./, '')}`).join('\n') + '\n');
      const out = join(dir, 'dga.json');
      const r = await runCommand(registerModelCommand, ['model', 'train', 'dga', '--out', out, '--benign', benign, '--families', 'ramnit,necurs,tinba', '--steps', '300', '--json']);
      assert.equal(r.code, 0, r.err);
      const report = JSON.parse(r.out) as { evaluation: { recall: number; families: Record<string, unknown> } };
      assert.deepEqual(Object.keys(report.evaluation.families), ['ramnit', 'necurs', 'tinba']);
      const m = DgaModel.load(out);
      assert.equal(m.json.training.benignSource, benign);
      assert.ok(m.json.evaluation!.recall > 0.8, JSON.stringify(m.json.evaluation));
      assert.ok(readFileSync(out).length < 400_000);
      const bad = await runCommand(registerModelCommand, ['model', 'train', 'dga', '--out', out, '--families', 'conficker']);
      assert.equal(bad.code, 2);
      assert.match(bad.err, /unknown conficker/);
      const noOut = await runCommand(registerModelCommand, ['model', 'train', 'dga']);
      assert.equal(noOut.code, 2);
    } finally {
      cleanup();
    }
  });
});
