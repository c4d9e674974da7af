// The fixed 96-byte dump header: layout constants, encoding on the writer side,
// and the cheap validating parse (readDumpHeader) that the collector can run
// before deciding to decode a body. Layout is documented in docs/dump-format.md.
import { crc32 } from 'node:zlib';
import { DumpFormatError, DumpValueError } from './dump-error.js';

export const DUMP_MAGIC = 0x50444b4d; // "MKDP" read as little-endian u32
/** the version this code writes; it reads every version from MIN_DUMP_VERSION on */
export const DUMP_VERSION = 2;
export const MIN_DUMP_VERSION = 1;
export const DUMP_HEADER_LEN = 96;

/** Bits of DumpHeader.flags. */
export const enum DumpFlag {
  /** at least one record carries captured payload bytes */
  HasPayload = 1 << 0,
  /** retro capture: packets the agent kept in its local ring and shipped on request (docs/pcap.md) */
  Retro = 1 << 1,
}
const KNOWN_FLAGS = 3;

export const enum CompressionKind {
  None = 0,
  DeflateRaw = 1,
  Brotli = 2,
}
const COMPRESSION_NAMES = ['none', 'deflate-raw', 'brotli'] as const;
export type CompressionName = (typeof COMPRESSION_NAMES)[number];

function compressionName(kind: number): CompressionName | undefined {
  return COMPRESSION_NAMES[kind];
}

export function compressionKind(name: string): CompressionKind {
  const i = (COMPRESSION_NAMES as readonly string[]).indexOf(name);
  if (i < 0) throw new RangeError(`unknown dump compression ${JSON.stringify(name)}; expected one of ${COMPRESSION_NAMES.join(', ')}`);
  return i as CompressionKind;
}

export interface DumpHeader {
  version: number;
  /** UUID text, lower case */
  agentId: string;
  sequence: number;
  /** tsUs of the first and last record in file order (0 when empty) */
  firstTsUs: number;
  lastTsUs: number;
  packetCount: number;
  /** distinct (direction, addresses, ports, protocol, vlan, tunnel, anon flags) tuples */
  tupleCount: number;
  /** pcap LINKTYPE_* of the capture the records came from */
  linkType: number;
  /** 16 hex digits naming the anonymization key that made the pseudonyms */
  anonKeyId: string;
  /** largest snap length (payload bytes kept per packet) in force while the dump was open */
  snapLen: number;
  compression: CompressionName;
  /** DumpFlag bits */
  flags: number;
  /** body size before compression (bytes) */
  uncompressedSize: number;
  /** body size in the file (bytes) */
  compressedSize: number;
  bodyCrc32: number;
}

// Field offsets (little-endian throughout).
const O_MAGIC = 0;
const O_VERSION = 4;
const O_HEADER_LEN = 6;
const O_FLAGS = 8;
const O_AGENT = 12;
const O_SEQ = 28;
const O_FIRST = 36;
const O_LAST = 44;
const O_PACKETS = 52;
const O_TUPLES = 56;
const O_LINK = 60;
const O_KEYID = 64;
const O_SNAP = 72;
const O_COMP = 76;
const O_COMP_LEVEL = 77;
const O_RESERVED = 78;
const O_USIZE = 80;
const O_CSIZE = 84;
const O_BODY_CRC = 88;
const O_HEADER_CRC = 92;

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const KEYID_RE = /^[0-9a-fA-F]{16}$/;

export function uuidToBytes(s: string): Uint8Array {
  if (!UUID_RE.test(s)) throw new RangeError(`agent id must be a UUID (8-4-4-4-12 hex digits), got ${JSON.stringify(s)}`);
  return Buffer.from(s.replace(/-/g, ''), 'hex');
}

