// Errors the spool reports: SpoolError for misuse and I/O-level problems,
// SpoolCorruptError for a spool file that fails authentication or parsing.

export class SpoolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpoolError';
  }
}

export class SpoolCorruptError extends SpoolError {
  constructor(message: string) {
    super(message);
    this.name = 'SpoolCorruptError';
  }
}
