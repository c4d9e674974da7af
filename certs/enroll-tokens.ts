// Enrollment tokens: "mk1.<secret>.<CA fingerprint>". The collector stores only the SHA-256
// of the secret, with remaining uses and expiry, in its state dir (SQLite, so the console
// creating tokens and the collector consuming them never race). The fingerprint part lets the
// agent pin the CA before it trusts the collector it has never met.
import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EnrollTokenError } from './errors.js';
import { B64URL_32, TOKEN_PREFIX, parseEnrollToken } from './enroll-token-format.js';

export { TOKEN_PREFIX, parseEnrollToken, type ParsedEnrollToken } from './enroll-token-format.js';

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export interface CreateEnrollTokenOptions {
  uses: number;
  expiresInSec: number;
  /** base64url SHA-256 of the CA certificate (InitPkiResult.caFingerprint) */
  caFingerprint: string;
  label?: string;
}

export interface EnrollTokenCreated {
  token: string;
  /** first 12 hex chars of the stored hash: safe to show and log */
  id: string;
  uses: number;
  expiresAt: Date;
}

export interface EnrollTokenRow {
  id: string;
  usesLeft: number;
  usesTotal: number;
  createdAt: Date;
  expiresAt: Date;
  label: string;
}

const ENROLL_TOKEN_DB = 'enroll-tokens.sqlite';

export class EnrollTokenStore {
  private readonly db: Database.Database;

  private constructor(db: Database.Database) {
    this.db = db;
  }

  static open(stateDir: string): EnrollTokenStore {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const db = new Database(join(stateDir, ENROLL_TOKEN_DB));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.exec(`CREATE TABLE IF NOT EXISTS enroll_tokens (
      hash TEXT PRIMARY KEY,
      uses_left INTEGER NOT NULL,
      uses_total INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      label TEXT NOT NULL DEFAULT ''
    )`);
    return new EnrollTokenStore(db);
  }

  create(opts: CreateEnrollTokenOptions, now = Date.now()): EnrollTokenCreated {
    if (!Number.isInteger(opts.uses) || opts.uses < 1) throw new RangeError(`token uses must be a positive integer, got ${opts.uses}`);
    if (!(opts.expiresInSec > 0)) throw new RangeError(`token lifetime must be positive, got ${opts.expiresInSec}`);
    if (!B64URL_32.test(opts.caFingerprint)) throw new RangeError('caFingerprint must be a base64url SHA-256 (43 characters)');
    const secret = randomBytes(32).toString('base64url');
    const hash = hashSecret(secret);
    const expiresAt = now + Math.round(opts.expiresInSec * 1000);
    this.db.prepare('INSERT INTO enroll_tokens (hash, uses_left, uses_total, created_at, expires_at, label) VALUES (?, ?, ?, ?, ?, ?)')
      .run(hash, opts.uses, opts.uses, now, expiresAt, opts.label ?? '');
    return { token: `${TOKEN_PREFIX}.${secret}.${opts.caFingerprint}`, id: hash.slice(0, 12), uses: opts.uses, expiresAt: new Date(expiresAt) };
  }

  /** Takes one use of the token, atomically; throws EnrollTokenError saying why not. Returns the token id. */
  consume(token: string, now = Date.now()): string {
    const { secret } = parseEnrollToken(token);
    const hash = hashSecret(secret);
    const res = this.db.prepare('UPDATE enroll_tokens SET uses_left = uses_left - 1 WHERE hash = ? AND uses_left > 0 AND expires_at > ?').run(hash, now);
    if (res.changes === 1) return hash.slice(0, 12);
    const row = this.db.prepare('SELECT uses_left, expires_at FROM enroll_tokens WHERE hash = ?').get(hash) as { uses_left: number; expires_at: number } | undefined;
    if (!row) throw new EnrollTokenError('unknown', 'no such token on this collector');
    if (row.expires_at <= now) throw new EnrollTokenError('expired', `expired at ${new Date(row.expires_at).toISOString()}`);
    throw new EnrollTokenError('used-up', 'no uses left');
  }

  list(): EnrollTokenRow[] {
    const rows = this.db.prepare('SELECT hash, uses_left, uses_total, created_at, expires_at, label FROM enroll_tokens ORDER BY created_at').all() as Array<{ hash: string; uses_left: number; uses_total: number; created_at: number; expires_at: number; label: string }>;
    return rows.map((r) => ({ id: r.hash.slice(0, 12), usesLeft: r.uses_left, usesTotal: r.uses_total, createdAt: new Date(r.created_at), expiresAt: new Date(r.expires_at), label: r.label }));
  }

  close(): void {
    this.db.close();
  }
}
