// The collector's control tables, in its own database file (<stateDir>/meerkat.db, beside the
// flow store's tables, through a connection of its own): the command queue, the audit log, the
// last heartbeat per agent, the last inventory per agent, and the automatic responses issued
// (their rate limits survive a restart). Every table is prefixed
// `control_`, with a schema version table of their own, so the flow store's migrations and
// ours never touch each other's tables.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { MeerkatError } from '../../shared/errors.js';

export type ControlDatabase = Database.Database;

export const CONTROL_SCHEMA_VERSION = 2;

const MIGRATIONS: Record<number, string> = {
  1: `
    CREATE TABLE control_commands (
      id           TEXT PRIMARY KEY,      -- delivery id, assigned by the collector
      agent_id     TEXT NOT NULL,
      kind         TEXT NOT NULL,
      nonce        TEXT NOT NULL,
      envelope     TEXT NOT NULL,         -- the signed envelope exactly as submitted
      submitted_by TEXT NOT NULL,         -- authenticated operator (client certificate CN)
      state        TEXT NOT NULL,         -- queued | delivered | done | failed | expired | refused
      created_at   INTEGER NOT NULL,      -- ms since the epoch
      expires_at   INTEGER NOT NULL,
      delivered_at INTEGER,
      deliveries   INTEGER NOT NULL DEFAULT 0,
      finished_at  INTEGER,
      result       TEXT,                  -- the agent's outcome (JSON)
      error        TEXT
    );
    CREATE INDEX control_commands_pending ON control_commands(agent_id, state);
    CREATE INDEX control_commands_nonce ON control_commands(nonce);
    CREATE TABLE control_audit (
      seq        INTEGER PRIMARY KEY AUTOINCREMENT,
      at         INTEGER NOT NULL,
      actor      TEXT NOT NULL,           -- operator:NAME | agent:ID | collector | anonymous
      action     TEXT NOT NULL,
      agent_id   TEXT,
      command_id TEXT,
      outcome    TEXT NOT NULL,
      detail     TEXT                     -- JSON
    );
    CREATE INDEX control_audit_command ON control_audit(command_id);
    CREATE TABLE control_agents (
      agent_id    TEXT PRIMARY KEY,
      first_seen  INTEGER NOT NULL,
      last_seen   INTEGER NOT NULL,
      health      TEXT                    -- last heartbeat health (JSON)
    );
    CREATE TABLE control_inventory (
      agent_id   TEXT PRIMARY KEY,
      at         INTEGER NOT NULL,
      command_id TEXT NOT NULL,
      report     TEXT NOT NULL            -- plain half + sealed half (ciphertext), JSON
    );
  `,
  2: `
    CREATE TABLE control_response_issues (
      id                INTEGER PRIMARY KEY,
      rule_key          TEXT NOT NULL,    -- fingerprint of the "responses" rule (ResponseLimiter.ruleKey)
      agent_id          TEXT NOT NULL,
      active_key        TEXT NOT NULL,    -- agent|command|peer: one command in force per key
      issued_ms         INTEGER NOT NULL,
      in_force_until_ms INTEGER NOT NULL
    );
    CREATE INDEX control_response_issues_time ON control_response_issues(issued_ms);
  `,
};

export class ControlSchemaError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_CONTROL_SCHEMA';
  constructor(path: string, found: number) {
    super(`${path}: control tables are at schema version ${found}, newer than this collector understands (${CONTROL_SCHEMA_VERSION}); upgrade the collector`);
    this.name = 'ControlSchemaError';
  }
}

/** Opens (creating or migrating) the control tables in `path`. @throws ControlSchemaError */
export function openControlDb(path: string): ControlDatabase {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.exec('CREATE TABLE IF NOT EXISTS control_schema_version (version INTEGER NOT NULL)');
    const row = db.prepare('SELECT version FROM control_schema_version').get() as { version: number } | undefined;
    const have = row?.version ?? 0;
    if (have > CONTROL_SCHEMA_VERSION) throw new ControlSchemaError(path, have);
    const migrate = db.transaction(() => {
      for (let v = have + 1; v <= CONTROL_SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
      db.prepare('DELETE FROM control_schema_version').run();
      db.prepare('INSERT INTO control_schema_version (version) VALUES (?)').run(CONTROL_SCHEMA_VERSION);
    });
    if (have < CONTROL_SCHEMA_VERSION) migrate();
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}
