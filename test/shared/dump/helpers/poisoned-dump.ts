// Test fixture: a well-formed dump whose first record's timestamp is a value the writer would
// never write (NaN, ±Infinity, ±1e300, negative, fractional). The body is rewritten
// uncompressed with valid checksums, so only the reader's value checks can refuse it - what a
// buggy or hostile agent holding a real certificate could send.
import { crc32 } from 'node:zlib';
import { ColumnCursor, unzigzag32 } from '../../../../shared/dump/byte-column.js';
import { decompressBody } from '../../../../shared/dump/body-compression.js';
import {
  CompressionKind, compressionKind, encodeHeader, keyIdToBytes, readDumpHeader, uuidToBytes,
} from '../../../../shared/dump/dump-header.js';
import { COLUMN_COUNT, Col, TS_ESCAPE } from '../../../../shared/dump/dump-layout.js';

/** Start offset of column `col` in a decompressed body (walks the column directory). */
export function columnStart(body: Uint8Array, col: number): number {
  const dir = new ColumnCursor(body, 0, body.length, 'directory', { record: 0 });
  const lens: number[] = [];
  for (let i = 0; i < COLUMN_COUNT; i++) lens.push(dir.u32());
  let off = dir.pos;
  for (let i = 0; i < col; i++) off += lens[i]!;
  return off;
}

/** The header time a writer before value validation derived from a record time: trunc, clamped to ±(2^53-1), NaN -> 0. */
function legacyHeaderTime(tsUs: number): number {
  if (Number.isNaN(tsUs)) return 0;
  return Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, Math.trunc(tsUs))) || 0;
}

/**
 * `dump` (any compression, first timestamp written as an escape) with that timestamp set to
 * `tsUs`. The later records' times are deltas from it, so they follow it (NaN + d = NaN); the
 * header's times are what a writer without value checks would have put there, so a reader
 * without value checks accepts the result.
 */
export function poisonFirstTimestamp(dump: Uint8Array, tsUs: number): Uint8Array {
  const h = readDumpHeader(dump);
  const body = new Uint8Array(decompressBody(compressionKind(h.compression), dump.subarray(96), h.uncompressedSize));
  const ts = columnStart(body, Col.Ts);
  if (body[ts] !== TS_ESCAPE) throw new Error('the first timestamp of this dump is not an escape (make its first record a real time)');
  const dv = new DataView(body.buffer, body.byteOffset);
  dv.setFloat64(ts + 1, tsUs, true);
  // the record times as a reader computes them, for the header's last time
  const cur = new ColumnCursor(body, ts, body.length, 'ts', { record: 0 });
  let t = 0;
  for (let i = 0; i < h.packetCount; i++) {
    const u = cur.uint();
    if (u === TS_ESCAPE) t = cur.f64(new DataView(new ArrayBuffer(8)));
    else t += unzigzag32(u - 1);
  }
  const out = new Uint8Array(96 + body.length);
  out.set(body, 96);
  encodeHeader(out, {
    agentId: uuidToBytes(h.agentId), anonKeyId: keyIdToBytes(h.anonKeyId), sequence: h.sequence,
    firstTsUs: legacyHeaderTime(tsUs), lastTsUs: legacyHeaderTime(t), packetCount: h.packetCount, tupleCount: h.tupleCount,
    linkType: h.linkType, snapLen: h.snapLen, compression: CompressionKind.None, compressionLevel: 0,
    flags: h.flags, uncompressedSize: body.length, compressedSize: body.length, bodyCrc32: crc32(body),
  });
  return out;
}
