// Back-pressure on upload bytes: per connection and across all of them. A connection over
// its own limit, or arriving while the total is over the global one, is paused (its TCP
// window closes, the agent waits); it resumes once its own bytes fall under half its
// limit and the total is under half the global limit.

export interface Pausable {
  pause(): void;
  resume(): void;
  /** bytes this connection has in flight */
  inflight: number;
}

export class InflightGate {
  private total = 0;
  private readonly paused = new Set<Pausable>();

  constructor(private readonly perConnection: number, private readonly global: number) {}

  get bytes(): number {
    return this.total;
  }

  add(c: Pausable, n: number): void {
    c.inflight += n;
    this.total += n;
    if (!this.paused.has(c) && (c.inflight > this.perConnection || this.total > this.global)) {
      this.paused.add(c);
      c.pause();
    }
  }

  release(c: Pausable, n: number): void {
    c.inflight -= n;
    this.total -= n;
    if (this.paused.size === 0 || this.total > this.global / 2) return;
    for (const p of this.paused) {
      if (p.inflight <= this.perConnection / 2) {
        this.paused.delete(p);
        p.resume();
      }
    }
  }

  /** A connection went away: forget it (its bytes are released by its own pending work). */
  forget(c: Pausable): void {
    this.paused.delete(c);
  }
}
