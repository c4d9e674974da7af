// Enrollment tokens of this collector, as the host-local commands make, list and revoke them:
// the token store in the state directory, the CA fingerprint every token carries from the PKI
// directory. `meerkat-collector init` and `meerkat-collector token` both call these, so the
// logic is not inside a command action. Every token belongs to one organisation (`org`, default
// `default`): the agents enrolling with it join that organisation.
import { EnrollTokenStore, tokenState, type EnrollTokenRow, type EnrollTokenState } from '../../certs/enroll-tokens.js';
import { certFingerprintB64, certFingerprintHex } from '../../certs/fingerprint.js';
import { readCaCert } from '../../certs/pki-dir.js';
import { hasOrgCa, UnknownOrgError } from '../../certs/org-ca-paths.js';
import { DEFAULT_ORG, checkOrgId } from '../../shared/orgs/org-id.js';

export interface TokenDirs {
  stateDir: string;
  pkiDir: string;
}

export interface TokenRequest {
  /** the organisation agents enrolling with it join (default: default) */
  org?: string;
  uses: number;
  expiresInSec: number;
  label?: string;
}

export interface IssuedToken {
  token: string;
  id: string;
  org: string;
  uses: number;
  expiresAt: string;
  label: string;
  caFingerprintSha256: string;
}

export interface TokenView {
  id: string;
  org: string;
  state: EnrollTokenState;
  usesLeft: number;
  usesTotal: number;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  label: string;
}

/** A token row as the commands and the API show it. */
export function tokenView(r: EnrollTokenRow, now: number): TokenView {
  return {
    id: r.id, org: r.org, state: tokenState(r, now), usesLeft: r.usesLeft, usesTotal: r.usesTotal, createdAt: r.createdAt.toISOString(),
    expiresAt: r.expiresAt.toISOString(), revokedAt: r.revokedAt?.toISOString() ?? null, label: r.label,
  };
}

function withStore<T>(dirs: TokenDirs, fn: (s: EnrollTokenStore) => T): T {
  const store = EnrollTokenStore.open(dirs.stateDir);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

/** An organisation this collector does not have. */
export { UnknownOrgError } from '../../certs/org-ca-paths.js';

/** A new token of an organisation. @throws KeyFileError when there is no CA yet, UnknownOrgError */
export function issueEnrollToken(dirs: TokenDirs, req: TokenRequest): IssuedToken {
  const org = checkOrgId(req.org ?? DEFAULT_ORG);
  const caPem = readCaCert(dirs.pkiDir);
  // an organisation has a CA of its own (the default one of an installation made before organisations: the root)
  if (org !== DEFAULT_ORG && !hasOrgCa(dirs.pkiDir, org)) throw new UnknownOrgError(org);
  return withStore(dirs, (s) => {
    const t = s.create({ org, uses: req.uses, expiresInSec: req.expiresInSec, caFingerprint: certFingerprintB64(caPem), label: req.label ?? '' });
    return { token: t.token, id: t.id, org: t.org, uses: t.uses, expiresAt: t.expiresAt.toISOString(), label: req.label ?? '', caFingerprintSha256: certFingerprintHex(caPem) };
  });
}

/** Tokens, oldest first; only the organisation's when `org` is given. */
export function listEnrollTokens(dirs: TokenDirs, org?: string, now = Date.now()): TokenView[] {
  return withStore(dirs, (s) => s.list(org).map((r) => tokenView(r, now)));
}

/** @throws TokenIdError when the id names no token or several */
export function revokeEnrollToken(dirs: TokenDirs, id: string, org?: string, now = Date.now()): { token: TokenView; alreadyRevoked: boolean } {
  return withStore(dirs, (s) => {
    const r = s.revoke(id, { ...(org === undefined ? {} : { org }), now });
    return { token: tokenView(r.row, now), alreadyRevoked: r.alreadyRevoked };
  });
}
