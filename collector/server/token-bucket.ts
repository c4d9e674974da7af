// Per-agent byte-rate limit: a token bucket refilled continuously. Pure (time is passed in).

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly ratePerSec: number, private readonly burst: number, nowMs: number) {
    if (!(ratePerSec > 0) || !(burst > 0)) throw new RangeError(`token bucket needs a positive rate and burst, got ${ratePerSec}, ${burst}`);
    this.tokens = burst;
    this.last = nowMs;
  }

  private refill(nowMs: number): void {
    if (nowMs > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.last) * this.ratePerSec) / 1000);
      this.last = nowMs;
    }
  }

  /**
   * Milliseconds to wait before `amount` may pass (0 = now, and the tokens are taken).
   * An amount above the burst passes once the bucket is full, leaving it in debt,
   * so a single large dump is slowed, never refused forever.
   */
  take(amount: number, nowMs: number): number {
    this.refill(nowMs);
    const need = Math.min(amount, this.burst);
    if (this.tokens >= need) {
      this.tokens -= amount;
      return 0;
    }
    return Math.ceil(((need - this.tokens) * 1000) / this.ratePerSec);
  }
}
