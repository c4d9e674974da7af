// Error classes of the PKI: each names the file or input and what was expected,
// so an operator can fix a broken install without reading code.
import { MeerkatError } from '../shared/errors.js';

/** A certificate signing request that cannot be accepted (bad PEM, bad signature, weak key). */
export class CsrError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_CSR';
  constructor(expected: string) {
    super(`certificate signing request rejected: expected ${expected}`);
    this.name = 'CsrError';
  }
}

/** The persisted revocation list is missing its signature, or it does not verify. */
export class RevocationListError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_REVOCATION_LIST';
  constructor(file: string, expected: string) {
    super(`${file}: expected ${expected}`);
    this.name = 'RevocationListError';
  }
}

export type EnrollTokenRefusal = 'malformed' | 'unknown' | 'expired' | 'used-up' | 'revoked';

/** An enrollment token string that does not parse, or was refused. */
export class EnrollTokenError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_ENROLL_TOKEN';
  /** machine-readable reason: malformed | unknown | expired | used-up | revoked */
  readonly reason: EnrollTokenRefusal;
  constructor(reason: EnrollTokenRefusal, detail: string) {
    super(`enrollment token ${reason}: ${detail}`);
    this.name = 'EnrollTokenError';
    this.reason = reason;
  }
}
