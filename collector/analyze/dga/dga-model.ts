// The DGA classifier's model file (JSON): the lexicon the features read (n-gram counts of
// benign names and dictionary words, the words, the benign TLD counts), the standardisation
// of each feature, the logistic-regression weights trained by ml-logistic-regression
// (train-dga.ts) and the score threshold. The default model ships with the package
// (dga-model.json beside this module); `meerkat-collector model train dga` writes another.
// Scoring is a dot product and a sigmoid: no library at run time.
import { readFileSync, writeFileSync } from 'node:fs';
// the shipped model travels as a module, so every build and package that has the code has it
import shippedModel from './dga-model.json' with { type: 'json' };
import { MeerkatError } from '../../../shared/errors.js';
import { CompiledLexicon, FEATURE_COUNT, FEATURE_NAMES, nameFeatures, nameParts, SYMBOLS, type Lexicon } from './name-features.js';

export const DGA_MODEL_FORMAT = 'meerkat-dga-model-1';

export interface FamilyMetrics {
  /** held-out names of the family */
  names: number;
  detected: number;
  recall: number;
}

export interface DgaEvaluation {
  /** benign held-out names, and how many were called DGA */
  benign: number;
  falsePositives: number;
  falsePositiveRate: number;
  /** over all held-out names as they are (family sizes as listed) */
  precision: number;
  recall: number;
  /** precision if benign and DGA names were equally many (prevalence-free) */
  balancedPrecision: number;
  families: Record<string, FamilyMetrics>;
}

export interface DgaModelJson {
  format: typeof DGA_MODEL_FORMAT;
  createdAt: string;
  features: readonly string[];
  mean: number[];
  std: number[];
  /** one weight per feature, then the bias */
  weights: number[];
  /** a name scoring at or above this is DGA-like */
  threshold: number;
  /** labels shorter than this are not judged (acronyms and short brands are as random as a DGA name) */
  minLabel: number;
  lexicon: Lexicon;
  training: { benign: number; dga: number; families: string[]; benignSource: string; steps: number; learningRate: number };
  evaluation?: DgaEvaluation;
}

export class DgaModelError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_DGA_MODEL';
  constructor(message: string) {
    super(message);
    this.name = 'DgaModelError';
  }
}

function isNumbers(v: unknown, n: number): v is number[] {
  return Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'number' && Number.isFinite(x));
}

/** The checked model (names of every problem in the message). */
export function checkDgaModel(v: unknown): DgaModelJson {
  const m = v as Partial<DgaModelJson> | null;
  if (typeof m !== 'object' || m === null) throw new DgaModelError('DGA model: not a JSON object');
  if (m.format !== DGA_MODEL_FORMAT) throw new DgaModelError(`DGA model: format ${JSON.stringify(m.format)}, expected ${DGA_MODEL_FORMAT}`);
  if (!Array.isArray(m.features) || m.features.join(',') !== FEATURE_NAMES.join(',')) {
    throw new DgaModelError(`DGA model: features ${JSON.stringify(m.features)} are not the ones this build computes (${FEATURE_NAMES.join(', ')})`);
  }
  if (!isNumbers(m.mean, FEATURE_COUNT) || !isNumbers(m.std, FEATURE_COUNT) || !isNumbers(m.weights, FEATURE_COUNT + 1)) {
    throw new DgaModelError(`DGA model: mean, std need ${FEATURE_COUNT} finite numbers and weights ${FEATURE_COUNT + 1}`);
  }
  if (m.std.some((s) => !(s > 0))) throw new DgaModelError('DGA model: every std must be > 0');
  if (typeof m.threshold !== 'number' || !(m.threshold > 0 && m.threshold < 1)) throw new DgaModelError('DGA model: threshold must be between 0 and 1');
  if (!Number.isInteger(m.minLabel) || m.minLabel! < 1 || m.minLabel! > 63) throw new DgaModelError('DGA model: minLabel must be a whole number 1..63');
  const lex = m.lexicon;
  if (typeof lex !== 'object' || lex === null || !isNumbers(lex.bigrams, SYMBOLS * SYMBOLS) || typeof lex.trigrams !== 'object' ||
    !isNumbers(lex.dgaBigrams, SYMBOLS * SYMBOLS) || typeof lex.dgaTrigrams !== 'object' ||
    !Array.isArray(lex.words) || typeof lex.tlds !== 'object') {
    throw new DgaModelError('DGA model: lexicon needs bigrams, trigrams, words and tlds');
  }
  return m as DgaModelJson;
}

export interface DgaScore {
  /** the registrable label judged */
  label: string;
  suffix: string;
  /** 0..1: how DGA-like */
  score: number;
  dga: boolean;
}

export class DgaModel {
  private readonly lex: CompiledLexicon;
  private readonly x = new Float64Array(FEATURE_COUNT);

  constructor(readonly json: DgaModelJson) {
    this.lex = new CompiledLexicon(json.lexicon);
  }

  static fromText(text: string, source: string): DgaModel {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw new DgaModelError(`DGA model ${source} is not JSON: ${(e as Error).message}`);
    }
    try {
      return new DgaModel(checkDgaModel(v));
    } catch (e) {
      throw new DgaModelError(`${source}: ${(e as Error).message}`);
    }
  }

  static load(path: string): DgaModel {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new DgaModelError(`cannot read DGA model ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return DgaModel.fromText(text, path);
  }

  /** The model shipped with the package (dga-model.json beside this module, made by `model train dga`). */
  static builtin(): DgaModel {
    builtin ??= new DgaModel(checkDgaModel(shippedModel as unknown));
    return builtin;
  }

  save(path: string): void {
    writeFileSync(path, JSON.stringify(this.json) + '\n');
  }

  get threshold(): number {
    return this.json.threshold;
  }

  /** The score of parts already split. */
  scoreParts(label: string, suffix: string, subdomainLabels: number): number {
    const j = this.json;
    const x = nameFeatures({ label, suffix, subdomainLabels }, this.lex, this.x);
    let z = j.weights[FEATURE_COUNT]!;
    for (let i = 0; i < FEATURE_COUNT; i++) z += j.weights[i]! * ((x[i]! - j.mean[i]!) / j.std[i]!);
    return 1 / (1 + Math.exp(-z));
  }

  /** How DGA-like a name is, or null when it has no registrable label to judge (see nameParts) or a label under minLabel. */
  score(name: string): DgaScore | null {
    const p = nameParts(name);
    if (p === null || p.label.length < this.json.minLabel) return null;
    const score = this.scoreParts(p.label, p.suffix, p.subdomainLabels);
    return { label: p.label, suffix: p.suffix, score, dga: score >= this.json.threshold };
  }
}

let builtin: DgaModel | undefined;
