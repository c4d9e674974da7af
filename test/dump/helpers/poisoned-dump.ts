// Test fixture: a well-formed dump whose first record's timestamp is a value the writer would
// never write (NaN, ±Infinity, ±1e300, negative, fractional). The body is rewritten
// uncompressed with valid checksums, so only the reader's value checks can refuse it - what a
// buggy or hostile agent holding a real certificate could send.
import { crc32 } from 'node:zlib';
import { ColumnCursor } from '../../../shared/dump/byte-column.js';
import { decompressBody } from '../../../shared/dump/body-compression.js';
import {
  CompressionKind, compressionKind, encodeHeader, keyIdToBytes, readDumpHeader, uuidToBytes,
} from '../../../shared/dump/dump-header.js';
import { COLUMN_COUNT, Col, TS_ESCAPE } from '../../../shared/dump/dump-layout.js';

/** Start offset of column `col` in a decompressed body (walks the column directory). */
export function columnStart(body: Uint8Array, col: number): number {
  const dir = new ColumnCursor(body, 0, body.length, 'directory', { record: 0 });
  const lens: number[] = [];
  for (let i = 0; i < COLUMN_COUNT; i++) lens.push(dir.u32());
  let off = dir.pos;
  for (let i = 0; i < col; i++) off += lens[i]!;
  return off;
}

/** `dump` (any compression, first timestamp written as an escape) with that timestamp set to `tsUs`. */
export function poisonFirstTimestamp(dump: Uint8Array, tsUs: number): Uint8Array {
  const h = readDumpHeader(dump);
  const body = new Uint8Array(decompressBody(compressionKind(h.compression), dump.subarray(96), h.uncompressedSize));
  const ts = columnStart(body, Col.Ts);
  if (body[ts] !== TS_ESCAPE) throw new Error('the first timestamp of this dump is not an escape (make its first record a real time)');
  new DataView(body.buffer, body.byteOffset).setFloat64(ts + 1, tsUs, true);
  const out = new Uint8Array(96 + body.length);
  out.set(body, 96);
  encodeHeader(out, {
    agentId: uuidToBytes(h.agentId), anonKeyId: keyIdToBytes(h.anonKeyId), sequence: h.sequence,
    firstTsUs: h.firstTsUs, lastTsUs: h.lastTsUs, packetCount: h.packetCount, tupleCount: h.tupleCount,
    linkType: h.linkType, snapLen: h.snapLen, compression: CompressionKind.None, compressionLevel: 0,
    flags: h.flags, uncompressedSize: body.length, compressedSize: body.length, bodyCrc32: crc32(body),
  });
  return out;
}
