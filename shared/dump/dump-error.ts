// The errors the dump reader throws: every malformed, truncated, tampered or
// oversized dump is reported as a DumpFormatError whose message names the part
// of the file that is wrong and what was expected there. A well-formed dump
// whose values lie outside their documented domain (a timestamp that is NaN,
// negative or past 2^53 µs) is a DumpValueError, a DumpFormatError too, so a
// receiver can tell "damaged" from "crafted or buggy values" (docs/dump-format.md 4).
import { MeerkatError } from '../errors.js';

export class DumpFormatError extends MeerkatError {
  readonly code: string = 'MEERKAT_ERR_DUMP_FORMAT';
  constructor(message: string) {
    super(message);
    this.name = 'DumpFormatError';
  }
}

export class DumpValueError extends DumpFormatError {
  override readonly code: string = 'MEERKAT_ERR_DUMP_VALUE';
  constructor(message: string) {
    super(message);
    this.name = 'DumpValueError';
  }
}
