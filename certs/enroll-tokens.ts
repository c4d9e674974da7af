// Enrollment tokens: "mk1.<secret>.<CA fingerprint>". Each belongs to one organisation: the
// token, not the agent, decides the organisation an enrolling agent joins. The collector stores
// only the SHA-256 of the secret, with its organisation, remaining uses, expiry and revocation,
// in the collector-wide database (<stateDir>/collector.db, table enroll_tokens; SQLite, so a
// CLI creating tokens and the collector consuming them never race). The fingerprint part lets
// the agent pin the collector's root CA before it trusts a collector it has never met.
// Tokens of the layout before organisations (<stateDir>/enroll-tokens.sqlite) are taken over
// into the `default` organisation the first time the store is opened. A token is named by its
// id: the first 12 hex characters of the stored hash (safe to show and log).
import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { EnrollTokenError } from './errors.js';
import { InputError } from '../shared/errors.js';
import { B64URL_32, TOKEN_PREFIX, parseEnrollToken } from './enroll-token-format.js';
import { DEFAULT_ORG, checkOrgId } from '../shared/orgs/org-id.js';

export { TOKEN_PREFIX, parseEnrollToken, type ParsedEnrollToken } from './enroll-token-format.js';

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The stored hash of a token's secret (what a token store keys its row by). @throws EnrollTokenError when malformed */
export function enrollTokenHash(token: string): string {
  return hashSecret(parseEnrollToken(token).secret);
}

/** A new token (validated options), and the hash a store keeps of it; the store writes the row. */
export function mintEnrollToken(opts: CreateEnrollTokenOptions, now = Date.now()): EnrollTokenCreated & { hash: string; label: string } {
  const org = checkOrgId(opts.org ?? DEFAULT_ORG);
  if (!Number.isInteger(opts.uses) || opts.uses < 1) throw new RangeError(`token uses must be a positive integer, got ${opts.uses}`);
  if (!(opts.expiresInSec > 0)) throw new RangeError(`token lifetime must be positive, got ${opts.expiresInSec}`);
  if (!B64URL_32.test(opts.caFingerprint)) throw new RangeError('caFingerprint must be a base64url SHA-256 (43 characters)');
  const secret = randomBytes(32).toString('base64url');
  const hash = hashSecret(secret);
  const expiresAt = now + Math.round(opts.expiresInSec * 1000);
  return { token: `${TOKEN_PREFIX}.${secret}.${opts.caFingerprint}`, id: hash.slice(0, 12), hash, org, uses: opts.uses, expiresAt: new Date(expiresAt), label: opts.label ?? '' };
}

/** A token id as an operator gives it (a prefix of at least MIN_TOKEN_ID_PREFIX hex characters), normalised. @throws TokenIdError */
export function checkTokenIdPrefix(id: string): string {
  const t = id.trim().toLowerCase();
  if (!/^[0-9a-f]+$/.test(t) || t.length < MIN_TOKEN_ID_PREFIX || t.length > 64) {
    throw new TokenIdError(`not a token id: ${JSON.stringify(id)} (give at least ${MIN_TOKEN_ID_PREFIX} of its 12 hex characters, as \`meerkat-collector token list\` prints them)`);
  }
  return t;
}

export interface CreateEnrollTokenOptions {
  /** the organisation agents enrolling with it join (default: default) */
  org?: string;
  uses: number;
  expiresInSec: number;
  /** base64url SHA-256 of the collector root CA certificate (what the agent pins) */
  caFingerprint: string;
  label?: string;
}

export interface EnrollTokenCreated {
  token: string;
  /** first 12 hex chars of the stored hash: safe to show and log */
  id: string;
  org: string;
  uses: number;
  expiresAt: Date;
}

