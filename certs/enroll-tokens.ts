// Enrollment tokens: "mk1.<secret>.<CA fingerprint>". The collector stores only the SHA-256
// of the secret, with remaining uses, expiry and revocation, in its state dir (SQLite, so
// `meerkat-collector token` creating or revoking tokens and the running collector consuming
// them never race). The fingerprint part lets the agent pin the CA before it trusts the
// collector it has never met. A token is named by its id: the first 12 hex characters of the
// stored hash (safe to show and log).
import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EnrollTokenError } from './errors.js';
import { InputError } from '../shared/errors.js';
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
  /** when it was revoked, null while it is not */
  revokedAt: Date | null;
  label: string;
}

export type EnrollTokenState = 'active' | 'expired' | 'used-up' | 'revoked';

/** What a token can still do at `now`. */
export function tokenState(r: EnrollTokenRow, now = Date.now()): EnrollTokenState {
  if (r.revokedAt !== null) return 'revoked';
  if (r.expiresAt.getTime() <= now) return 'expired';
  return r.usesLeft === 0 ? 'used-up' : 'active';
}

/** A token id that names no token, or more than one (a prefix). */
export class TokenIdError extends InputError {
  readonly code = 'MEERKAT_ERR_TOKEN_ID';
  constructor(message: string) {
    super(message);
    this.name = 'TokenIdError';
  }
}

/** Shortest token id prefix accepted (ids are 12 hex characters). */
export const MIN_TOKEN_ID_PREFIX = 4;

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
    // revocation came later: a store made before it gets the column
    const cols = db.prepare('PRAGMA table_info(enroll_tokens)').all() as Array<{ name: string }>;
    if (!cols.some((c) => c.name === 'revoked_at')) db.exec('ALTER TABLE enroll_tokens ADD COLUMN revoked_at INTEGER');
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
    const res = this.db.prepare('UPDATE enroll_tokens SET uses_left = uses_left - 1 WHERE hash = ? AND uses_left > 0 AND expires_at > ? AND revoked_at IS NULL').run(hash, now);
    if (res.changes === 1) return hash.slice(0, 12);
    const row = this.db.prepare('SELECT uses_left, expires_at, revoked_at FROM enroll_tokens WHERE hash = ?').get(hash) as { uses_left: number; expires_at: number; revoked_at: number | null } | undefined;
    if (!row) throw new EnrollTokenError('unknown', 'no such token on this collector');
    if (row.revoked_at !== null) throw new EnrollTokenError('revoked', `revoked at ${new Date(row.revoked_at).toISOString()}`);
    if (row.expires_at <= now) throw new EnrollTokenError('expired', `expired at ${new Date(row.expires_at).toISOString()}`);
    throw new EnrollTokenError('used-up', 'no uses left');
  }

  list(): EnrollTokenRow[] {
    const rows = this.db.prepare('SELECT hash, uses_left, uses_total, created_at, expires_at, revoked_at, label FROM enroll_tokens ORDER BY created_at').all() as Array<{ hash: string; uses_left: number; uses_total: number; created_at: number; expires_at: number; revoked_at: number | null; label: string }>;
    return rows.map((r) => ({
      id: r.hash.slice(0, 12), usesLeft: r.uses_left, usesTotal: r.uses_total, createdAt: new Date(r.created_at), expiresAt: new Date(r.expires_at),
      revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at), label: r.label,
    }));
  }

  /**
   * Revokes the token whose id is `id` or starts with it (at least MIN_TOKEN_ID_PREFIX hex
   * characters): no agent enrolls with it from now on (agents already enrolled stay). Revoking
   * a revoked token changes nothing. @throws TokenIdError when the id names none or several.
   */
  revoke(id: string, now = Date.now()): { row: EnrollTokenRow; alreadyRevoked: boolean } {
    const t = id.trim().toLowerCase();
    if (!/^[0-9a-f]+$/.test(t) || t.length < MIN_TOKEN_ID_PREFIX || t.length > 64) {
      throw new TokenIdError(`not a token id: ${JSON.stringify(id)} (give at least ${MIN_TOKEN_ID_PREFIX} of its 12 hex characters, as \`meerkat-collector token list\` prints them)`);
    }
    const hits = this.db.prepare('SELECT hash FROM enroll_tokens WHERE substr(hash, 1, ?) = ?').all(Math.min(t.length, 64), t) as Array<{ hash: string }>;
    if (hits.length === 0) throw new TokenIdError(`no token with id ${JSON.stringify(t)}`);
    if (hits.length > 1) throw new TokenIdError(`${JSON.stringify(t)} matches ${hits.length} tokens; give more of the id`);
    const hash = hits[0]!.hash;
    const changed = this.db.prepare('UPDATE enroll_tokens SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL').run(now, hash).changes;
    const row = this.list().find((r) => r.id === hash.slice(0, 12))!;
    return { row, alreadyRevoked: changed === 0 };
  }

  close(): void {
    this.db.close();
  }
}
