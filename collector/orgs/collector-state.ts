// The collector's state as every sub-command opens it (`run`, `org`, `user`, and `init`): the
// collector-wide database with the organisations, users and the collector audit, after the
// layout of an installation made before organisations has been taken over into the `default`
// organisation (legacy-migration.ts), and with the `default` organisation provisioned on a
// fresh installation once its PKI exists - so a single-owner collector needs no step of its own.
import { existsSync } from 'node:fs';
import { pkiPaths } from '../../certs/pki-dir.js';
import { CollectorAudit } from './collector-audit.js';
import { openCollectorDb, type CollectorDatabase } from './collector-db.js';
import { OrgRegistry } from './org-registry.js';
import { UserStore } from '../users/user-store.js';
import { migrateLegacyLayout, type LegacyLocations, type MigrationReport } from './legacy-migration.js';
import { ensureDefaultOrganisation } from './provision.js';

export interface CollectorState {
  readonly stateDir: string;
  readonly pkiDir: string;
  readonly db: CollectorDatabase;
  readonly orgs: OrgRegistry;
  readonly users: UserStore;
  readonly audit: CollectorAudit;
  /** what the first open of an old installation took over (null otherwise) */
  readonly migrated: MigrationReport | null;
  close(): void;
}

export interface OpenStateOptions {
  stateDir: string;
  pkiDir: string;
  /** where the old layout kept things when the collector config moved them (store.path, dumpDir, responseKeyDir) */
  legacy?: LegacyLocations;
  /** who opens it, for the audit rows of the migration and the default organisation */
  actor?: string;
}

export function openCollectorState(o: OpenStateOptions): CollectorState {
  const db = openCollectorDb(o.stateDir);
  const orgs = new OrgRegistry(db);
  const users = new UserStore(db);
  const audit = new CollectorAudit(db);
  const state: CollectorState = { stateDir: o.stateDir, pkiDir: o.pkiDir, db, orgs, users, audit, migrated: null, close: () => db.close() };
  try {
    const hasPki = existsSync(pkiPaths(o.pkiDir).caKey);
    let migrated: MigrationReport | null = null;
    if (orgs.list({ includeDeleted: true }).length === 0 && hasPki) {
      migrated = migrateLegacyLayout(state, o.legacy ?? {}, o.actor ?? 'collector');
      if (!migrated) ensureDefaultOrganisation(state, o.actor ?? 'collector');
    }
    return { ...state, migrated };
  } catch (e) {
    db.close();
    throw e;
  }
}
