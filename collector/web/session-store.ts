// Web console sessions in collector.db (table sessions). The cookie carries 32 random bytes; the
// table keeps only their SHA-256, so a copy of the database opens no session. A session ends at
// logout, after it was idle too long, at its absolute expiry, or when the user's credentials
// changed after it began (password set, user disabled: UserStore.credentialsChangedAt). The
// CSRF token of a session is derived from its cookie value (HMAC with a per-process-independent
// label), so it needs no column and a page can only learn it from the server (GET /v1/session).
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CollectorDatabase } from '../orgs/collector-db.js';

export interface SessionPolicy {
  /** a session unused this long ends (ms) */
  idleMs: number;
  /** a session ends this long after login whatever its use (ms) */
  absoluteMs: number;
}

export const DEFAULT_SESSION_POLICY: Readonly<SessionPolicy> = Object.freeze({ idleMs: 30 * 60_000, absoluteMs: 12 * 3_600_000 });

/** last_seen is written at most this often per session (a page polls every few seconds) */
const TOUCH_EVERY_MS = 30_000;

export interface NewSession {
  /** the cookie value */
  token: string;
  csrf: string;
  expiresAt: number;
}

export interface LiveSession {
  user: string;
  createdAt: number;
  expiresAt: number;
  csrf: string;
}

interface Row { id_hash: string; user: string; created_at: number; last_seen: number; expires_at: number }

const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The CSRF token of a session: a keyed hash of its cookie value (not the cookie itself: the page may read this one). */
export function csrfTokenFor(token: string): string {
  return createHmac('sha256', 'meerkat console csrf v1').update(token).digest('base64url');
}

/** Whether `given` is the CSRF token of the session `token` (constant time). */
export function csrfMatches(token: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const want = Buffer.from(csrfTokenFor(token));
  const got = Buffer.from(given);
  return got.length === want.length && timingSafeEqual(got, want);
}

export class SessionStore {
  static readonly defaultPolicy = DEFAULT_SESSION_POLICY;

  constructor(
    private readonly db: CollectorDatabase,
    readonly policy: SessionPolicy = DEFAULT_SESSION_POLICY,
    private readonly now: () => number = Date.now,
  ) {}

  create(user: string, client: string): NewSession {
    const token = randomBytes(32).toString('base64url');
    const t = this.now();
    const expiresAt = t + this.policy.absoluteMs;
    this.db.prepare('INSERT INTO sessions (id_hash, user, created_at, last_seen, expires_at, client) VALUES (?, ?, ?, ?, ?, ?)')
      .run(hashOf(token), user, t, t, expiresAt, client.slice(0, 300));
    return { token, csrf: csrfTokenFor(token), expiresAt };
  }

  /**
   * The live session of a cookie value, or null (unknown, idle too long, past its expiry, or
   * begun before `credentialsChangedAt` of its user - the caller passes that in).
   */
  resolve(token: string, credentialsChangedAt: (user: string) => number | null): LiveSession | null {
    if (!TOKEN_RE.test(token)) return null;
    const id = hashOf(token);
    const r = this.db.prepare('SELECT * FROM sessions WHERE id_hash = ?').get(id) as Row | undefined;
    if (!r) return null;
    const t = this.now();
    const changed = credentialsChangedAt(r.user);
    if (t >= r.expires_at || t - r.last_seen >= this.policy.idleMs || changed === null || r.created_at < changed) {
      this.db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(id);
      return null;
    }
    if (t - r.last_seen >= TOUCH_EVERY_MS) this.db.prepare('UPDATE sessions SET last_seen = ? WHERE id_hash = ?').run(t, id);
    return { user: r.user, createdAt: r.created_at, expiresAt: Math.min(r.expires_at, Math.max(t, r.last_seen) + this.policy.idleMs), csrf: csrfTokenFor(token) };
  }

  /** Ends one session (logout); false when there was none. */
  end(token: string): boolean {
    if (!TOKEN_RE.test(token)) return false;
    return this.db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(hashOf(token)).changes > 0;
  }

  /** Ends every session of a user. */
  endUser(user: string): number {
    return this.db.prepare('DELETE FROM sessions WHERE user = ?').run(user).changes;
  }

  /** Removes ended sessions (run now and then). */
  purge(): number {
    const t = this.now();
    return this.db.prepare('DELETE FROM sessions WHERE expires_at <= ? OR last_seen <= ?').run(t, t - this.policy.idleMs).changes;
  }

  count(user?: string): number {
    return user === undefined
      ? (this.db.prepare('SELECT COUNT(*) AS n FROM sessions').get() as { n: number }).n
      : (this.db.prepare('SELECT COUNT(*) AS n FROM sessions WHERE user = ?').get(user) as { n: number }).n;
  }
}