export interface EnrollTokenRow {
  id: string;
  org: string;
  usesLeft: number;
  usesTotal: number;
  createdAt: Date;
  expiresAt: Date;
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

/** The collector-wide database file, beside the organisations' own databases. */
export const COLLECTOR_DB_FILE = 'collector.db';
const LEGACY_TOKEN_DB = 'enroll-tokens.sqlite';

/** A stored token as both stores keep it (times in ms since the epoch). */
export interface EnrollTokenDbRow { hash: string; org: string; uses_left: number; uses_total: number; created_at: number; expires_at: number; revoked_at: number | null; label: string }
type Row = EnrollTokenDbRow;

/** What `list` shows of a stored token. */
export function tokenRowOf(r: EnrollTokenDbRow): EnrollTokenRow {
  return {
    id: r.hash.slice(0, 12), org: r.org, usesLeft: r.uses_left, usesTotal: r.uses_total, createdAt: new Date(r.created_at),
    expiresAt: new Date(r.expires_at), revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at), label: r.label,
  };
}

export class EnrollTokenStore {
  private constructor(private readonly db: Database.Database) {}

  /** Opens the token table in <stateDir>/collector.db (created on first use). */
  static open(stateDir: string): EnrollTokenStore {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const db = new Database(join(stateDir, COLLECTOR_DB_FILE));
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 5000');
      db.exec(`CREATE TABLE IF NOT EXISTS enroll_tokens (
        hash TEXT PRIMARY KEY,
        org TEXT NOT NULL,
        uses_left INTEGER NOT NULL,
        uses_total INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        revoked_at INTEGER,
        label TEXT NOT NULL DEFAULT ''
      );
      CREATE INDEX IF NOT EXISTS enroll_tokens_org ON enroll_tokens(org)`);
      importLegacyTokens(db, stateDir);
    } catch (e) {
      db.close();
      throw e;
    }
    return new EnrollTokenStore(db);
  }

  create(opts: CreateEnrollTokenOptions, now = Date.now()): EnrollTokenCreated {
    const { hash, label, ...t } = mintEnrollToken(opts, now);
    this.db.prepare('INSERT INTO enroll_tokens (hash, org, uses_left, uses_total, created_at, expires_at, label) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(hash, t.org, t.uses, t.uses, now, t.expiresAt.getTime(), label);
    return t;
  }

  /** The token's id and organisation if it could be used now, without taking a use; EnrollTokenError otherwise. */
  peek(token: string, now = Date.now()): { id: string; org: string } {
    const hash = enrollTokenHash(token);
    const row = this.db.prepare('SELECT * FROM enroll_tokens WHERE hash = ?').get(hash) as Row | undefined;
    refuseUnusable(row, now);
    return { id: hash.slice(0, 12), org: row!.org };
  }

  /** Takes one use of the token, atomically; throws EnrollTokenError saying why not. Returns its id and organisation. */
  consume(token: string, now = Date.now()): { id: string; org: string } {
    const hash = enrollTokenHash(token);
    const res = this.db.prepare('UPDATE enroll_tokens SET uses_left = uses_left - 1 WHERE hash = ? AND uses_left > 0 AND expires_at > ? AND revoked_at IS NULL').run(hash, now);
    const row = this.db.prepare('SELECT * FROM enroll_tokens WHERE hash = ?').get(hash) as Row | undefined;
    if (res.changes === 1) return { id: hash.slice(0, 12), org: row!.org };
    refuseUnusable(row, now);
    throw new EnrollTokenError('used-up', 'no uses left');
  }

  /** Tokens, oldest first; only the organisation's when `org` is given. */
  list(org?: string): EnrollTokenRow[] {
    const rows = (org === undefined
      ? this.db.prepare('SELECT * FROM enroll_tokens ORDER BY created_at').all()
      : this.db.prepare('SELECT * FROM enroll_tokens WHERE org = ? ORDER BY created_at').all(org)) as Row[];
    return rows.map(tokenRowOf);
  }

  /**
   * Revokes the token whose id is `id` or starts with it (at least MIN_TOKEN_ID_PREFIX hex
   * characters), among the organisation's tokens when `org` is given: no agent enrolls with it
   * from now on (agents already enrolled stay). Revoking a revoked token changes nothing.
   * @throws TokenIdError when the id names none or several
   */
  revoke(id: string, opts: { org?: string; now?: number } = {}): { row: EnrollTokenRow; alreadyRevoked: boolean } {
    const t = checkTokenIdPrefix(id);
    const hits = (opts.org === undefined
      ? this.db.prepare('SELECT hash FROM enroll_tokens WHERE substr(hash, 1, ?) = ?').all(t.length, t)
      : this.db.prepare('SELECT hash FROM enroll_tokens WHERE substr(hash, 1, ?) = ? AND org = ?').all(t.length, t, opts.org)) as Array<{ hash: string }>;
    if (hits.length === 0) throw new TokenIdError(`no token with id ${JSON.stringify(t)}${opts.org === undefined ? '' : ` in organisation ${opts.org}`}`);
    if (hits.length > 1) throw new TokenIdError(`${JSON.stringify(t)} matches ${hits.length} tokens; give more of the id`);
    const hash = hits[0]!.hash;
    const changed = this.db.prepare('UPDATE enroll_tokens SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL').run(opts.now ?? Date.now(), hash).changes;
    const row = this.list().find((r) => r.id === hash.slice(0, 12))!;
    return { row, alreadyRevoked: changed === 0 };
  }

  /** Deletes every token of an organisation (it is being decommissioned); returns how many. */
  deleteOrg(org: string): number {
    return this.db.prepare('DELETE FROM enroll_tokens WHERE org = ?').run(org).changes;
  }

  close(): void {
    this.db.close();
  }
}

