// Enrollment tokens of this collector, as the host-local commands make, list and revoke them:
// the token store in the state directory, the CA fingerprint every token carries from the PKI
// directory. `meerkat-collector init` and `meerkat-collector token` both call these, so the
// logic is not inside a command action (organisations will pass their own dirs).
import { EnrollTokenStore, tokenState, type EnrollTokenRow, type EnrollTokenState } from '../../certs/enroll-tokens.js';
import { certFingerprintB64, certFingerprintHex } from '../../certs/fingerprint.js';
import { readCaCert } from '../../certs/pki-dir.js';

export interface TokenDirs {
  stateDir: string;
  pkiDir: string;
}

export interface TokenRequest {
  uses: number;
  expiresInSec: number;
  label?: string;
}

export interface IssuedToken {
  token: string;
  id: string;
  uses: number;
  expiresAt: string;
  label: string;
  caFingerprintSha256: string;
}

export interface TokenView {
  id: string;
  state: EnrollTokenState;
  usesLeft: number;
  usesTotal: number;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  label: string;
}

function view(r: EnrollTokenRow, now: number): TokenView {
  return {
    id: r.id, state: tokenState(r, now), usesLeft: r.usesLeft, usesTotal: r.usesTotal, createdAt: r.createdAt.toISOString(),
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

/** A new token. @throws KeyFileError when there is no CA yet */
export function issueEnrollToken(dirs: TokenDirs, req: TokenRequest): IssuedToken {
  const caPem = readCaCert(dirs.pkiDir);
  return withStore(dirs, (s) => {
    const t = s.create({ uses: req.uses, expiresInSec: req.expiresInSec, caFingerprint: certFingerprintB64(caPem), label: req.label ?? '' });
    return { token: t.token, id: t.id, uses: t.uses, expiresAt: t.expiresAt.toISOString(), label: req.label ?? '', caFingerprintSha256: certFingerprintHex(caPem) };
  });
}

export function listEnrollTokens(dirs: TokenDirs, now = Date.now()): TokenView[] {
  return withStore(dirs, (s) => s.list().map((r) => view(r, now)));
}

/** @throws TokenIdError when the id names no token or several */
export function revokeEnrollToken(dirs: TokenDirs, id: string, now = Date.now()): { token: TokenView; alreadyRevoked: boolean } {
  return withStore(dirs, (s) => {
    const r = s.revoke(id, now);
    return { token: view(r.row, now), alreadyRevoked: r.alreadyRevoked };
  });
}
