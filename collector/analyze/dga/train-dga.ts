// Training and measuring the DGA classifier (docs/analyzers.md "DGA"): the lexicon (n-gram
// counts of dictionary words and benign names, the dictionary, benign TLD counts), the feature
// standardisation, a logistic regression trained with ml-logistic-regression on benign names
// (weighted up to as many as the DGA names) against names of published DGA families, and the
// threshold: the lowest score that keeps the share of benign training names called DGA at or
// under the target false-positive rate. Evaluation counts, on held-out names, the benign ones
// called DGA and each family's names detected.
import LogisticRegression from 'ml-logistic-regression';
import { Matrix } from 'ml-matrix';
import { CompiledLexicon, countNgrams, FEATURE_COUNT, FEATURE_NAMES, nameFeatures, nameParts, SYMBOLS, type Lexicon, type NameParts } from './name-features.js';
import { DGA_MODEL_FORMAT, DgaModel, DgaModelError, type DgaEvaluation, type DgaModelJson } from './dga-model.js';
import { DGA_FAMILIES } from './dga-families.js';

export interface LabelledNames {
  family: string;
  names: string[];
}

export interface TrainDgaOptions {
  benign: readonly string[];
  /** where the benign names came from (recorded in the model) */
  benignSource: string;
  dga: readonly LabelledNames[];
  /** dictionary words (lower-case letters; others are dropped), shipped in the model for the coverage features */
  words: readonly string[];
  /** words whose n-grams the benign language model counts (default: words); only their counts ship */
  ngramWords?: readonly string[];
  /** gradient steps (default 3000) */
  steps?: number;
  /**
   * share of the DGA training names the threshold keeps over it (default 0.95): the threshold
   * is the highest score that still detects that many. (Chosen on the DGA side: a few hundred
   * benign names say little about the benign tail, and a threshold fitted to them overfits.)
   */
  targetRecall?: number;
  /** labels shorter than this are not judged (default 6) */
  minLabel?: number;
}

function parts(names: readonly string[], minLabel: number): NameParts[] {
  const out: NameParts[] = [];
  for (const n of names) {
    const p = nameParts(n);
    if (p !== null && p.label.length >= minLabel) out.push(p);
  }
  return out;
}

export function buildLexicon(benign: readonly NameParts[], words: readonly string[], dga: readonly NameParts[], ngramWords: readonly string[] = words): Lexicon {
  const bigrams = new Array<number>(SYMBOLS * SYMBOLS).fill(0);
  const trigrams: Record<string, number> = {};
  const dgaBigrams = new Array<number>(SYMBOLS * SYMBOLS).fill(0);
  const dgaTrigrams: Record<string, number> = {};
  for (const p of dga) countNgrams(p.label, dgaBigrams, dgaTrigrams);
  const clean = (l: readonly string[]): string[] => [...new Set(l.map((w) => w.toLowerCase()).filter((w) => /^[a-z]{3,14}$/.test(w)))].sort();
  const dict = clean(words);
  for (const w of clean(ngramWords)) countNgrams(w, bigrams, trigrams);
  const tlds: Record<string, number> = {};
  for (const p of benign) {
    countNgrams(p.label, bigrams, trigrams);
    tlds[p.suffix] = (tlds[p.suffix] ?? 0) + 1;
  }
  return { bigrams, trigrams, words: dict, tlds, dgaBigrams, dgaTrigrams };
}

/** A deterministic split of names into training and held-out parts by a hash of each name. */
export function splitNames(names: readonly string[], heldOutShare: number): { train: string[]; test: string[] } {
  const train: string[] = [];
  const test: string[] = [];
  for (const n of names) {
    let h = 2166136261;
    for (let i = 0; i < n.length; i++) h = Math.imul(h ^ n.charCodeAt(i), 16777619);
    ((h >>> 0) % 1000 < heldOutShare * 1000 ? test : train).push(n);
  }
  return { train, test };
}

/** Names of every built-in family, `perCampaign` names of each campaign in `campaigns`. */
export function generateDgaNames(campaigns: readonly number[], perCampaign: number): LabelledNames[] {
  return DGA_FAMILIES.map((f) => ({ family: f.name, names: campaigns.flatMap((c) => f.generate(c, perCampaign)) }));
}