/** Throws EnrollTokenError saying why a stored token (or none) cannot be used at `now`. */
export function refuseUnusable(row: EnrollTokenDbRow | undefined, now: number): void {
  if (!row) throw new EnrollTokenError('unknown', 'no such token on this collector');
  if (row.revoked_at !== null) throw new EnrollTokenError('revoked', `revoked at ${new Date(row.revoked_at).toISOString()}`);
  if (row.expires_at <= now) throw new EnrollTokenError('expired', `expired at ${new Date(row.expires_at).toISOString()}`);
  if (row.uses_left <= 0) throw new EnrollTokenError('used-up', 'no uses left');
}

/**
 * Takes over the tokens of the pre-organisation file into the default organisation, then
 * renames the file (so a second open does nothing). INSERT OR IGNORE: a crash between the copy
 * and the rename copies nothing twice.
 */
function importLegacyTokens(db: Database.Database, stateDir: string): void {
  const legacy = join(stateDir, LEGACY_TOKEN_DB);
  if (!existsSync(legacy)) return;
  // read-write: a WAL-mode file may hold rows only in its -wal, which a read-only handle cannot always see
  const old = new Database(legacy, { fileMustExist: true });
  let rows: Array<{ hash: string; uses_left: number; uses_total: number; created_at: number; expires_at: number; revoked_at: number | null; label: string }>;
  try {
    // revocation came late in that layout: a file made before it has no revoked_at column
    const cols = old.prepare('PRAGMA table_info(enroll_tokens)').all() as Array<{ name: string }>;
    const revoked = cols.some((c) => c.name === 'revoked_at') ? 'revoked_at' : 'NULL AS revoked_at';
    rows = old.prepare(`SELECT hash, uses_left, uses_total, created_at, expires_at, ${revoked}, label FROM enroll_tokens`).all() as typeof rows;
  } finally {
    old.close();
  }
  const ins = db.prepare('INSERT OR IGNORE INTO enroll_tokens (hash, org, uses_left, uses_total, created_at, expires_at, revoked_at, label) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  db.transaction(() => { for (const r of rows) ins.run(r.hash, DEFAULT_ORG, r.uses_left, r.uses_total, r.created_at, r.expires_at, r.revoked_at, r.label); })();
  for (const suffix of ['', '-wal', '-shm']) {
    if (existsSync(legacy + suffix)) renameSync(legacy + suffix, `${legacy}.migrated${suffix}`);
  }
}
