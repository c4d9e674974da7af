// Error classes of the PKI: each names the file or input and what was expected,
// so an operator can fix a broken install without reading code.

/** A key, certificate or PKI state file is missing, unreadable or not what it should be. */
export class KeyFileError extends Error {
  readonly file: string;
  constructor(file: string, expected: string, cause?: unknown) {
    const why = cause instanceof Error ? `: ${cause.message}` : '';
    super(`${file}: expected ${expected}${why}`);
    this.name = 'KeyFileError';
    this.file = file;
  }
}

/** A certificate signing request that cannot be accepted (bad PEM, bad signature, weak key). */
export class CsrError extends Error {
  constructor(expected: string) {
    super(`certificate signing request rejected: expected ${expected}`);
    this.name = 'CsrError';
  }
}

/** The persisted revocation list is missing its signature, or it does not verify. */
export class RevocationListError extends Error {
  constructor(file: string, expected: string) {
    super(`${file}: expected ${expected}`);
    this.name = 'RevocationListError';
  }
}

/** An enrollment token string that does not parse, or was refused. */
export class EnrollTokenError extends Error {
  /** machine-readable reason: malformed | unknown | expired | used-up */
  readonly reason: 'malformed' | 'unknown' | 'expired' | 'used-up';
  constructor(reason: 'malformed' | 'unknown' | 'expired' | 'used-up', detail: string) {
    super(`enrollment token ${reason}: ${detail}`);
    this.name = 'EnrollTokenError';
    this.reason = reason;
  }
}