export function trainDgaModel(o: TrainDgaOptions): DgaModel {
  const minLabel = o.minLabel ?? 6;
  const benign = parts(o.benign, minLabel);
  // the DGA n-gram model and the regression see different names (every other one of each
  // family), so the likelihood-ratio features are not judged on the names they were counted from
  const dgaCounted: NameParts[] = [];
  const dga: NameParts[] = [];
  for (const l of o.dga) parts(l.names, minLabel).forEach((p, i) => (i % 2 === 0 ? dgaCounted : dga).push(p));
  if (benign.length < 50) throw new DgaModelError(`only ${benign.length} benign names with a registrable label: give at least 50`);
  if (dga.length < 50) throw new DgaModelError(`only ${dga.length * 2} DGA names with a registrable label: give at least 100`);
  const lexicon = buildLexicon(benign, o.words, dgaCounted, o.ngramWords ?? o.words);
  const lex = new CompiledLexicon(lexicon);
  const raw: Float64Array[] = [];
  const ys: number[] = [];
  // benign rows repeated so both classes weigh the same in the gradient
  const repeat = Math.max(1, Math.round(dga.length / benign.length));
  for (const p of benign) {
    const f = nameFeatures(p, lex);
    for (let r = 0; r < repeat; r++) { raw.push(f); ys.push(0); }
  }
  for (const p of dga) { raw.push(nameFeatures(p, lex)); ys.push(1); }
  const mean = new Array<number>(FEATURE_COUNT).fill(0);
  const std = new Array<number>(FEATURE_COUNT).fill(0);
  for (const x of raw) for (let i = 0; i < FEATURE_COUNT; i++) mean[i]! += x[i]! / raw.length;
  for (const x of raw) for (let i = 0; i < FEATURE_COUNT; i++) std[i]! += (x[i]! - mean[i]!) ** 2 / raw.length;
  for (let i = 0; i < FEATURE_COUNT; i++) std[i] = Math.sqrt(std[i]!) || 1;
  const rows = raw.map((x) => [...Array.from(x, (v, i) => (v - mean[i]!) / std[i]!), 1]);
  const steps = o.steps ?? 3000;
  const learningRate = 2 / rows.length;
  const lr = new LogisticRegression({ numSteps: steps, learningRate });
  lr.train(new Matrix(rows), Matrix.columnVector(ys));
  // classifier 0 separates class 0 (benign) from the rest: its score is "not benign"
  const w = lr.classifiers[0]!.toJSON().weights;
  const weights = (w instanceof Matrix ? w.to1DArray() : (w as number[][]).flat()).map((v) => Number(v));
  const json: DgaModelJson = {
    format: DGA_MODEL_FORMAT,
    createdAt: new Date().toISOString(),
    features: [...FEATURE_NAMES],
    mean: mean.map(round),
    std: std.map(round),
    weights: weights.map(round),
    threshold: 0.5,
    minLabel,
    lexicon,
    training: { benign: benign.length, dga: dga.length + dgaCounted.length, families: o.dga.map((l) => l.family), benignSource: o.benignSource, steps, learningRate },
  };
  const model = new DgaModel(json);
  // the threshold: the highest score that keeps targetRecall of the DGA training names (never under 0.5)
  const scores = dga.map((p) => model.scoreParts(p.label, p.suffix, p.subdomainLabels)).sort((a, b) => b - a);
  const keep = Math.min(scores.length - 1, Math.ceil((o.targetRecall ?? 0.95) * scores.length) - 1);
  json.threshold = Math.floor(Math.min(0.999, Math.max(0.5, scores[keep] ?? 0.5)) * 1e6) / 1e6;
  return model;
}

function round(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

/** Precision and recall on held-out names (a name without a registrable label counts as not detected). */
export function evaluateDgaModel(model: DgaModel, benign: readonly string[], dga: readonly LabelledNames[]): DgaEvaluation {
  let fp = 0;
  for (const n of benign) if (model.score(n)?.dga === true) fp++;
  const families: DgaEvaluation['families'] = {};
  let tp = 0;
  let total = 0;
  for (const l of dga) {
    let hit = 0;
    for (const n of l.names) if (model.score(n)?.dga === true) hit++;
    families[l.family] = { names: l.names.length, detected: hit, recall: l.names.length > 0 ? hit / l.names.length : 0 };
    tp += hit;
    total += l.names.length;
  }
  const recall = total > 0 ? tp / total : 0;
  const fpr = benign.length > 0 ? fp / benign.length : 0;
  return {
    benign: benign.length, falsePositives: fp, falsePositiveRate: fpr,
    precision: tp + fp > 0 ? tp / (tp + fp) : 0,
    recall,
    balancedPrecision: recall + fpr > 0 ? recall / (recall + fpr) : 0,
    families,
  };
}
