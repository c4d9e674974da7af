// The collector's full integrity check of an uploaded dump: decode it completely (body
// checksum, sizes, every column and value) so a broken dump is nacked before it is stored
// and never reaches the flow engine. Throws DumpFormatError.
import { decodeDump } from '../../shared/dump/dump-reader.js';

export function verifyDumpBody(bytes: Uint8Array): void {
  decodeDump(bytes);
}
