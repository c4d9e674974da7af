// The machine-signature model: a random forest that tells agents apart by the
// behavioural features of their time windows. Training splits each agent's windows by
// time (the last `holdoutFraction` are held out, as new behaviour would come after the
// training period) and reports accuracy on the held-out windows; the saved model is
// the one trained on the training part, so the reported accuracy is its own.
import { readFileSync, writeFileSync } from 'node:fs';
import { FEATURE_COUNT, FEATURE_NAMES, type WindowAccumulator } from './window-features.js';
import { RandomForest, type SerializedTree } from './random-forest.js';
import { MeerkatError } from '../../../shared/errors.js';

export const MODEL_FORMAT = 'meerkat-signature-model';

export interface AgentAccuracy {
  windows: number;
  correct: number;
  accuracy: number;
  /** most frequent wrong prediction, if any */
  confusedWith: string | null;
}

export interface EvalReport {
  windows: number;
  correct: number;
  accuracy: number;
  perAgent: Record<string, AgentAccuracy>;
}

export interface SignatureModelJson {
  format: typeof MODEL_FORMAT;
  version: 1;
  windowUs: number;
  minRecords: number;
  features: string[];
  classes: string[];
  trees: SerializedTree[];
  training: {
    windows: number;
    perAgent: Record<string, number>;
    /** agents left out for having too few windows */
    skippedAgents: Record<string, number>;
    firstWindowUs: number;
    lastWindowUs: number;
    trees: number;
    seed: number;
  };
  holdout: EvalReport & { fraction: number };
  createdUs: number;
}

export class ModelFormatError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_MODEL_FORMAT';
  constructor(source: string, expected: string) {
    super(`${source}: not a usable signature model (expected ${expected})`);
    this.name = 'ModelFormatError';
  }
}

export class SignatureModel {
  readonly forest: RandomForest;
  private readonly classIndex: Map<string, number>;

  constructor(readonly json: SignatureModelJson) {
    this.forest = new RandomForest(json.classes.length, json.trees);
    this.classIndex = new Map(json.classes.map((c, i) => [c, i]));
  }

  static fromJson(value: unknown, source = 'model'): SignatureModel {
    const j = value as Partial<SignatureModelJson> | null;
    if (typeof j !== 'object' || j === null || j.format !== MODEL_FORMAT) throw new ModelFormatError(source, `"format": "${MODEL_FORMAT}"`);
    if (j.version !== 1) throw new ModelFormatError(source, 'version 1');
    if (!Array.isArray(j.features) || j.features.length !== FEATURE_COUNT || j.features.some((f, i) => f !== FEATURE_NAMES[i])) {
      throw new ModelFormatError(source, `the ${FEATURE_COUNT} features of this build (retrain with meerkat-collector model train)`);
    }
    if (!Array.isArray(j.classes) || j.classes.length < 2 || !Array.isArray(j.trees) || j.trees.length === 0) {
      throw new ModelFormatError(source, 'at least 2 classes and 1 tree');
    }
    if (typeof j.windowUs !== 'number' || !(j.windowUs > 0)) throw new ModelFormatError(source, 'a positive windowUs');
    return new SignatureModel(j as SignatureModelJson);
  }

