// The one error the dump reader throws: every malformed, truncated, tampered or
// oversized dump is reported as a DumpFormatError whose message names the part
// of the file that is wrong and what was expected there.
import { MeerkatError } from '../errors.js';

export class DumpFormatError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_DUMP_FORMAT';
  constructor(message: string) {
    super(message);
    this.name = 'DumpFormatError';
  }
}
