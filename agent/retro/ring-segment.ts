// One segment file of the retro ring: a 32-byte header, then chunks appended one after another,
// each a complete dump (the ring's records with their payload) sealed with AES-256-GCM under the
// segment's own key. The key exists only in the agent's memory: destroying it (when the segment
// leaves the ring, or when the agent stops) makes every copy of the file's bytes useless, wherever
// the drive put them - crypto-shredding (docs/pcap.md). Each chunk's time range is in its clear
// header so a pull skips chunks outside its window without decrypting them; the header, the
// segment id and the chunk's index are authenticated with the ciphertext (no splicing, reordering
// or moving a chunk to another segment). Pure: bytes in, bytes out.
import { MeerkatError } from '../../shared/errors.js';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const SEGMENT_MAGIC = 0x47524b4d; // "MKRG" as little-endian u32
export const SEGMENT_VERSION = 1;
export const ALG_AES_256_GCM = 1;
export const SEGMENT_HEADER_LEN = 32;
export const CHUNK_HEADER_LEN = 36;
export const CHUNK_TAG_LEN = 16;
export const SEGMENT_KEY_LEN = 32;

export class RingSegmentError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_RING_SEGMENT';
  constructor(message: string) {
    super(message);
    this.name = 'RingSegmentError';
  }
}

/** A chunk's clear header: where it is and what time it covers. */
export interface ChunkInfo {
  index: number;
  /** byte offset of the chunk header in the file */
  offset: number;
  /** ciphertext (= dump) length */
  length: number;
  packets: number;
  firstTsUs: number;
  lastTsUs: number;
}

function setI64(dv: DataView, off: number, v: number): void {
  const t = Number.isFinite(v) ? Math.trunc(v) : 0;
  const hi = Math.floor(t / 4294967296);
  dv.setUint32(off, t - hi * 4294967296, true);
  dv.setInt32(off + 4, hi, true);
}

function getI64(dv: DataView, off: number): number {
  return dv.getInt32(off + 4, true) * 4294967296 + dv.getUint32(off, true);
}

/** The header of a new segment (with a fresh random id). */
export function segmentHeader(createdUs: number): Uint8Array {
  const h = new Uint8Array(SEGMENT_HEADER_LEN);
  const dv = new DataView(h.buffer);
  dv.setUint32(0, SEGMENT_MAGIC, true);
  h[4] = SEGMENT_VERSION;
  h[5] = ALG_AES_256_GCM;
  randomBytes(16).copy(Buffer.from(h.buffer), 8);
  setI64(dv, 24, createdUs);
  return h;
}

export function checkSegmentHeader(h: Uint8Array, name: string): void {
  if (h.length < SEGMENT_HEADER_LEN) throw new RingSegmentError(`ring segment ${name}: ${h.length} bytes, shorter than its header`);
  const dv = new DataView(h.buffer, h.byteOffset, SEGMENT_HEADER_LEN);
  if (dv.getUint32(0, true) !== SEGMENT_MAGIC) throw new RingSegmentError(`ring segment ${name}: bad magic, expected "MKRG"`);
  if (h[4] !== SEGMENT_VERSION || h[5] !== ALG_AES_256_GCM) throw new RingSegmentError(`ring segment ${name}: unsupported version ${h[4]} / algorithm ${h[5]}`);
}

function aad(segHeader: Uint8Array, chunkHeader: Uint8Array, index: number): Uint8Array {
  const a = new Uint8Array(SEGMENT_HEADER_LEN + CHUNK_HEADER_LEN + 4);
  a.set(segHeader.subarray(0, SEGMENT_HEADER_LEN), 0);
  a.set(chunkHeader, SEGMENT_HEADER_LEN);
  new DataView(a.buffer).setUint32(SEGMENT_HEADER_LEN + CHUNK_HEADER_LEN, index, true);
  return a;
}

/** Seals one chunk (a dump) as the index-th of the segment: header + ciphertext + tag. */
export function sealChunk(key: Uint8Array, segHeader: Uint8Array, index: number, dump: Uint8Array, packets: number, firstTsUs: number, lastTsUs: number): Uint8Array {
  const out = Buffer.allocUnsafe(CHUNK_HEADER_LEN + dump.length + CHUNK_TAG_LEN);
  const dv = new DataView(out.buffer, out.byteOffset, CHUNK_HEADER_LEN);
  dv.setUint32(0, dump.length, true);
  dv.setUint32(4, packets, true);
  setI64(dv, 8, firstTsUs);
  setI64(dv, 16, lastTsUs);
  randomBytes(12).copy(out, 24);
  const c = createCipheriv('aes-256-gcm', key, out.subarray(24, 36));
  c.setAAD(aad(segHeader, out.subarray(0, CHUNK_HEADER_LEN), index));
  const n1 = c.update(dump).copy(out, CHUNK_HEADER_LEN);
  const n2 = c.final().copy(out, CHUNK_HEADER_LEN + n1);
  if (n1 + n2 !== dump.length) throw new Error('AES-GCM produced an unexpected ciphertext length');
  c.getAuthTag().copy(out, CHUNK_HEADER_LEN + dump.length);
  return out;
}

/** The clear header of the chunk at `offset` (not yet authenticated: for selection only). */
export function readChunkInfo(header: Uint8Array, index: number, offset: number): ChunkInfo {
  const dv = new DataView(header.buffer, header.byteOffset, CHUNK_HEADER_LEN);
  return { index, offset, length: dv.getUint32(0, true), packets: dv.getUint32(4, true), firstTsUs: getI64(dv, 8), lastTsUs: getI64(dv, 16) };
}

/** Authenticates and decrypts one chunk (its header, ciphertext and tag). */
export function openChunk(key: Uint8Array, segHeader: Uint8Array, index: number, sealed: Uint8Array, name: string): Uint8Array {
  if (sealed.length < CHUNK_HEADER_LEN + CHUNK_TAG_LEN) throw new RingSegmentError(`ring segment ${name}: chunk ${index} truncated`);
  const len = new DataView(sealed.buffer, sealed.byteOffset, 4).getUint32(0, true);
  if (sealed.length !== CHUNK_HEADER_LEN + len + CHUNK_TAG_LEN) throw new RingSegmentError(`ring segment ${name}: chunk ${index} is ${sealed.length} bytes, its header says ${CHUNK_HEADER_LEN + len + CHUNK_TAG_LEN}`);
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(24, 36));
  d.setAAD(aad(segHeader, sealed.subarray(0, CHUNK_HEADER_LEN), index));
  d.setAuthTag(sealed.subarray(sealed.length - CHUNK_TAG_LEN));
  const out = Buffer.allocUnsafe(len);
  try {
    const n1 = d.update(sealed.subarray(CHUNK_HEADER_LEN, CHUNK_HEADER_LEN + len)).copy(out, 0);
    d.final().copy(out, n1);
  } catch {
    throw new RingSegmentError(`ring segment ${name}: chunk ${index} failed authentication (damaged, or its key is gone)`);
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
