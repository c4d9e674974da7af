// The organisation id: a short slug ("acme", "blue-team-2") that names one network owner on a
// shared collector. Three programs depend on its shape: the collector (databases and PKI paths
// under orgs/<org>/), certificates (subject OU=<org> of agents and org CAs) and the console
// (`--org`, API paths /v1/orgs/<org>/...). A slug can therefore never escape a path or a URL
// segment: lower-case letters, digits and inner hyphens only.
import { InputError } from '../errors.js';

export const ORG_ID_RE = /^[a-z][a-z0-9-]{0,31}$/;

/** The organisation a single-owner installation runs as; it needs no set-up step. */
export const DEFAULT_ORG = 'default';

export function isOrgId(s: unknown): s is string {
  return typeof s === 'string' && ORG_ID_RE.test(s) && !s.endsWith('-');
}

export class OrgIdError extends InputError {
  readonly code = 'MEERKAT_ERR_ORG_ID';
  constructor(text: string) {
    super(`organisation id ${JSON.stringify(text.slice(0, 64))}: expected 1-32 characters a-z, 0-9 and inner -, starting with a letter`);
    this.name = 'OrgIdError';
  }
}

/** The id, or OrgIdError. */
export function checkOrgId(s: string): string {
  if (!isOrgId(s)) throw new OrgIdError(String(s));
  return s;
}
