// Public surface of the dump format: writer, reader, rotator, header and error.
export { DumpWriter, type DumpWriterOptions } from './dump-writer.js';
export { decodeDump, type DecodedDump, type DecodeOptions, DEFAULT_MAX_PACKETS, DEFAULT_MAX_UNCOMPRESSED } from './dump-reader.js';
export { readDumpHeader, type DumpHeader, DumpFlag, DUMP_VERSION, DUMP_HEADER_LEN, MAX_TS_US } from './dump-header.js';
export { DumpRotator, type DumpRotatorOptions } from './dump-rotator.js';
export { DumpFormatError, DumpValueError } from './dump-error.js';
export type { AppMeta, DumpMeta } from '../appmeta/meta-record.js';
