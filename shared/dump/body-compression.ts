// Compression of the dump body, by the kind recorded in the header. The reader
// side never inflates past the size the header declares (zip-bomb guard).
import { brotliCompressSync, brotliDecompressSync, constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { CompressionKind } from './dump-header.js';
import { DumpFormatError } from './dump-error.js';

/**
 * Brotli's window (log2) for a body of `bytes` at `quality`: the smallest that holds the body,
 * within 10..22; at quality 0 and 1 at most 16 (64 KiB): there the fast encoder compresses
 * the columns better with the small window (bench capture 4.38 instead of 4.52 bytes/packet
 * at quality 1, docs/dump-format.md section 5).
 */
function brotliWindowBits(bytes: number, quality: number): number {
  const max = quality <= 1 ? 16 : 22;
  let bits = 10;
  while (bits < max && 1 << bits < bytes) bits++;
  return bits;
}

export function compressBody(kind: CompressionKind, level: number, body: Uint8Array): Uint8Array {
  switch (kind) {
    case CompressionKind.DeflateRaw:
      return deflateRawSync(body, { level, memLevel: 9 });
    case CompressionKind.Brotli:
      return brotliCompressSync(body, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: level,
          [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
          // a window no larger than the body: same output size, and the encoder's buffers
          // (about 2 x the window) stay small for the usual few-hundred-KB body
          [constants.BROTLI_PARAM_LGWIN]: brotliWindowBits(body.length, level),
        },
      });
    case CompressionKind.None:
      return body;
  }
}

/** Decompress exactly `size` bytes or throw DumpFormatError. */
export function decompressBody(kind: CompressionKind, data: Uint8Array, size: number): Uint8Array {
  let out: Uint8Array;
  try {
    switch (kind) {
      case CompressionKind.DeflateRaw:
        // maxOutputLength makes zlib stop (and throw) as soon as output would pass `size`
        out = inflateRawSync(data, { maxOutputLength: Math.max(1, size) });
        break;
      case CompressionKind.Brotli:
        out = brotliDecompressSync(data, { maxOutputLength: Math.max(1, size) });
        break;
      case CompressionKind.None:
        out = data;
        break;
      default:
        throw new DumpFormatError(`unknown compression kind ${kind as number}`);
    }
  } catch (e) {
    if (e instanceof DumpFormatError) throw e;
    const code = (e as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new DumpFormatError(`body inflates past its declared size of ${size} bytes (refused)`);
    }
    throw new DumpFormatError(`body does not decompress: ${(e as Error).message}`);
  }
  if (out.length !== size) {
    throw new DumpFormatError(`body decompressed to ${out.length} bytes, header declares ${size}`);
  }
  return out;
}