export function bytesToUuid(b: Uint8Array): string {
  const h = Buffer.from(b.buffer, b.byteOffset, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function keyIdToBytes(s: string): Uint8Array {
  if (!KEYID_RE.test(s)) throw new RangeError(`anonymization key id must be 16 hex digits, got ${JSON.stringify(s)}`);
  return Buffer.from(s, 'hex');
}

/** int64 LE from a safe integer, exact. */
function setI64(dv: DataView, off: number, v: number): void {
  const hi = Math.floor(v / 4294967296);
  dv.setUint32(off, v - hi * 4294967296, true);
  dv.setInt32(off + 4, hi, true);
}

function getI64(dv: DataView, off: number): number {
  return dv.getInt32(off + 4, true) * 4294967296 + dv.getUint32(off, true);
}

/**
 * Largest record timestamp a dump holds, µs since the epoch (2^53-1, the year 2255): every
 * timestamp is a whole number of microseconds in [0, MAX_TS_US], so it is exact as a number,
 * fits the header's i64 fields and SQLite's INTEGER, and is a valid Date.
 */
export const MAX_TS_US = Number.MAX_SAFE_INTEGER;

/** True when tsUs is in the dump's time domain (a whole number in [0, MAX_TS_US]). */
export function isDumpTime(tsUs: number): boolean {
  return tsUs >= 0 && tsUs <= MAX_TS_US && Math.floor(tsUs) === tsUs;
}

/**
 * A record time reduced to the dump's domain, as the writer stores it: NaN and negative
 * times become 0, times past MAX_TS_US become MAX_TS_US, fractions are floored (-0 -> 0).
 */
export function dumpTime(tsUs: number): number {
  if (isDumpTime(tsUs)) return tsUs === 0 ? 0 : tsUs;
  if (!(tsUs > 0)) return 0;
  return tsUs >= MAX_TS_US ? MAX_TS_US : Math.floor(tsUs);
}

export interface HeaderFields {
  agentId: Uint8Array;
  anonKeyId: Uint8Array;
  sequence: number;
  firstTsUs: number;
  lastTsUs: number;
  packetCount: number;
  tupleCount: number;
  linkType: number;
  snapLen: number;
  compression: CompressionKind;
  compressionLevel: number;
  flags: number;
  uncompressedSize: number;
  compressedSize: number;
  bodyCrc32: number;
}

/** Write the header into out[0..96). */
export function encodeHeader(out: Uint8Array, h: HeaderFields): void {
  const dv = new DataView(out.buffer, out.byteOffset, DUMP_HEADER_LEN);
  dv.setUint32(O_MAGIC, DUMP_MAGIC, true);
  dv.setUint16(O_VERSION, DUMP_VERSION, true);
  dv.setUint16(O_HEADER_LEN, DUMP_HEADER_LEN, true);
  dv.setUint32(O_FLAGS, h.flags, true);
  out.set(h.agentId, O_AGENT);
  setI64(dv, O_SEQ, h.sequence);
  setI64(dv, O_FIRST, h.firstTsUs);
  setI64(dv, O_LAST, h.lastTsUs);
  dv.setUint32(O_PACKETS, h.packetCount, true);
  dv.setUint32(O_TUPLES, h.tupleCount, true);
  dv.setUint32(O_LINK, h.linkType, true);
  out.set(h.anonKeyId, O_KEYID);
  dv.setUint32(O_SNAP, h.snapLen, true);
  dv.setUint8(O_COMP, h.compression);
  dv.setUint8(O_COMP_LEVEL, h.compressionLevel);
  dv.setUint16(O_RESERVED, 0, true);
  dv.setUint32(O_USIZE, h.uncompressedSize, true);
  dv.setUint32(O_CSIZE, h.compressedSize, true);
  dv.setUint32(O_BODY_CRC, h.bodyCrc32, true);
  dv.setUint32(O_HEADER_CRC, crc32(out.subarray(0, O_HEADER_CRC)), true);
}

/**
 * Parse and validate the header only (magic, version, header checksum, field
 * ranges, and that the file length matches the declared body size). Does not
 * touch the body.
 */
export function readDumpHeader(bytes: Uint8Array): DumpHeader {
  if (!(bytes instanceof Uint8Array)) throw new DumpFormatError('dump is not a byte array');
  if (bytes.length < DUMP_HEADER_LEN) {
    throw new DumpFormatError(`truncated header: ${bytes.length} bytes, expected at least ${DUMP_HEADER_LEN}`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, DUMP_HEADER_LEN);
  if (dv.getUint32(O_MAGIC, true) !== DUMP_MAGIC) {
    throw new DumpFormatError(`bad magic 0x${dv.getUint32(O_MAGIC, false).toString(16).padStart(8, '0')}, expected "MKDP"`);
  }
  const version = dv.getUint16(O_VERSION, true);
  if (version < MIN_DUMP_VERSION || version > DUMP_VERSION) {
    throw new DumpFormatError(`unsupported dump version ${version}, this reader knows versions ${MIN_DUMP_VERSION} to ${DUMP_VERSION}`);
  }
  const headerLen = dv.getUint16(O_HEADER_LEN, true);
  if (headerLen !== DUMP_HEADER_LEN) throw new DumpFormatError(`header length ${headerLen}, expected ${DUMP_HEADER_LEN} for version ${version}`);
  const wantCrc = dv.getUint32(O_HEADER_CRC, true);
  const gotCrc = crc32(bytes.subarray(0, O_HEADER_CRC));
  if (wantCrc !== gotCrc) throw new DumpFormatError(`header checksum mismatch (stored ${hex32(wantCrc)}, computed ${hex32(gotCrc)})`);
  const flags = dv.getUint32(O_FLAGS, true);
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new DumpFormatError(`unknown header flags ${hex32(flags)}`);
  const sequence = getI64(dv, O_SEQ);
  if (sequence < 0 || !Number.isSafeInteger(sequence)) throw new DumpFormatError(`sequence number out of range (must be 0..2^53-1)`);
  const firstTsUs = getI64(dv, O_FIRST);
  const lastTsUs = getI64(dv, O_LAST);
  if (!isDumpTime(firstTsUs) || !isDumpTime(lastTsUs)) {
    throw new DumpValueError(`header times ${firstTsUs}, ${lastTsUs} out of range (whole microseconds in 0..2^53-1)`);
  }
  const packetCount = dv.getUint32(O_PACKETS, true);
  const tupleCount = dv.getUint32(O_TUPLES, true);
  if (tupleCount > packetCount) throw new DumpFormatError(`tuple count ${tupleCount} exceeds packet count ${packetCount}`);
  if (packetCount === 0 && (firstTsUs !== 0 || lastTsUs !== 0)) throw new DumpFormatError('empty dump with non-zero time range');
  const comp = dv.getUint8(O_COMP);
  const compression = compressionName(comp);
  if (compression === undefined) throw new DumpFormatError(`unknown compression kind ${comp}`);
  if (dv.getUint16(O_RESERVED, true) !== 0) throw new DumpFormatError('reserved header bytes 78..79 are not zero');
  const uncompressedSize = dv.getUint32(O_USIZE, true);
  const compressedSize = dv.getUint32(O_CSIZE, true);
  if (comp === CompressionKind.None && compressedSize !== uncompressedSize) {
    throw new DumpFormatError(`uncompressed body: stored size ${compressedSize} differs from declared size ${uncompressedSize}`);
  }
  if (bytes.length !== DUMP_HEADER_LEN + compressedSize) {
    throw new DumpFormatError(
      `file length ${bytes.length} does not match header (${DUMP_HEADER_LEN} + body ${compressedSize} = ${DUMP_HEADER_LEN + compressedSize}): ` +
        (bytes.length < DUMP_HEADER_LEN + compressedSize ? 'truncated body' : 'trailing bytes'),
    );
  }
  return {
    version,
    agentId: bytesToUuid(bytes.subarray(O_AGENT, O_AGENT + 16)),
    sequence,
    firstTsUs,
    lastTsUs,
    packetCount,
    tupleCount,
    linkType: dv.getUint32(O_LINK, true),
    anonKeyId: Buffer.from(bytes.buffer, bytes.byteOffset + O_KEYID, 8).toString('hex'),
    snapLen: dv.getUint32(O_SNAP, true),
    compression,
    flags,
    uncompressedSize,
    compressedSize,
    bodyCrc32: dv.getUint32(O_BODY_CRC, true),
  };
}

function hex32(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}
