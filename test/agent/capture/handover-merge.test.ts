// The cut between two capture sessions during a swap, as pure logic: equal stamps at the cut,
// stamps that differ between the two handles (where a pure time cut loses or doubles a packet),
// equal packets, packets only one handle saw, and random interleavings of all of these.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HandoverMerge, mergeHeld, type HandoverSide, type HeldPacket } from '../../../agent/capture/handover-merge.js';

const T = 1_700_000_000_000_000; // the cut, µs
const G = 5_000; // the guard, µs

/** A packet on the wire: `id` only for the test's bookkeeping; the bytes say what it is. */
interface Wire {
  id: number;
  bytes: Uint8Array;
}

function wire(id: number, len = 120, fill?: number): Wire {
  const bytes = new Uint8Array(len).fill(fill ?? id & 0xff);
  if (fill === undefined) new DataView(bytes.buffer).setUint32(0, id);
  return { id, bytes };
}

/** What one handle saw: the packet and its stamp, in the order the ring delivered them. */
type Seen = { w: Wire; ts: number }[];

/**
 * Runs both sessions through the merge as LiveCapture does (each packet delivered, held or
 * skipped as it arrives, then the merge resolved) and returns the ids delivered, in order.
 */
function swap(old: Seen, next: Seen, snapOld = 256, snapNew = 416): { id: number; ts: number; capLen: number }[] {
  const merge = new HandoverMerge(T, G, Math.min(snapOld, snapNew));
  const out: { bytes: Uint8Array; ts: number; capLen: number }[] = [];
  const feed = (side: HandoverSide, seen: Seen, snap: number): void => {
    for (const { w, ts } of seen) {
      const capLen = Math.min(snap, w.bytes.length);
      const a = merge.action(side, ts);
      if (a === 'deliver' || a === 'note') out.push({ bytes: w.bytes.slice(0, capLen), ts, capLen });
      if (a === 'note') merge.hold(side, 113, w.bytes, 0, capLen, w.bytes.length, ts, true);
      else if (a === 'hold') merge.hold(side, 113, w.bytes, 0, capLen, w.bytes.length, ts);
    }
  };
  // the old ring drains last in a swap; feeding order does not matter to the merge
  feed('new', next, snapNew);
  feed('old', old, snapOld);
  for (const p of merge.resolve()) {
    assert.equal(p.linkType, 113);
    out.push({ bytes: p.data, ts: p.tsUs, capLen: p.data.length });
  }
  return out.map((o) => ({ id: new DataView(o.bytes.buffer, o.bytes.byteOffset).getUint32(0), ts: o.ts, capLen: o.capLen }));
}

const ids = (r: { id: number }[]): number[] => r.map((x) => x.id).sort((a, b) => a - b);

/** The pure time cut the merge replaces: old delivers ts < T, new ts >= T. */
function pureCut(old: Seen, next: Seen): number[] {
  return [...old.filter((s) => s.ts < T), ...next.filter((s) => s.ts >= T)].map((s) => s.w.id).sort((a, b) => a - b);
}

