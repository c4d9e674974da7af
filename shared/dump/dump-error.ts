// The one error the dump reader throws: every malformed, truncated, tampered or
// oversized dump is reported as a DumpFormatError whose message names the part
// of the file that is wrong and what was expected there.

export class DumpFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DumpFormatError';
  }
}
