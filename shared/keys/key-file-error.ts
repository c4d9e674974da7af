// The one error for a key, certificate or key-state file that is missing, unreadable,
// unsafe (too open) or not what it should be: owner keys, operator keys, the PKI's CA and
// server keys, the agent's identity. The message starts with the file.
import { MeerkatError } from '../errors.js';

export class KeyFileError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_KEY_FILE';
  /** the file (or input name) concerned */
  readonly file: string;
  /** @param cause the underlying failure (its message is appended) */
  constructor(file: string, problem: string, cause?: unknown) {
    super(`${file}: ${problem}${cause instanceof Error ? `: ${cause.message}` : ''}`, cause === undefined ? undefined : { cause });
    this.name = 'KeyFileError';
    this.file = file;
  }
}
