// Errors the spool reports: SpoolError for misuse and I/O-level problems,
// SpoolCorruptError for a spool file that fails authentication or parsing.
import { MeerkatError } from '../../shared/errors.js';

export class SpoolError extends MeerkatError {
  readonly code: string = 'MEERKAT_ERR_SPOOL';
  constructor(message: string) {
    super(message);
    this.name = 'SpoolError';
  }
}

export class SpoolCorruptError extends SpoolError {
  override readonly code = 'MEERKAT_ERR_SPOOL_CORRUPT';
  constructor(message: string) {
    super(message);
    this.name = 'SpoolCorruptError';
  }
}