  static load(path: string): SignatureModel {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new ModelFormatError(path, `a readable file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new ModelFormatError(path, 'JSON');
    }
    return SignatureModel.fromJson(value, path);
  }

  save(path: string): void {
    writeFileSync(path, JSON.stringify(this.json));
  }

  get classes(): readonly string[] {
    return this.json.classes;
  }

  indexOf(agentId: string): number {
    return this.classIndex.get(agentId) ?? -1;
  }

  /** Class probabilities for one feature vector. */
  predict(features: ArrayLike<number>, out?: Float64Array): Float64Array {
    return this.forest.predictProba(features, out);
  }
}

export interface TrainOptions {
  windowUs: number;
  minRecords?: number;
  holdoutFraction?: number;
  /** agents with fewer windows are left out (default 6) */
  minWindows?: number;
  trees?: number;
  seed?: number;
  nowUs?: number;
}

export class TrainingDataError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_TRAINING_DATA';
  constructor(message: string) {
    super(message);
    this.name = 'TrainingDataError';
  }
}

function argmax(p: Float64Array): number {
  let b = 0;
  for (let k = 1; k < p.length; k++) if (p[k]! > p[b]!) b = k;
  return b;
}

/** Accuracy of a model over windows (windows of agents unknown to the model are skipped). */
export function evaluateModel(model: SignatureModel, windows: readonly WindowAccumulator[]): EvalReport {
  const per: Record<string, AgentAccuracy> = {};
  const wrong = new Map<string, Map<string, number>>();
  let total = 0;
  let correct = 0;
  const probs = new Float64Array(model.classes.length);
  for (const w of windows) {
    const k = model.indexOf(w.agentId);
    if (k < 0) continue;
    const pred = argmax(model.predict(w.features(), probs));
    const a = (per[w.agentId] ??= { windows: 0, correct: 0, accuracy: 0, confusedWith: null });
    a.windows++;
    total++;
    if (pred === k) { a.correct++; correct++; } else {
      let m = wrong.get(w.agentId);
      if (!m) { m = new Map(); wrong.set(w.agentId, m); }
      const name = model.classes[pred]!;
      m.set(name, (m.get(name) ?? 0) + 1);
    }
  }
  for (const [agent, a] of Object.entries(per)) {
    a.accuracy = a.windows > 0 ? a.correct / a.windows : 0;
    const m = wrong.get(agent);
    if (m) a.confusedWith = [...m].sort((x, y) => y[1] - x[1])[0]![0];
  }
  return { windows: total, correct, accuracy: total > 0 ? correct / total : 0, perAgent: per };
}

/** Trains on each agent's earlier windows, evaluates on its later ones. */
export function trainSignatureModel(windows: readonly WindowAccumulator[], opts: TrainOptions): SignatureModel {
  const minWindows = opts.minWindows ?? 6;
  const fraction = opts.holdoutFraction ?? 0.2;
  const byAgent = new Map<string, WindowAccumulator[]>();
  for (const w of windows) {
    let a = byAgent.get(w.agentId);
    if (!a) { a = []; byAgent.set(w.agentId, a); }
    a.push(w);
  }
  const skipped: Record<string, number> = {};
  const classes: string[] = [];
  for (const [agent, ws] of [...byAgent].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
    if (ws.length < minWindows) skipped[agent] = ws.length; else classes.push(agent);
  }
  if (classes.length < 2) {
    throw new TrainingDataError(`need at least 2 agents with ${minWindows}+ windows of ${opts.windowUs / 1e6} s, ` +
      `found ${classes.length} (${[...byAgent].map(([a, w]) => `${a}: ${w.length}`).join(', ') || 'no windows'})`);
  }
  const X: Float64Array[] = [];
  const y: number[] = [];
  const held: WindowAccumulator[] = [];
  const perAgent: Record<string, number> = {};
  let first = Infinity;
  let last = -Infinity;
  classes.forEach((agent, k) => {
    const ws = byAgent.get(agent)!.slice().sort((a, b) => a.windowIndex - b.windowIndex);
    const nHeld = Math.max(1, Math.round(ws.length * fraction));
    const train = ws.slice(0, ws.length - nHeld);
    held.push(...ws.slice(ws.length - nHeld));
    perAgent[agent] = train.length;
    for (const w of train) {
      X.push(w.features());
      y.push(k);
      first = Math.min(first, w.windowIndex * opts.windowUs);
      last = Math.max(last, w.windowIndex * opts.windowUs);
    }
  });
  const trees = opts.trees ?? 60;
  const seed = opts.seed ?? 1;
  const forest = RandomForest.train(X, y, classes.length, { trees, seed });
  const json: SignatureModelJson = {
    format: MODEL_FORMAT, version: 1, windowUs: opts.windowUs, minRecords: opts.minRecords ?? 1,
    features: [...FEATURE_NAMES], classes, trees: forest.trees,
    training: { windows: X.length, perAgent, skippedAgents: skipped, firstWindowUs: first, lastWindowUs: last, trees, seed },
    holdout: { fraction, windows: 0, correct: 0, accuracy: 0, perAgent: {} },
    createdUs: opts.nowUs ?? Date.now() * 1000,
  };
  const model = new SignatureModel(json);
  json.holdout = { fraction, ...evaluateModel(model, held) };
  return model;
}
