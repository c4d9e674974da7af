// Small robust statistics for the analyzers (pure): quantiles, median, MAD, Bowley
// skewness, and an exponentially weighted mean/absolute-deviation tracker.

/** Sorts a copy (or the array itself when inPlace) ascending. */
export function sortedCopy(values: ArrayLike<number>, n = values.length): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = values[i]!;
  a.sort();
  return a;
}

/** Quantile q (0..1) of ascending data, linear interpolation between order statistics (numpy's default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number, n = sorted.length): number {
  if (n === 0) return NaN;
  if (n === 1) return sorted[0]!;
  const pos = (n - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  const frac = pos - lo;
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * frac;
}

export function median(values: ArrayLike<number>, n = values.length): number {
  return quantileSorted(sortedCopy(values, n), 0.5);
}

/** Median absolute deviation around the median (unscaled). */
export function mad(values: ArrayLike<number>, n = values.length): number {
  if (n === 0) return NaN;
  const m = median(values, n);
  const dev = new Float64Array(n);
  for (let i = 0; i < n; i++) dev[i] = Math.abs(values[i]! - m);
  dev.sort();
  return quantileSorted(dev, 0.5);
}

/**
 * Bowley (quartile) skewness (Q1 + Q3 - 2·Q2) / (Q3 - Q1) of ascending data, in -1..1;
 * 0 when the quartiles coincide (a perfectly regular series has no skew).
 */
export function bowleySkewSorted(sorted: ArrayLike<number>, n = sorted.length): number {
  if (n < 3) return 0;
  const q1 = quantileSorted(sorted, 0.25, n);
  const q2 = quantileSorted(sorted, 0.5, n);
  const q3 = quantileSorted(sorted, 0.75, n);
  const den = q3 - q1;
  if (den === 0 || q2 === q1 || q2 === q3) return 0;
  return (q1 + q3 - 2 * q2) / den;
}

/** Mode of integer-rounded values (smallest on ties). */
export function modeRounded(values: ArrayLike<number>, n = values.length): number {
  const counts = new Map<number, number>();
  let best = NaN;
  let bestCount = 0;
  for (let i = 0; i < n; i++) {
    const v = Math.round(values[i]!);
    const c = (counts.get(v) ?? 0) + 1;
    counts.set(v, c);
    if (c > bestCount || (c === bestCount && v < best)) { best = v; bestCount = c; }
  }
  return best;
}

/**
 * Exponentially weighted mean and mean absolute deviation: a per-host baseline that
 * follows slow drift and forgets old behaviour with a half-life of about 0.69/alpha samples.
 * The deviation is updated before the mean, against the mean the new sample was judged by.
 */
export class EwmaBaseline {
  mean = 0;
  dev = 0;
  samples = 0;

  constructor(readonly alpha: number) {
    if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`EWMA alpha must be in (0, 1], got ${alpha}`);
  }

  /** How many deviations x lies above the mean (devFloor keeps a flat baseline from dividing by ~0). */
  score(x: number, devFloor: number): number {
    return (x - this.mean) / Math.max(this.dev, devFloor);
  }

  update(x: number): void {
    if (this.samples === 0) {
      this.mean = x;
      this.dev = 0;
    } else {
      this.dev += this.alpha * (Math.abs(x - this.mean) - this.dev);
      this.mean += this.alpha * (x - this.mean);
    }
    this.samples++;
  }

  toJSON(): { mean: number; dev: number; samples: number } {
    return { mean: this.mean, dev: this.dev, samples: this.samples };
  }
}