describe('agent/capture/handover-merge', () => {
  it('equal stamps on both handles, some exactly at the cut: each packet once, from the side the cut gives it to', () => {
    const stamps = [T - 2 * G - 1, T - G - 1, T - G, T - 1, T, T, T + 1, T + G - 1, T + G, T + 2 * G, T + 3 * G];
    const seen: Seen = stamps.map((ts, i) => ({ w: wire(i + 1), ts }));
    const r = swap(seen, seen);
    assert.deepEqual(ids(r), seen.map((s) => s.w.id));
    // held packets come out in stamp order
    const resolvedTs = r.filter((x) => x.ts >= T - G && x.ts < T + G).map((x) => x.ts);
    assert.deepEqual(resolvedTs, [...resolvedTs].sort((a, b) => a - b));
  });

  it('the new handle stamped a packet earlier than the old one, across the cut: the pure time cut loses it, the merge delivers it once', () => {
    // new stamp T-3, old stamp T+4: old says "after the cut, the new session has it", new says
    // "before the cut, the old session has it"
    const w = wire(7);
    const old: Seen = [{ w: wire(6), ts: T - 900 }, { w, ts: T + 4 }, { w: wire(8), ts: T + 800 }];
    const next: Seen = [{ w: wire(6), ts: T - 903 }, { w, ts: T - 3 }, { w: wire(8), ts: T + 797 }];
    assert.deepEqual(pureCut(old, next), [6, 8], 'the edge case: lost by a pure time cut');
    assert.deepEqual(ids(swap(old, next)), [6, 7, 8]);
  });

  it('the old handle stamped it earlier, across the cut: the pure time cut doubles it, the merge delivers it once', () => {
    const w = wire(9);
    const old: Seen = [{ w, ts: T - 2 }];
    const next: Seen = [{ w, ts: T + 2 }];
    assert.deepEqual(pureCut(old, next), [9, 9], 'the edge case: doubled by a pure time cut');
    const r = swap(old, next);
    assert.deepEqual(ids(r), [9]);
    assert.equal(r[0]!.ts, T + 2, 'the copy of the session the cut gives it to (new, stamp >= T)');
  });

  it('compares only the bytes both snap lengths kept: a packet cut at 256 bytes by the old handle and whole in the new one is one packet', () => {
    const w = wire(11, 400);
    const r = swap([{ w, ts: T + 10 }], [{ w, ts: T + 10 }], 256, 416);
    assert.deepEqual(r, [{ id: 11, ts: T + 10, capLen: 400 }], 'the new session\'s copy, with the new snap length');
    const r2 = swap([{ w, ts: T - 10 }], [{ w, ts: T - 10 }], 256, 416);
    assert.deepEqual(r2, [{ id: 11, ts: T - 10, capLen: 256 }], 'before the cut: the old session\'s copy');
  });

  it('equal packets (same length and bytes) within the guard: n copies on each side give n', () => {
    const a = wire(0, 80, 0x42);
    const b = wire(0, 80, 0x42);
    const c = wire(0, 80, 0x42);
    const old: Seen = [{ w: a, ts: T - 5 }, { w: b, ts: T - 5 }, { w: c, ts: T + 1 }];
    const next: Seen = [{ w: a, ts: T - 5 }, { w: b, ts: T - 5 }, { w: c, ts: T + 1 }];
    assert.equal(swap(old, next).length, 3);
  });

  it('a packet only one handle saw (the other\'s ring overflowed) comes out when the cut gives it to the handle that saw it', () => {
    const oldOnlyBefore = wire(21);
    const oldOnlyAfter = wire(22);
    const newOnlyAfter = wire(23);
    const newOnlyBefore = wire(24);
    const old: Seen = [{ w: oldOnlyBefore, ts: T - 100 }, { w: oldOnlyAfter, ts: T + 100 }];
    const next: Seen = [{ w: newOnlyAfter, ts: T + 200 }, { w: newOnlyBefore, ts: T - 200 }];
    // 22 and 24 were the other handle's to deliver and that handle dropped them (counted there)
    assert.deepEqual(ids(swap(old, next)), [21, 23]);
  });

  it('holds a copy of the frame: the capture\'s batch Buffer is overwritten by the next batch', () => {
    const merge = new HandoverMerge(T, G, 256);
    const batch = Buffer.alloc(64, 0x11);
    merge.hold('old', 1, batch, 8, 20, 20, T - 1);
    batch.fill(0x22);
    const [p] = merge.resolve();
    assert.deepEqual([...p!.data], new Array(20).fill(0x11));
  });

  it('mergeHeld pairs copies in stamp order within the guard and cuts the rest by time', () => {
    const held = (id: number, ts: number, fill = 0x10): HeldPacket => {
      const data = new Uint8Array(60).fill(fill);
      new DataView(data.buffer).setUint32(0, id);
      return { linkType: 1, tsUs: ts, wireLen: 60, data };
    };
    const out = mergeHeld([held(1, T - 10), held(2, T + 10)], [held(1, T - 12), held(2, T + 9), held(3, T - 1)], T, G, 60);
    assert.deepEqual(out.map((p) => [new DataView(p.data.buffer).getUint32(0), p.tsUs]), [[1, T - 10], [2, T + 9]]);
    // copies farther apart than the guard are two packets, each cut by time
    const far = mergeHeld([held(5, T - G - 1)], [held(5, T + 1)], T, G, 60);
    assert.deepEqual(far.map((p) => p.tsUs), [T - G - 1, T + 1]);
  });

  it('random interleavings: a packet both handles saw comes out once, one only one handle saw when the cut gives it to that handle', () => {
    const packet = fc.record({
      at: fc.integer({ min: -4 * G, max: 4 * G }), // true time relative to the cut, µs
      dOld: fc.integer({ min: 0, max: G - 1 }), // each handle's stamp lags the truth by its own amount (< G apart)
      dNew: fc.integer({ min: 0, max: G - 1 }),
      seenBy: fc.constantFrom('both', 'both', 'both', 'old', 'new'),
    });
    fc.assert(fc.property(fc.array(packet, { maxLength: 80 }), fc.constantFrom('stamp order', 'reversed', 'as generated'), (ps, order) => {
      const old: Seen = [];
      const next: Seen = [];
      const expected = new Map<number, number>();
      ps.forEach((p, i) => {
        const w = wire(i + 1);
        const tsOld = T + p.at + p.dOld;
        const tsNew = T + p.at + p.dNew;
        if (p.seenBy !== 'new') old.push({ w, ts: tsOld });
        if (p.seenBy !== 'old') next.push({ w, ts: tsNew });
        const once = p.seenBy === 'both' || (p.seenBy === 'old' && tsOld < T) || (p.seenBy === 'new' && tsNew >= T);
        expected.set(w.id, once ? 1 : 0);
      });
      // rings deliver roughly in stamp order, not exactly (several CPUs stamp)
      if (order === 'stamp order') { old.sort((a, b) => a.ts - b.ts); next.sort((a, b) => a.ts - b.ts); }
      if (order === 'reversed') { old.reverse(); next.reverse(); }
      const got = new Map<number, number>();
      for (const x of swap(old, next)) got.set(x.id, (got.get(x.id) ?? 0) + 1);
      for (const [id, n] of expected) assert.equal(got.get(id) ?? 0, n, `packet ${id}`);
    }), { numRuns: 1000 });
  });

  it('random repeated packets (equal bytes) that both handles saw with the kernel\'s one stamp: as many come out as were sent', () => {
    // with one stamp per packet (Linux, SO_TIMESTAMP) copies pair exactly. Where each handle
    // stamps itself AND a datagram repeats byte for byte within the guard, which copy is which
    // cannot be known: the count is then not guaranteed (docs/capture.md)
    const copy = fc.record({ at: fc.integer({ min: -4 * G, max: 4 * G }), lag: fc.integer({ min: 0, max: G - 1 }) });
    fc.assert(fc.property(fc.array(copy, { minLength: 1, maxLength: 12 }), fc.boolean(), (cs, reverse) => {
      const w = wire(5, 90, 0x33);
      const old: Seen = cs.map((c) => ({ w, ts: T + c.at + c.lag }));
      const next: Seen = cs.map((c) => ({ w, ts: T + c.at + c.lag }));
      if (reverse) old.reverse();
      assert.equal(swap(old, next).length, cs.length);
    }), { numRuns: 1000 });
  });
});
