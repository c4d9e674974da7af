// The encrypted spool file: a 36-byte header (magic "MKSP", version, algorithm,
// sequence, packet count, length, nonce) authenticated as AAD, then the dump
// encrypted with AES-256-GCM and the 16-byte tag. Pure: bytes in, bytes out.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SpoolCorruptError } from './spool-errors.js';

const SPOOL_MAGIC = 0x50534b4d; // "MKSP" as little-endian u32
const SPOOL_FILE_VERSION = 1;
const ALG_AES_256_GCM = 1;
export const SPOOL_HEADER_LEN = 36;
const SPOOL_TAG_LEN = 16;
export const SPOOL_OVERHEAD = SPOOL_HEADER_LEN + SPOOL_TAG_LEN;
export const SPOOL_KEY_LEN = 32;

export interface SpoolFileHeader {
  sequence: number;
  packetCount: number;
  /** plaintext (dump) length */
  length: number;
}

/** Encrypt one dump into spool-file bytes with a fresh random 96-bit nonce. */
export function sealSpoolFile(key: Uint8Array, sequence: number, packetCount: number, dump: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(SPOOL_OVERHEAD + dump.length);
  const dv = new DataView(out.buffer, out.byteOffset, SPOOL_HEADER_LEN);
  dv.setUint32(0, SPOOL_MAGIC, true);
  dv.setUint8(4, SPOOL_FILE_VERSION);
  dv.setUint8(5, ALG_AES_256_GCM);
  dv.setUint16(6, 0, true);
  const hi = Math.floor(sequence / 4294967296);
  dv.setUint32(8, sequence - hi * 4294967296, true);
  dv.setUint32(12, hi, true);
  dv.setUint32(16, packetCount, true);
  dv.setUint32(20, dump.length, true);
  randomBytes(12).copy(out, 24);
  const c = createCipheriv('aes-256-gcm', key, out.subarray(24, 36));
  c.setAAD(out.subarray(0, SPOOL_HEADER_LEN));
  const n1 = c.update(dump).copy(out, SPOOL_HEADER_LEN);
  const n2 = c.final().copy(out, SPOOL_HEADER_LEN + n1);
  if (n1 + n2 !== dump.length) throw new Error('AES-GCM produced an unexpected ciphertext length');
  c.getAuthTag().copy(out, SPOOL_HEADER_LEN + dump.length);
  return out;
}

/** Parse the clear header (not yet authenticated: use for accounting only). */
export function readSpoolFileHeader(bytes: Uint8Array, name: string): SpoolFileHeader {
  if (bytes.length < SPOOL_HEADER_LEN) throw new SpoolCorruptError(`spool file ${name}: ${bytes.length} bytes, shorter than its ${SPOOL_HEADER_LEN}-byte header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, SPOOL_HEADER_LEN);
  if (dv.getUint32(0, true) !== SPOOL_MAGIC) throw new SpoolCorruptError(`spool file ${name}: bad magic, expected "MKSP"`);
  if (dv.getUint8(4) !== SPOOL_FILE_VERSION) throw new SpoolCorruptError(`spool file ${name}: unsupported version ${dv.getUint8(4)}`);
  if (dv.getUint8(5) !== ALG_AES_256_GCM) throw new SpoolCorruptError(`spool file ${name}: unknown algorithm ${dv.getUint8(5)}`);
  if (dv.getUint16(6, true) !== 0) throw new SpoolCorruptError(`spool file ${name}: reserved bytes are not zero`);
  const sequence = dv.getUint32(12, true) * 4294967296 + dv.getUint32(8, true);
  if (!Number.isSafeInteger(sequence)) throw new SpoolCorruptError(`spool file ${name}: sequence out of range`);
  return { sequence, packetCount: dv.getUint32(16, true), length: dv.getUint32(20, true) };
}

/** Authenticate and decrypt; any mismatch (tampering, wrong key, truncation) is a SpoolCorruptError. */
export function openSpoolFile(key: Uint8Array, bytes: Uint8Array, name: string, expectedSequence: number): { header: SpoolFileHeader; dump: Uint8Array } {
  const header = readSpoolFileHeader(bytes, name);
  if (header.sequence !== expectedSequence) {
    throw new SpoolCorruptError(`spool file ${name}: holds sequence ${header.sequence}, its name says ${expectedSequence}`);
  }
  if (bytes.length !== SPOOL_OVERHEAD + header.length) {
    throw new SpoolCorruptError(`spool file ${name}: ${bytes.length} bytes, header declares ${SPOOL_OVERHEAD + header.length}`);
  }
  const d = createDecipheriv('aes-256-gcm', key, bytes.subarray(24, 36));
  d.setAAD(bytes.subarray(0, SPOOL_HEADER_LEN));
  d.setAuthTag(bytes.subarray(bytes.length - SPOOL_TAG_LEN));
  const out = Buffer.allocUnsafe(header.length);
  try {
    const n1 = d.update(bytes.subarray(SPOOL_HEADER_LEN, bytes.length - SPOOL_TAG_LEN)).copy(out, 0);
    d.final().copy(out, n1);
  } catch {
    throw new SpoolCorruptError(`spool file ${name}: failed authentication (tampered, damaged or encrypted with another key)`);
  }
  return { header, dump: new Uint8Array(out.buffer, out.byteOffset, out.length) };
}
