// Taking an installation made before organisations into the `default` organisation, the first
// time the new collector (or one of its sub-commands) opens the state dir:
//   <stateDir>/meerkat.db      -> <stateDir>/orgs/default/meerkat.db   (WAL checkpointed first)
//   <stateDir>/dumps/          -> <stateDir>/orgs/default/dumps/       (and the dump rows' paths)
//   <stateDir>/response-key/   -> <stateDir>/orgs/default/response-key/
//   enroll-tokens.sqlite       -> collector.db, organisation default   (certs/enroll-tokens.ts)
//   <pki>/issued.jsonl agents  -> agent_orgs, organisation default (revoked ones marked)
//   <pki>/operators.jsonl      -> users with the admin role in default (today every operator
//                                 may do everything; a revoked operator gets no user)
// Renames within one file system, each done only when its source is there and its target is
// not, so a crash part-way is finished by the next start; the organisation row is written last
// (the commit point) and the whole take-over is in the collector audit. The pathlen-0 root keeps
// signing the default organisation's agents (legacy_root), so no agent enrolls again. Where the
// collector config had moved the database (store.path), the dumps (dumpDir) or the response key
// (responseKeyDir), they stay where they are and go on being used for the default organisation.
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { caPathLen, loadCa } from '../../certs/certificate-authority.js';
import { listOperators, OPERATOR_REVOCATION_PREFIX } from '../../certs/operator-certs.js';
import { listIssued, loadRevocations, pkiPaths } from '../../certs/pki-dir.js';
import { DEFAULT_ORG } from '../../shared/orgs/org-id.js';
import type { CollectorState } from './collector-state.js';
import { orgPaths } from './org-paths.js';

/** Paths the old collector config pointed elsewhere (they are then left in place). */
export interface LegacyLocations {
  storePath?: string;
  dumpDir?: string;
  responseKeyDir?: string;
}

export interface MigrationReport {
  database: boolean;
  dumps: boolean;
  dumpRowsRepointed: number;
  responseKey: boolean;
  agents: number;
  users: string[];
  legacyRoot: boolean;
}

function legacyData(stateDir: string, pkiDir: string): boolean {
  return existsSync(join(stateDir, 'meerkat.db')) || existsSync(join(stateDir, 'dumps')) || listIssued(pkiDir).length > 0
    || existsSync(join(stateDir, 'enroll-tokens.sqlite')) || existsSync(join(stateDir, 'response-key'));
}

function moveIfThere(from: string, to: string): boolean {
  if (!existsSync(from) || existsSync(to)) return false;
  renameSync(from, to);
  return true;
}

/** Moves a SQLite database with its WAL folded in (a rename of the main file alone would lose the WAL's pages). */
function moveDatabase(from: string, to: string): boolean {
  if (!existsSync(from) || existsSync(to)) return false;
  const db = new Database(from);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  for (const suffix of ['-wal', '-shm']) if (existsSync(from + suffix)) renameSync(from + suffix, to + suffix);
  renameSync(from, to);
  return true;
}

/** Dump rows keep absolute paths: point those under the old dumps folder at the new one. */
function repointDumps(dbPath: string, oldDir: string, newDir: string): number {
  if (!existsSync(dbPath)) return 0;
  const db = new Database(dbPath);
  try {
    const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dumps'").get();
    if (!has) return 0;
    const prefix = resolve(oldDir) + '/';
    return db.prepare('UPDATE dumps SET raw_path = ? || substr(raw_path, ?) WHERE substr(raw_path, 1, ?) = ?')
      .run(resolve(newDir) + '/', prefix.length + 1, prefix.length, prefix).changes;
  } finally {
    db.close();
  }
}

/** Null when there is nothing of an old installation to take over. */
export function migrateLegacyLayout(s: CollectorState, legacy: LegacyLocations, actor: string): MigrationReport | null {
  if (s.orgs.get(DEFAULT_ORG) || !legacyData(s.stateDir, s.pkiDir)) return null;
  const to = orgPaths(s.stateDir, DEFAULT_ORG);
  mkdirSync(to.dir, { recursive: true, mode: 0o700 });
  const oldDb = join(s.stateDir, 'meerkat.db');
  const oldDumps = join(s.stateDir, 'dumps');
  const database = legacy.storePath === undefined && moveDatabase(oldDb, to.db);
  const dumps = legacy.dumpDir === undefined && moveIfThere(oldDumps, to.dumps);
  const dumpRowsRepointed = legacy.dumpDir === undefined ? repointDumps(legacy.storePath ?? to.db, oldDumps, to.dumps) : 0;
  const responseKey = legacy.responseKeyDir === undefined && moveIfThere(join(s.stateDir, 'response-key'), to.responseKey);
  const rootPem = loadCa(pkiPaths(s.pkiDir).caCert, pkiPaths(s.pkiDir).caKey);
  const legacyRoot = (caPathLen(rootPem) ?? 1) === 0;
  const rev = loadRevocations(s.pkiDir);
  const issued = listIssued(s.pkiDir);
  const agents = s.orgs.importAgents([...new Set(issued.map((r) => r.agentId))], DEFAULT_ORG);
  for (const r of issued) if (rev.isAgentRevoked(r.agentId)) s.orgs.markAgentRevoked(r.agentId);
  // every operator could do everything before roles: each keeps that as admin of the default organisation
  const users: string[] = [];
  s.db.transaction(() => {
    s.orgs.create({ id: DEFAULT_ORG, name: 'Default organisation', legacyRoot });
    for (const name of new Set(listOperators(s.pkiDir).map((o) => o.name))) {
      if (rev.isAgentRevoked(OPERATOR_REVOCATION_PREFIX + name) || s.users.get(name)) continue;
      s.users.addCertificateUser(name);
      s.users.grant(name, DEFAULT_ORG, 'admin');
      users.push(name);
    }
  })();
  const report: MigrationReport = { database, dumps, dumpRowsRepointed, responseKey, agents, users, legacyRoot };
  s.audit.record({ actor, action: 'org.migrate-legacy', org: DEFAULT_ORG, outcome: 'ok', detail: report });
  return report;
}
