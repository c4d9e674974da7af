// Where an organisation's CA lives in the collector's PKI directory (<pki>/orgs/<org>/), and
// whether it exists (UnknownOrgError when it must and does not): a file test, kept apart from org-ca.ts so that finding an organisation's
// database (meerkat-collector import --org) does not load the certificate machinery.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../shared/errors.js';
import { checkOrgId } from '../shared/orgs/org-id.js';

export interface OrgCaPaths {
  dir: string;
  caCert: string;
  caKey: string;
  issuanceLog: string;
}

export function orgCaPaths(pkiDir: string, org: string): OrgCaPaths {
  const dir = join(pkiDir, 'orgs', checkOrgId(org));
  return { dir, caCert: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key'), issuanceLog: join(dir, 'issued.jsonl') };
}

export function hasOrgCa(pkiDir: string, org: string): boolean {
  return existsSync(orgCaPaths(pkiDir, org).caCert);
}

export class UnknownOrgError extends InputError {
  readonly code = 'MEERKAT_ERR_UNKNOWN_ORG';
  constructor(org: string) {
    super(`no organisation ${JSON.stringify(org)} on this collector (meerkat-collector org list; org create makes one)`);
    this.name = 'UnknownOrgError';
  }
}
