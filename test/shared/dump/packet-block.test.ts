// The block encoder of the per-packet columns (shared/dump/packet-block.ts), checked against
// the 'ts' column as docs/dump-format.md 3.3 defines it, value by value: whatever the block
// does to run fast (encodeTs keeps the previous timestamp in memory, not in a local), the
// bytes are the spec's, across block boundaries and escapes.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteColumn, zigzag32 } from '../../../shared/dump/byte-column.js';
import { BLOCK_PACKETS, PacketBlock, type BlockColumns } from '../../../shared/dump/packet-block.js';
import { TS_ESCAPE } from '../../../shared/dump/dump-layout.js';

function columns(): BlockColumns {
  const c = (): ByteColumn => new ByteColumn(16);
  return {
    shape: c(), tupleIdx: c(), ts: c(), payloadLen: c(), ipOverhead: c(), wireOverhead: c(), ipId: c(), ttl: c(),
    fragFlags: c(), fragOffset: c(), tcpFlags: c(), tcpSeq: c(), tcpAck: c(), tcpWindow: c(), tcpOptFlags: c(),
    tcpTsVal: c(), tcpTsEcr: c(),
  };
}

/** The 'ts' column of `times` as the spec writes it, one value at a time. */
function specTs(times: number[], prev: number): Uint8Array {
  const col = new ByteColumn(16);
  const scratch = new DataView(new ArrayBuffer(8));
  for (const t of times) {
    const d = t - prev;
    if (Number.isInteger(d) && d >= -(2 ** 31) && d < 2 ** 31) col.uint(zigzag32(d) + 1);
    else {
      col.byte(TS_ESCAPE);
      col.f64(t, scratch);
    }
    prev = t;
  }
  return col.view().slice();
}

/** The 'ts' column the block writes for `times`, flushed every `every` packets. */
function blockTs(times: number[], prev: number, every: number): Uint8Array {
  const block = new PacketBlock();
  const c = columns();
  for (const t of times) {
    block.ts[block.n++] = t;
    if (block.n === every) prev = block.flush(c, prev);
  }
  block.flush(c, prev);
  return c.ts.view().slice();
}

const T0 = 1_700_000_000_000_000;

describe('shared/dump/packet-block', () => {
  it('the ts column is the spec\'s, value by value, across block boundaries (property)', () => {
    // deltas of every size class: 0, one and several varint bytes, the int32 edges (escape
    // beyond), fractional times (escape), and jumps backwards
    const delta = fc.oneof(
      fc.integer({ min: -200, max: 200 }),
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      fc.constantFrom(-(2 ** 31), 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 40),
      fc.double({ min: -1e6, max: 1e6, noNaN: true }),
    );
    fc.assert(fc.property(fc.array(delta, { maxLength: 300 }), fc.integer({ min: 1, max: 70 }), (deltas, every) => {
      let t = T0;
      const times = deltas.map((d) => (t = Math.max(0, t + d)));
      assert.deepEqual(blockTs(times, T0 - 5, every), specTs(times, T0 - 5));
    }), { numRuns: 300 });
  });

  it('u32Run and sintDiffRun write what u32 and sint write value by value (property)', () => {
    // every varint length (1-5 bytes) and its edges, in runs of any length (the unrolled passes
    // of four and the rest), appended behind bytes already in the column
    const u32 = fc.oneof(
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: 0, max: 300 }),
      fc.constantFrom(0x7f, 0x80, 0x3fff, 0x4000, 0x1fffff, 0x200000, 0xfffffff, 0x10000000, 0x7fffffff, 0x80000000, 0xffffffff),
    );
    fc.assert(fc.property(fc.array(fc.tuple(u32, u32), { maxLength: 40 }), fc.integer({ min: 0, max: 9 }), (pairs, lead) => {
      const a = Uint32Array.from(pairs.map((x) => x[0]));
      const b = Uint32Array.from(pairs.map((x) => x[1]));
      const run = new ByteColumn(1);
      const one = new ByteColumn(1);
      for (let i = 0; i < lead; i++) { run.byte(i); one.byte(i); }
      run.u32Run(a, a.length);
      run.sintDiffRun(a, b, a.length);
      for (const v of a) one.u32(v);
      for (let i = 0; i < a.length; i++) one.sint(a[i]! - b[i]!);
      assert.deepEqual(run.view(), one.view());
    }), { numRuns: 500 });
  });

  it('a full block of packets returns the last timestamp for the next block', () => {
    const block = new PacketBlock();
    const c = columns();
    for (let i = 0; i < BLOCK_PACKETS; i++) block.ts[block.n++] = T0 + i * 1000;
    assert.equal(block.flush(c, T0), T0 + (BLOCK_PACKETS - 1) * 1000);
    assert.equal(block.n, 0);
    assert.equal(block.flush(c, 7), 7, 'an empty block hands the previous timestamp on');
  });
});
