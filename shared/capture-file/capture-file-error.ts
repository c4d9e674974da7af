// The one error type the capture-file readers throw: it names the file, the byte
// offset and what was expected, so a corrupt or foreign file is easy to diagnose.
import { MeerkatError } from '../errors.js';

/** What went wrong, for callers that treat some cases (e.g. a cut-off tail) as a warning. */
export type CaptureFileProblem =
  /** the first bytes are not a pcap or pcapng magic number */
  | 'not-capture'
  /** the file ends inside a record or block (tcpdump: "truncated dump file") */
  | 'truncated'
  /** a header field is impossible (bad length, unknown version, missing interface, ...) */
  | 'corrupt'
  /** the operating system refused to open or read the file */
  | 'io';

export class CaptureFileError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_CAPTURE_FILE';
  readonly problem: CaptureFileProblem;
  /** file path, or '<memory>' for in-memory captures */
  readonly source: string;
  /** byte offset of the offending record/block, -1 when not applicable */
  readonly offset: number;

  constructor(source: string, problem: CaptureFileProblem, detail: string, offset = -1, options?: { cause?: unknown }) {
    super(`${source}: ${detail}${offset >= 0 ? ` at offset ${offset}` : ''}`, options);
    this.name = 'CaptureFileError';
    this.problem = problem;
    this.source = source;
    this.offset = offset;
  }
}
