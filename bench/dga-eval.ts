// The DGA classifier's precision and recall, for the bench harness and docs/analyzers.md: the
// shipped model on its held-out names, and k-fold cross-validation over the top-sites list
// (each fold's benign names held out once, a model trained on the rest; DGA names of campaigns
// never trained on). Also runnable alone: node dist/bench/dga-eval.js [folds]
import { pathToFileURL } from 'node:url';
import { DgaModel, type DgaEvaluation } from '../collector/analyze/dga/dga-model.js';
import { evaluateDgaModel, trainDgaModel } from '../collector/analyze/dga/train-dga.js';
import { englishWords, topSitesNames, trainingSet } from '../collector/analyze/dga/dga-training-data.js';

export interface DgaEvalResult {
  shipped: DgaEvaluation;
  /** pooled over the folds */
  crossValidated: { folds: number; benign: number; falsePositives: number; recall: number; balancedPrecision: number; families: Record<string, number> };
}

export function benchDgaEval(folds = 5): DgaEvalResult {
  const benign = topSitesNames();
  const set = trainingSet(benign);
  const shipped = evaluateDgaModel(DgaModel.builtin(), set.benignTest, set.dgaTest);
  const words = englishWords();
  let fp = 0, judged = 0, tp = 0, total = 0;
  const fam: Record<string, [number, number]> = {};
  for (let k = 0; k < folds; k++) {
    const test = benign.filter((_, i) => i % folds === k);
    const train = benign.filter((_, i) => i % folds !== k);
    const m = trainDgaModel({ benign: train, benignSource: 'top-sites', dga: set.dgaTrain, words: words.words, ngramWords: words.ngramWords, targetRecall: 0.93 });
    const e = evaluateDgaModel(m, test, set.dgaTest);
    fp += e.falsePositives;
    judged += e.benign;
    for (const [f, v] of Object.entries(e.families)) {
      const a = (fam[f] ??= [0, 0]);
      a[0] += v.detected;
      a[1] += v.names;
      tp += v.detected;
      total += v.names;
    }
  }
  const recall = tp / total;
  const fpr = fp / judged;
  return {
    shipped,
    crossValidated: {
      folds, benign: judged, falsePositives: fp, recall, balancedPrecision: recall / (recall + fpr),
      families: Object.fromEntries(Object.entries(fam).map(([f, [d, n]]) => [f, d / n])),
    },
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = benchDgaEval(Number(process.argv[2] ?? 5));
  const fmt = (f: Record<string, number>): string => Object.entries(f).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ');
  const s = r.shipped;
  process.stdout.write(`shipped model, held out: ${s.benign} benign names, ${s.falsePositives} called DGA; precision ${s.precision.toFixed(4)} ` +
    `(${s.balancedPrecision.toFixed(4)} at equal class sizes), recall ${s.recall.toFixed(4)}: ${fmt(Object.fromEntries(Object.entries(s.families).map(([k, v]) => [k, v.recall])))}\n`);
  const c = r.crossValidated;
  process.stdout.write(`${c.folds}-fold over top-sites: ${c.benign} benign names, ${c.falsePositives} called DGA; recall ${c.recall.toFixed(4)}, ` +
    `precision at equal class sizes ${c.balancedPrecision.toFixed(4)}: ${fmt(c.families)}\n`);
}
