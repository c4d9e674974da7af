// Beacon score of one (host, destination) pair from its connection times and sizes
// (pure), after RITA's published method:
//   timing:  intervals between connections; Bowley skewness of the intervals (score
//            1 - |skew|), their median absolute deviation around the median (MADM), and a
//            connection-count score (connections / (time span / median interval));
//   size:    Bowley skewness of the bytes per connection, their MADM, and "smallness"
//            (1 - mode / 65535: beacons are small);
//   score = (mean of the three timing scores + mean of the three size scores) / 2.
// Differences from RITA, for robustness:
//   * jitter: RITA scores MADM against a constant 30 s, which punishes a 1-hour beacon
//     with ±5 % jitter and forgives a 10 s beacon with ±100 %. Here MADM is judged
//     against half the median interval (scale-free): random (Poisson) traffic has
//     MADM ~ 0.7 × median and scores 0, a ±20 % jittered beacon ~ 0.1 × median and
//     scores ~0.8. Sizes use max(32 bytes, 5 % of the median).
//   * gaps: an interval close to k times the median (k >= 2, within 20 %) is a missed
//     beacon (host asleep, capture gap) and counts as one interval of interval / k, so
//     gaps do not skew the quartiles; the connection-count score still reflects them.
//   * the analyzer also requires the timing half alone to look regular (minTsScore),
//     since constant-size connections at random times score ~0.77 on size alone.
import { bowleySkewSorted, modeRounded, quantileSorted } from './robust-stats.js';

export interface BeaconScore {
  score: number;
  tsScore: number;
  dsScore: number;
  tsSkewScore: number;
  tsMadmScore: number;
  tsConnCountScore: number;
  dsSkewScore: number;
  dsMadmScore: number;
  dsSmallnessScore: number;
  /** median interval (s) after gap folding */
  intervalSec: number;
  /** median absolute deviation of the intervals (s) */
  intervalMadmSec: number;
  connections: number;
  /** intervals that were folded as gaps */
  gaps: number;
  /** median bytes per connection */
  medianBytes: number;
}

export interface BeaconScoringOptions {
  /** tolerance around a multiple of the median for gap folding (default 0.2) */
  gapTolerance?: number;
  /** MADM scale as a fraction of the median interval (default 0.5) */
  madmScale?: number;
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

function madmSorted(sorted: Float64Array, med: number): number {
  const dev = new Float64Array(sorted.length);
  for (let i = 0; i < sorted.length; i++) dev[i] = Math.abs(sorted[i]! - med);
  dev.sort();
  return quantileSorted(dev, 0.5);
}

/**
 * tsSec: connection times in seconds, ascending (duplicates within 1 s already merged);
 * bytes: bytes per connection, same order. Needs >= 4 connections (else score 0).
 */
export function scoreBeacon(tsSec: ArrayLike<number>, bytes: ArrayLike<number>, n: number, opts: BeaconScoringOptions = {}): BeaconScore {
  const tol = opts.gapTolerance ?? 0.2;
  const scale = opts.madmScale ?? 0.5;
  const zero: BeaconScore = {
    score: 0, tsScore: 0, dsScore: 0, tsSkewScore: 0, tsMadmScore: 0, tsConnCountScore: 0, dsSkewScore: 0, dsMadmScore: 0,
    dsSmallnessScore: 0, intervalSec: 0, intervalMadmSec: 0, connections: n, gaps: 0, medianBytes: 0,
  };
  if (n < 4) return zero;
  const raw = new Float64Array(n - 1);
  for (let i = 1; i < n; i++) raw[i - 1] = tsSec[i]! - tsSec[i - 1]!;
  const sortedRaw = Float64Array.from(raw).sort();
  const med0 = quantileSorted(sortedRaw, 0.5);
  if (!(med0 > 0)) return zero;
  let gaps = 0;
  const folded = new Float64Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const d = raw[i]!;
    const k = Math.round(d / med0);
    if (k >= 2 && Math.abs(d - k * med0) <= tol * k * med0) {
      folded[i] = d / k;
      gaps++;
    } else {
      folded[i] = d;
    }
  }
  folded.sort();
  const med = quantileSorted(folded, 0.5);
  const madm = madmSorted(folded, med);
  const tsSkewScore = 1 - Math.abs(bowleySkewSorted(folded));
  const tsMadmScore = clamp01(1 - madm / (scale * med));
  const span = tsSec[n - 1]! - tsSec[0]!;
  const tsConnCountScore = span > 0 ? clamp01(n / (span / med + 1)) : 0;
  const tsScore = (tsSkewScore + tsMadmScore + tsConnCountScore) / 3;

  const sizes = new Float64Array(n);
  for (let i = 0; i < n; i++) sizes[i] = bytes[i]!;
  sizes.sort();
  const dsMed = quantileSorted(sizes, 0.5);
  const dsMadm = madmSorted(sizes, dsMed);
  const dsSkewScore = 1 - Math.abs(bowleySkewSorted(sizes));
  const dsMadmScore = clamp01(1 - dsMadm / Math.max(32, 0.05 * dsMed));
  const dsSmallnessScore = clamp01(1 - modeRounded(sizes) / 65535);
  const dsScore = (dsSkewScore + dsMadmScore + dsSmallnessScore) / 3;
  return {
    score: (tsScore + dsScore) / 2, tsScore, dsScore, tsSkewScore, tsMadmScore, tsConnCountScore, dsSkewScore, dsMadmScore,
    dsSmallnessScore, intervalSec: med, intervalMadmSec: madm, connections: n, gaps, medianBytes: dsMed,
  };
}
