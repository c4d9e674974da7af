// The ring's frame log: frames and their headers round-trip; a damaged or hostile body fails with
// FrameLogError only (and never inflates past the length it declares).
import assert from 'node:assert/strict';
import { brotliCompressSync } from 'node:zlib';
import fc from 'fast-check';
import { FrameLogError, FrameLogWriter, readFrameLog } from '../../../agent/retro/frame-log.js';

describe('retro ring frame log', () => {
  it('round-trips frames with time, lengths, link type and direction', () => {
    fc.assert(fc.property(fc.array(fc.record({ ts: fc.integer({ min: 0, max: 2 ** 52 }), wire: fc.integer({ min: 0, max: 0xffffffff }), link: fc.integer({ min: 0, max: 0xffff }), dir: fc.integer({ min: 0, max: 255 }), data: fc.uint8Array({ maxLength: 300 }) }), { maxLength: 60 }), (frames) => {
      const w = new FrameLogWriter(100_000, 1 << 30, Infinity);
      for (const f of frames) {
        const padded = new Uint8Array(f.data.length + 7);
        padded.set(f.data, 3);
        w.add(f.link, padded, 3, f.data.length, f.ts, f.wire, f.dir);
      }
      assert.equal(w.count, frames.length);
      const body = w.finish();
      assert.equal(w.count, 0);
      const back: unknown[] = [];
      readFrameLog(body, (f) => back.push({ ts: f.tsUs, wire: f.wireLen, link: f.linkType, dir: f.direction, data: Uint8Array.from(f.data.subarray(f.off, f.off + f.len)) }));
      assert.deepEqual(back, frames.map((f) => ({ ...f, data: Uint8Array.from(f.data) })));
    }), { numRuns: 150 });
  });

  it('arbitrary or lying bodies: FrameLogError only', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
      try {
        readFrameLog(b, () => undefined);
      } catch (e) {
        assert.ok(e instanceof FrameLogError, String(e));
      }
    }), { numRuns: 400 });
    // declares a small length but inflates to more: refused at the declared size
    const big = brotliCompressSync(new Uint8Array(100_000));
    const body = new Uint8Array(4 + big.length);
    new DataView(body.buffer).setUint32(0, 1000, true);
    body.set(big, 4);
    assert.throws(() => readFrameLog(body, () => undefined), FrameLogError);
    // a frame that runs past the body
    const w = new FrameLogWriter();
    w.add(1, new Uint8Array(60), 0, 60, 1, 60, 1);
    const ok = w.finish();
    const raw = new Uint8Array(8 + 20 + 60);
    new DataView(raw.buffer).setUint32(0, 1, true);
    new DataView(raw.buffer).setUint32(8 + 12, 61, true); // the len column of frame 0
    const packed = brotliCompressSync(raw);
    const lying = new Uint8Array(4 + packed.length);
    new DataView(lying.buffer).setUint32(0, raw.length, true);
    lying.set(packed, 4);
    assert.throws(() => readFrameLog(lying, () => undefined), /frame 0 runs past the chunk/);
    let n = 0;
    readFrameLog(ok, () => { n++; });
    assert.equal(n, 1);
  });
});
