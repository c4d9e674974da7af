// The stream reassembler: pieces in any order with overlaps give the stream back; the cap
// and the hole limit bound it.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteReassembler } from '../../../shared/appmeta/byte-reassembler.js';

describe('byte reassembler', () => {
  it('puts shuffled, overlapping pieces back in order (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 3000 }), fc.array(fc.tuple(fc.nat(3000), fc.nat(400)), { maxLength: 30 }), (data, cuts) => {
      const r = new ByteReassembler(4096, 64);
      const pieces = cuts.map(([o, n]) => [Math.min(o, data.length), Math.min(data.length, o + n + 1)] as const);
      pieces.push([0, data.length]); // the whole stream arrives at some point
      for (const [from, to] of pieces) r.add(from, data, from, to);
      assert.equal(r.contiguous, data.length);
      assert.deepEqual(r.bytes, data);
    }), { numRuns: 300 });
  });

  it('keeps nothing past the cap and gives up past 16 holes', () => {
    const r = new ByteReassembler(100);
    r.add(90, new Uint8Array(50));
    r.add(0, new Uint8Array(90).fill(1));
    assert.equal(r.contiguous, 100);
    assert.ok(r.bufferBytes <= 100);
    const h = new ByteReassembler(10_000);
    for (let i = 0; i < 16; i++) assert.equal(h.add(10 + i * 10, new Uint8Array(5)), true);
    assert.equal(h.add(500, new Uint8Array(5)), false);
    assert.equal(h.failed, true);
    assert.equal(h.contiguous, 0);
  });
});
