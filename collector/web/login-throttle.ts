// Login throttling and lockout (pure, in memory): failed password logins are counted per user
// name and per client address over a window. A name with too many failures is locked for a
// while whatever address tries it (guessing one account from many addresses), an address with
// too many failures is refused whatever name it tries (spraying many accounts). Names that do
// not exist are counted the same way, so the answers tell nothing about which users exist. A
// successful login clears its name's count. Memory is bounded: the oldest entries go first.

export interface ThrottlePolicy {
  /** failures of one name within windowMs that lock it */
  maxUserFailures: number;
  /** failures from one address within windowMs that block it */
  maxClientFailures: number;
  windowMs: number;
  /** how long a lock or block lasts */
  lockMs: number;
  /** entries kept at most (per kind) */
  maxEntries: number;
}

export const DEFAULT_THROTTLE_POLICY: Readonly<ThrottlePolicy> = Object.freeze({
  maxUserFailures: 5, maxClientFailures: 20, windowMs: 15 * 60_000, lockMs: 15 * 60_000, maxEntries: 10_000,
});

export type ThrottleVerdict = { ok: true } | { ok: false; reason: 'user-locked' | 'client-blocked'; retryAfterMs: number };

interface Entry { failures: number[]; lockedUntil: number }

class FailureCounter {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly max: number, private readonly p: ThrottlePolicy) {}

  lockedFor(key: string, now: number): number {
    const e = this.entries.get(key);
    return e && e.lockedUntil > now ? e.lockedUntil - now : 0;
  }

  fail(key: string, now: number): void {
    let e = this.entries.get(key);
    if (e) this.entries.delete(key); // re-inserted last: Map order is the eviction order
    e ??= { failures: [], lockedUntil: 0 };
    e.failures = e.failures.filter((t) => now - t < this.p.windowMs);
    e.failures.push(now);
    if (e.failures.length >= this.max) {
      e.lockedUntil = now + this.p.lockMs;
      e.failures = [];
    }
    this.entries.set(key, e);
    while (this.entries.size > this.p.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  clear(key: string): void {
    this.entries.delete(key);
  }
}

export class LoginThrottle {
  static readonly defaultPolicy = DEFAULT_THROTTLE_POLICY;
  private readonly users: FailureCounter;
  private readonly clients: FailureCounter;

  constructor(readonly policy: ThrottlePolicy = DEFAULT_THROTTLE_POLICY, private readonly now: () => number = Date.now) {
    this.users = new FailureCounter(policy.maxUserFailures, policy);
    this.clients = new FailureCounter(policy.maxClientFailures, policy);
  }

  /** Whether a login attempt of `user` from `client` may be checked at all. */
  check(user: string, client: string): ThrottleVerdict {
    const t = this.now();
    const c = this.clients.lockedFor(client, t);
    if (c > 0) return { ok: false, reason: 'client-blocked', retryAfterMs: c };
    const u = this.users.lockedFor(user.toLowerCase(), t);
    if (u > 0) return { ok: false, reason: 'user-locked', retryAfterMs: u };
    return { ok: true };
  }

  failed(user: string, client: string): void {
    const t = this.now();
    this.users.fail(user.toLowerCase(), t);
    this.clients.fail(client, t);
  }

  succeeded(user: string): void {
    this.users.clear(user.toLowerCase());
  }
}
