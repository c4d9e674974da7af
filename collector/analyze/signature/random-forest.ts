// A small random forest classifier (pure, deterministic for a given seed): CART trees
// grown on bootstrap samples with Gini impurity, a random subset of features tried at
// each split (sqrt of the feature count by default), class probabilities averaged over
// the trees. Kept over ml-random-forest and a TensorFlow.js feed-forward network by
// measurement (bench/signature-classifiers.ts, docs/dependencies.md): as accurate held out,
// 15-130 times faster to train, no dependency.

/** mulberry32: a tiny seeded PRNG (uniform in [0, 1)). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ForestOptions {
  trees?: number;
  maxDepth?: number;
  minLeaf?: number;
  /** features tried per split (default round(sqrt(features))) */
  mtry?: number;
  seed?: number;
}

/** One tree as flat arrays: feature -1 marks a leaf, whose class probabilities are in probs. */
export interface SerializedTree {
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  probs: Array<number[] | null>;
}

class TreeBuilder {
  readonly tree: SerializedTree = { feature: [], threshold: [], left: [], right: [], probs: [] };
  private readonly counts: Float64Array;
  private readonly leftCounts: Float64Array;

  constructor(
    private readonly X: readonly Float64Array[],
    private readonly y: readonly number[],
    private readonly classes: number,
    private readonly opts: Required<ForestOptions>,
    private readonly rand: () => number,
  ) {
    this.counts = new Float64Array(classes);
    this.leftCounts = new Float64Array(classes);
  }

  private leaf(idx: Int32Array): number {
    const c = new Float64Array(this.classes);
    for (let i = 0; i < idx.length; i++) c[this.y[idx[i]!]!]!++;
    const n = this.tree.feature.length;
    this.tree.feature.push(-1);
    this.tree.threshold.push(0);
    this.tree.left.push(-1);
    this.tree.right.push(-1);
    this.tree.probs.push(Array.from(c, (v) => Math.round((v / idx.length) * 1e4) / 1e4));
    return n;
  }

  build(idx: Int32Array, depth: number): number {
    const n = idx.length;
    const counts = this.counts;
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[this.y[idx[i]!]!]!++;
    let pure = false;
    for (let k = 0; k < this.classes; k++) if (counts[k] === n) pure = true;
    if (pure || depth >= this.opts.maxDepth || n < 2 * this.opts.minLeaf) return this.leaf(idx);
    const parentGini = gini(counts, n);
    const total = Float64Array.from(counts);
    const F = this.X[0]!.length;
    // choose mtry features (partial Fisher-Yates)
    const feats = Array.from({ length: F }, (_, i) => i);
    const m = Math.min(F, this.opts.mtry);
    for (let i = 0; i < m; i++) {
      const j = i + Math.floor(this.rand() * (F - i));
      const t = feats[i]!; feats[i] = feats[j]!; feats[j] = t;
    }
    let bestGain = 1e-12;
    let bestFeature = -1;
    let bestThreshold = 0;
    const order = Array.from(idx);
    for (let fi = 0; fi < m; fi++) {
      const f = feats[fi]!;
      order.sort((a, b) => this.X[a]![f]! - this.X[b]![f]!);
      const lc = this.leftCounts;
      lc.fill(0);
      for (let i = 0; i < n - 1; i++) {
        lc[this.y[order[i]!]!]!++;
        const v = this.X[order[i]!]![f]!;
        const next = this.X[order[i + 1]!]![f]!;
        const nl = i + 1;
        if (v === next || nl < this.opts.minLeaf || n - nl < this.opts.minLeaf) continue;
        let gl = 1;
        let gr = 1;
        const nr = n - nl;
        for (let k = 0; k < this.classes; k++) {
          const pl = lc[k]! / nl;
          const pr = (total[k]! - lc[k]!) / nr;
          gl -= pl * pl;
          gr -= pr * pr;
        }
        const gain = parentGini - (nl / n) * gl - (nr / n) * gr;
        if (gain > bestGain) {
          bestGain = gain;
          bestFeature = f;
          bestThreshold = (v + next) / 2;
        }
      }
    }
    if (bestFeature < 0) return this.leaf(idx);
    let nl = 0;
    for (let i = 0; i < n; i++) if (this.X[idx[i]!]![bestFeature]! <= bestThreshold) nl++;
    const L = new Int32Array(nl);
    const R = new Int32Array(n - nl);
    for (let i = 0, a = 0, b = 0; i < n; i++) {
      const s = idx[i]!;
      if (this.X[s]![bestFeature]! <= bestThreshold) L[a++] = s; else R[b++] = s;
    }
    const node = this.tree.feature.length;
    this.tree.feature.push(bestFeature);
    this.tree.threshold.push(bestThreshold);
    this.tree.left.push(-1);
    this.tree.right.push(-1);
    this.tree.probs.push(null);
    const l = this.build(L, depth + 1);
    const r = this.build(R, depth + 1);
    this.tree.left[node] = l;
    this.tree.right[node] = r;
    return node;
  }
}

function gini(counts: Float64Array, n: number): number {
  let g = 1;
  for (let k = 0; k < counts.length; k++) {
    const p = counts[k]! / n;
    g -= p * p;
  }
  return g;
}

export class RandomForest {
  constructor(readonly classes: number, readonly trees: SerializedTree[]) {}

  static train(X: readonly Float64Array[], y: readonly number[], classes: number, options: ForestOptions = {}): RandomForest {
    if (X.length === 0 || X.length !== y.length) throw new RangeError(`need matching non-empty samples and labels (got ${X.length} / ${y.length})`);
    const F = X[0]!.length;
    const opts: Required<ForestOptions> = {
      trees: options.trees ?? 60,
      maxDepth: options.maxDepth ?? 14,
      minLeaf: options.minLeaf ?? 1,
      mtry: options.mtry ?? Math.max(1, Math.round(Math.sqrt(F))),
      seed: options.seed ?? 1,
    };
    const rand = seededRandom(opts.seed);
    const trees: SerializedTree[] = [];
    const n = X.length;
    for (let t = 0; t < opts.trees; t++) {
      const sample = new Int32Array(n);
      for (let i = 0; i < n; i++) sample[i] = Math.floor(rand() * n);
      const b = new TreeBuilder(X, y, classes, opts, rand);
      b.build(sample, 0);
      trees.push(b.tree);
    }
    return new RandomForest(classes, trees);
  }

  /** Averaged class probabilities for one sample. */
  predictProba(x: ArrayLike<number>, out: Float64Array = new Float64Array(this.classes)): Float64Array {
    out.fill(0);
    for (const t of this.trees) {
      let node = 0;
      while (t.feature[node]! >= 0) node = x[t.feature[node]!]! <= t.threshold[node]! ? t.left[node]! : t.right[node]!;
      const p = t.probs[node]!;
      for (let k = 0; k < this.classes; k++) out[k]! += p[k]!;
    }
    for (let k = 0; k < this.classes; k++) out[k]! /= this.trees.length;
    return out;
  }

  predict(x: ArrayLike<number>): number {
    const p = this.predictProba(x);
    let best = 0;
    for (let k = 1; k < p.length; k++) if (p[k]! > p[best]!) best = k;
    return best;
  }
}
