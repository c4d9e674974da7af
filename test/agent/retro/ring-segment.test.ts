// Ring segment chunks: sealed and opened with the segment's key; any change to the clear header,
// the ciphertext, the chunk's index or its segment fails authentication; a wrong key too; and no
// input makes openChunk throw anything but RingSegmentError.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { CHUNK_HEADER_LEN, RingSegmentError, checkSegmentHeader, openChunk, readChunkInfo, sealChunk, segmentHeader } from '../../../agent/retro/ring-segment.js';

describe('retro ring segment chunks', () => {
  const key = randomBytes(32);
  const seg = segmentHeader(1_700_000_000_000_000);
  const dump = new Uint8Array(randomBytes(5000));

  it('round-trips, with the time range readable in the clear', () => {
    const sealed = sealChunk(key, seg, 3, dump, 12, 100, 200);
    checkSegmentHeader(seg, 's');
    const info = readChunkInfo(sealed, 3, 0);
    assert.deepEqual([info.length, info.packets, info.firstTsUs, info.lastTsUs], [5000, 12, 100, 200]);
    assert.deepEqual(openChunk(key, seg, 3, sealed, 's'), dump);
    // the ciphertext is not the plaintext
    assert.equal(Buffer.from(sealed).indexOf(Buffer.from(dump.subarray(100, 132))), -1);
  });

  it('any change, another index, another segment or another key fails authentication', () => {
    const sealed = sealChunk(key, seg, 3, dump, 12, 100, 200);
    const fails = (f: () => unknown): void => assert.throws(f, (e: unknown) => e instanceof RingSegmentError && /failed authentication|truncated|header says/.test(e.message));
    for (const at of [8, 20, 30, CHUNK_HEADER_LEN + 7, sealed.length - 1]) {
      const t = Buffer.from(sealed);
      t[at]! ^= 1;
      fails(() => openChunk(key, seg, 3, t, 's'));
    }
    fails(() => openChunk(key, seg, 4, sealed, 's'));
    fails(() => openChunk(key, segmentHeader(1_700_000_000_000_000), 3, sealed, 's'));
    fails(() => openChunk(randomBytes(32), seg, 3, sealed, 's'));
    fails(() => openChunk(new Uint8Array(32), seg, 3, sealed, 's')); // a destroyed (zeroed) key
  });

  it('arbitrary bytes: only RingSegmentError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      try {
        openChunk(key, seg, 0, b, 'fuzz');
        assert.fail('opened random bytes');
      } catch (e) {
        assert.ok(e instanceof RingSegmentError, String(e));
      }
    }), { numRuns: 500 });
    assert.throws(() => checkSegmentHeader(new Uint8Array(32), 'z'), RingSegmentError);
  });
});
