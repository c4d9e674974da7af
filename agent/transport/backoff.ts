// Reconnect delays: exponential growth with "full jitter" (a uniform draw below the
// exponential cap), so thousands of agents that lost the collector at the same moment
// do not all come back at the same moment.

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  /** random source in [0, 1); injectable for tests */
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 500;
    this.maxMs = opts.maxMs ?? 60_000;
    this.random = opts.random ?? Math.random;
    if (!(this.initialMs > 0) || !(this.maxMs >= this.initialMs)) throw new RangeError(`backoff needs 0 < initialMs <= maxMs, got ${this.initialMs}, ${this.maxMs}`);
  }

  /** The cap for the current attempt (grows 2x per failure up to maxMs). */
  ceilingMs(): number {
    return Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
  }

  /** Delay before the next attempt; counts the failure. At least initialMs / 2 so a storm never spins. */
  next(): number {
    const cap = this.ceilingMs();
    this.attempt++;
    const floor = this.initialMs / 2;
    return Math.round(floor + this.random() * (cap - floor));
  }

  reset(): void {
    this.attempt = 0;
  }

  get failures(): number {
    return this.attempt;
  }
}
