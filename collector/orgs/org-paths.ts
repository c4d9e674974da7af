// Where an organisation's files are: <stateDir>/orgs/<org>/ holds its database (flows, dump
// ledger, alerts, commands, audit, agents, inventory), its raw dumps, its settings (org.json)
// and its response signing key. Deleting an organisation's data is removing this folder.
import { join } from 'node:path';
import { checkOrgId } from '../../shared/orgs/org-id.js';

export interface OrgPaths {
  dir: string;
  db: string;
  dumps: string;
  /** the organisation's settings over the collector's defaults (org-config.ts) */
  config: string;
  responseKey: string;
}

export function orgsDir(stateDir: string): string {
  return join(stateDir, 'orgs');
}

export function orgPaths(stateDir: string, org: string): OrgPaths {
  const dir = join(orgsDir(stateDir), checkOrgId(org));
  return { dir, db: join(dir, 'meerkat.db'), dumps: join(dir, 'dumps'), config: join(dir, 'org.json'), responseKey: join(dir, 'response-key') };
}
