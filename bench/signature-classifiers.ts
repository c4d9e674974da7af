// The machine-signature classifier against library options, on the same data: windows of
// seven generated machines (test/collector/analyze/machine-profiles.ts: five roles and two
// workstations with identical habits), featurized as the analyzer does, split per agent by
// time (the latest 20 % held out, as `meerkat-collector model train` does). Compared:
//   forest     the built-in random forest (collector/analyze/signature/random-forest.ts)
//   ml-rf      ml-random-forest (mljs), same number of trees and features per split
//   mlp        a small feed-forward network (31-32-n, ReLU, softmax, Adam) in TensorFlow.js
//              (@tensorflow/tfjs-core + tfjs-layers + tfjs-backend-cpu), features standardized
// Held-out accuracy and training time (CPU of this thread) per option and data set. The
// library options are loaded only if installed (they are not dependencies of the project):
//   npm install --no-save ml-random-forest @tensorflow/tfjs-core @tensorflow/tfjs-layers @tensorflow/tfjs-backend-cpu
//   node dist/bench/signature-classifiers.js [--hours=8,40] [--seeds=3] [--skip=ml-rf]
import { pathToFileURL } from 'node:url';
import { AddressScope } from '../collector/analyze/address-scope.js';
import { RandomForest } from '../collector/analyze/signature/random-forest.js';
import { WindowSet } from '../collector/analyze/signature/window-features.js';
import { machineTraffic, PROFILES } from '../test/collector/analyze/machine-profiles.js';
import { T0 } from '../test/collector/analyze/flow-gen.js';

export interface Sample { x: number[]; y: number }
export interface Dataset { name: string; classes: string[]; train: Sample[]; test: Sample[] }
export interface ClassifierResult { option: string; dataset: string; accuracy: number; trainMs: number; predictUs: number }

/** Windows (5 min, at least 5 records) of the seven machines over `hours`, split by time per agent. */
export function signatureDataset(hours: number, seed: number): Dataset {
  const set = new WindowSet(300e6, new AddressScope());
  const end = T0 + hours * 3600e6;
  const recs = PROFILES.flatMap((p, i) => machineTraffic(p, p, T0, end, 100 + i + seed * 1000))
    .concat(machineTraffic('ws-alice', 'ws-carol', T0, end, 999 + seed * 1000));
  for (const r of recs) set.add(r);
  const byAgent = new Map<string, Array<{ idx: number; f: number[] }>>();
  for (const w of set.list(5)) {
    let a = byAgent.get(w.agentId);
    if (a === undefined) byAgent.set(w.agentId, (a = []));
    a.push({ idx: w.windowIndex, f: Array.from(w.features()) });
  }
  const classes = [...byAgent.keys()].sort();
  const train: Sample[] = [];
  const test: Sample[] = [];
  classes.forEach((c, k) => {
    const ws = byAgent.get(c)!.sort((a, b) => a.idx - b.idx);
    const held = Math.max(1, Math.round(ws.length * 0.2));
    for (const w of ws.slice(0, ws.length - held)) train.push({ x: w.f, y: k });
    for (const w of ws.slice(ws.length - held)) test.push({ x: w.f, y: k });
  });
  return { name: `${hours} h, seed ${seed}`, classes, train, test };
}

interface Option {
  name: string;
  /** trains, and returns a predictor of class indices */
  fit(d: Dataset): Promise<(xs: number[][]) => number[]>;
}

const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

const forest: Option = {
  name: 'forest (built-in, 60 trees)',
  async fit(d) {
    const f = RandomForest.train(d.train.map((s) => Float64Array.from(s.x)), d.train.map((s) => s.y), d.classes.length, { trees: 60, seed: 1 });
    return (xs) => xs.map((x) => f.predict(x));
  },
};

async function optional<T>(name: string): Promise<T | null> {
  try {
    return await import(name) as T;
  } catch {
    return null;
  }
}

interface MlRf { RandomForestClassifier: new (o: Record<string, unknown>) => { train(x: number[][], y: number[]): void; predict(x: number[][]): number[] } }

