// The collector-wide database, <stateDir>/collector.db: what belongs to the collector rather
// than to one organisation - the organisations themselves, users and their memberships, which
// organisation each agent id was enrolled into, and the collector-level audit (organisations
// created, suspended, deleted; users managed; refused cross-organisation attempts). The
// enrollment tokens live here too (certs/enroll-tokens.ts owns their table). Everything an
// organisation's agents send or its operators do is in that organisation's own database.
// Tables are created and migrated here, with a schema version table of their own.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { COLLECTOR_DB_FILE } from '../../certs/enroll-tokens.js';
import { MeerkatError } from '../../shared/errors.js';

export type CollectorDatabase = Database.Database;

export const COLLECTOR_SCHEMA_VERSION = 2;

const MIGRATIONS: Record<number, string> = {
  1: `
    CREATE TABLE orgs (
      id           TEXT PRIMARY KEY,          -- slug, shared/orgs/org-id.ts
      name         TEXT NOT NULL,             -- display name
      state        TEXT NOT NULL,             -- active | suspended | deleted
      state_reason TEXT NOT NULL DEFAULT '',
      legacy_root  INTEGER NOT NULL DEFAULT 0,-- 1: the pre-organisation root signs its agents (no org CA)
      created_at   INTEGER NOT NULL,
      updated_at   INTEGER NOT NULL
    );
    CREATE TABLE users (
      id                     INTEGER PRIMARY KEY,
      name                   TEXT NOT NULL UNIQUE,
      password_hash          TEXT,             -- NULL: no password login (certificate only)
      disabled               INTEGER NOT NULL DEFAULT 0,
      collector_admin        INTEGER NOT NULL DEFAULT 0,
      created_at             INTEGER NOT NULL,
      updated_at             INTEGER NOT NULL,
      credentials_changed_at INTEGER NOT NULL  -- password set / user disabled: any session older is void
    );
    CREATE TABLE memberships (
      user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      org        TEXT NOT NULL REFERENCES orgs(id),
      role       TEXT NOT NULL,               -- viewer | responder | admin
      granted_at INTEGER NOT NULL,
      PRIMARY KEY (user_id, org)
    );
    CREATE TABLE agent_orgs (
      agent_id    TEXT PRIMARY KEY,           -- ids are assigned by this collector: one organisation each
      org         TEXT NOT NULL,
      enrolled_at INTEGER NOT NULL,
      revoked_at  INTEGER
    );
    CREATE INDEX agent_orgs_org ON agent_orgs(org);
    CREATE TABLE collector_audit (
      seq     INTEGER PRIMARY KEY AUTOINCREMENT,
      at      INTEGER NOT NULL,
      actor   TEXT NOT NULL,                  -- user:NAME | operator:NAME | cli:USER | collector | anonymous | agent:ID
      action  TEXT NOT NULL,
      org     TEXT,
      outcome TEXT NOT NULL,
      detail  TEXT                            -- JSON
    );
    CREATE TABLE collector_meta (
      key   TEXT PRIMARY KEY,
      value TEXT NOT NULL
    );
    INSERT INTO collector_meta (key, value) VALUES ('orgs_version', '0');
  `,
  // web console sessions (collector/web/session-store.ts): only a hash of the cookie is kept
  2: `
    CREATE TABLE sessions (
      id_hash    TEXT PRIMARY KEY,            -- hex SHA-256 of the cookie value
      user       TEXT NOT NULL,
      created_at INTEGER NOT NULL,            -- ms; void when older than the user's credentials_changed_at
      last_seen  INTEGER NOT NULL,            -- ms; idle expiry counts from here
      expires_at INTEGER NOT NULL,            -- ms; absolute expiry
      client     TEXT NOT NULL DEFAULT ''     -- address and user agent at login (shown to the user)
    );
    CREATE INDEX sessions_user ON sessions(user);
  `,
};

export class CollectorSchemaError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_COLLECTOR_SCHEMA';
  constructor(path: string, found: number) {
    super(`${path}: collector tables are at schema version ${found}, newer than this collector understands (${COLLECTOR_SCHEMA_VERSION}); upgrade the collector`);
    this.name = 'CollectorSchemaError';
  }
}

export function collectorDbPath(stateDir: string): string {
  return join(stateDir, COLLECTOR_DB_FILE);
}

/** Opens (creating or migrating) the collector-wide tables. @throws CollectorSchemaError */
export function openCollectorDb(stateDir: string): CollectorDatabase {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = collectorDbPath(stateDir);
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    db.exec('CREATE TABLE IF NOT EXISTS collector_schema_version (version INTEGER NOT NULL)');
    const row = db.prepare('SELECT version FROM collector_schema_version').get() as { version: number } | undefined;
    const have = row?.version ?? 0;
    if (have > COLLECTOR_SCHEMA_VERSION) throw new CollectorSchemaError(path, have);
    if (have < COLLECTOR_SCHEMA_VERSION) {
      db.transaction(() => {
        for (let v = have + 1; v <= COLLECTOR_SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
        db.prepare('DELETE FROM collector_schema_version').run();
        db.prepare('INSERT INTO collector_schema_version (version) VALUES (?)').run(COLLECTOR_SCHEMA_VERSION);
      })();
    }
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

export function getMeta(db: CollectorDatabase, key: string): string | null {
  return (db.prepare('SELECT value FROM collector_meta WHERE key = ?').get(key) as { value: string } | undefined)?.value ?? null;
}

export function setMeta(db: CollectorDatabase, key: string, value: string): void {
  db.prepare('INSERT INTO collector_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
}
