// Per-source budgets (a token bucket per remote address, or per agent id) with bounded memory:
// at most `maxSources` are remembered, the least recently seen is forgotten first, so a flood
// from many addresses costs a fixed amount of memory. Pure (time is passed in).

interface Budget {
  tokens: number;
  lastMs: number;
}

export class SourceLimiter {
  private readonly budgets = new Map<string, Budget>();

  constructor(private readonly ratePerSec: number, private readonly burst: number, private readonly maxSources = 10_000) {
    if (!(ratePerSec > 0) || !(burst >= 1) || !(maxSources >= 1)) {
      throw new RangeError(`source limiter needs rate > 0, burst >= 1, maxSources >= 1; got ${ratePerSec}, ${burst}, ${maxSources}`);
    }
  }

  private budget(source: string, nowMs: number): Budget {
    let b = this.budgets.get(source);
    if (b === undefined) {
      b = { tokens: this.burst, lastMs: nowMs };
      if (this.budgets.size >= this.maxSources) this.budgets.delete(this.budgets.keys().next().value!);
    } else {
      this.budgets.delete(source); // re-inserted below: Map order is least recently seen first
      if (nowMs > b.lastMs) {
        b.tokens = Math.min(this.burst, b.tokens + ((nowMs - b.lastMs) * this.ratePerSec) / 1000);
        b.lastMs = nowMs;
      }
    }
    this.budgets.set(source, b);
    return b;
  }

  /** True while the source has used up its budget (nothing is charged). */
  exhausted(source: string, nowMs: number): boolean {
    return this.budget(source, nowMs).tokens < 1;
  }

  /** Charges one unit; false (and nothing charged) when the budget is used up. */
  take(source: string, nowMs: number): boolean {
    const b = this.budget(source, nowMs);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Seconds until the source has one unit again (0 when it has). */
  retryAfterSec(source: string, nowMs: number): number {
    const b = this.budget(source, nowMs);
    return b.tokens >= 1 ? 0 : Math.ceil((1 - b.tokens) / this.ratePerSec);
  }

  get size(): number {
    return this.budgets.size;
  }
}