async function mlRandomForest(): Promise<Option | null> {
  const m = await optional<MlRf>('ml-random-forest');
  if (m === null) return null;
  return {
    name: 'ml-random-forest (60 trees)',
    async fit(d) {
      const features = d.train[0]!.x.length;
      const rf = new m.RandomForestClassifier({ nEstimators: 60, seed: 1, maxFeatures: Math.round(Math.sqrt(features)) / features, replacement: true, useSampleBagging: true });
      rf.train(d.train.map((s) => s.x), d.train.map((s) => s.y));
      return (xs) => rf.predict(xs);
    },
  };
}

/* eslint-disable @typescript-eslint/no-explicit-any -- the optional libraries' types are not installed */
async function tfMlp(epochs: number): Promise<Option | null> {
  const tf = await optional<any>('@tensorflow/tfjs-core');
  const layers = await optional<any>('@tensorflow/tfjs-layers');
  if (tf === null || layers === null || (await optional<unknown>('@tensorflow/tfjs-backend-cpu')) === null) return null;
  return {
    name: `MLP 31-32-n (TensorFlow.js, ${epochs} epochs)`,
    async fit(d) {
      await tf.setBackend('cpu');
      const F = d.train[0]!.x.length;
      const mu = new Array<number>(F).fill(0);
      const sd = new Array<number>(F).fill(0);
      for (const s of d.train) s.x.forEach((v, j) => { mu[j]! += v / d.train.length; });
      for (const s of d.train) s.x.forEach((v, j) => { sd[j]! += (v - mu[j]!) ** 2 / d.train.length; });
      const z = (x: number[]): number[] => x.map((v, j) => (v - mu[j]!) / (Math.sqrt(sd[j]!) || 1));
      const model = layers.sequential();
      model.add(layers.layers.dense({ inputShape: [F], units: 32, activation: 'relu', kernelInitializer: layers.initializers.glorotUniform({ seed: 1 }) }));
      model.add(layers.layers.dense({ units: d.classes.length, activation: 'softmax', kernelInitializer: layers.initializers.glorotUniform({ seed: 2 }) }));
      model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
      const X = tf.tensor2d(d.train.map((s) => z(s.x)));
      const Y = tf.oneHot(tf.tensor1d(d.train.map((s) => s.y), 'int32'), d.classes.length);
      await model.fit(X, Y, { epochs, batchSize: 32, shuffle: true, verbose: 0 });
      return (xs) => tf.argMax(model.predict(tf.tensor2d(xs.map(z))), 1).arraySync() as number[];
    },
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

export async function compareClassifiers(opts: { hours?: number[]; seeds?: number; skip?: string[] } = {}): Promise<ClassifierResult[]> {
  const options = [forest, await mlRandomForest(), await tfMlp(100)].filter((o): o is Option => o !== null)
    .filter((o) => !(opts.skip ?? []).some((s) => o.name.toLowerCase().includes(s)));
  const out: ClassifierResult[] = [];
  for (const hours of opts.hours ?? [8]) {
    for (let seed = 0; seed < (opts.seeds ?? 3); seed++) {
      const d = signatureDataset(hours, seed);
      for (const o of options) {
        const c0 = cpuMs();
        const predict = await o.fit(d);
        const c1 = cpuMs();
        const pred = predict(d.test.map((s) => s.x));
        const c2 = cpuMs();
        const correct = d.test.filter((s, i) => pred[i] === s.y).length;
        out.push({ option: o.name, dataset: `${d.name} (${d.train.length} training / ${d.test.length} held-out windows)`, accuracy: correct / d.test.length, trainMs: c1 - c0, predictUs: ((c2 - c1) * 1000) / d.test.length });
        process.stderr.write(`${out.at(-1)!.option.padEnd(36)} ${out.at(-1)!.dataset.padEnd(48)} ${(out.at(-1)!.accuracy * 100).toFixed(1)} %  train ${(out.at(-1)!.trainMs / 1000).toFixed(1)} s CPU\n`);
      }
    }
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (k: string): string | undefined => process.argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
  await compareClassifiers({
    hours: (arg('hours') ?? '8').split(',').map(Number),
    seeds: Number(arg('seeds') ?? 3),
    skip: (arg('skip') ?? '').split(',').filter((s) => s !== ''),
  });
}
