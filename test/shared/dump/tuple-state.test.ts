import assert from 'node:assert/strict';
import { TupleSlot, TupleState } from '../../../shared/dump/tuple-state.js';

/** tuple t's words in slot order: ipId, next, ack, win, tsVal, tsEcr, rev, seen */
function words(st: TupleState, t: number): number[] {
  return Array.from(st.s.subarray(t * TupleSlot.Stride, (t + 1) * TupleSlot.Stride));
}

describe('TupleState', () => {
  it('starts with the capacity asked for, every tuple blank (no reverse, not seen)', () => {
    const st = new TupleState(256);
    assert.equal(st.capacity, 256);
    assert.equal(st.s.length, 256 * TupleSlot.Stride);
    for (let t = 0; t < 256; t++) {
      assert.deepEqual(words(st, t), [0, 0, 0, 0, 0, 0, -1, 0]);
      assert.equal(st.rev(t), -1);
    }
    assert.equal(new TupleState(0).capacity, 1, 'a zero capacity still holds one tuple');
  });

  it('keeps every tuple\'s state when ensure() grows it past the initial capacity', () => {
    const st = new TupleState(4);
    for (let t = 0; t < 4; t++) {
      st.init(t);
      const k = t * TupleSlot.Stride;
      st.s[k + TupleSlot.IpId] = t + 1; st.s[k + TupleSlot.Next] = 7 * t; st.s[k + TupleSlot.Ack] = 100 + t;
      st.s[k + TupleSlot.Win] = 200 + t; st.s[k + TupleSlot.TsVal] = 300 + t; st.s[k + TupleSlot.TsEcr] = 400 + t;
      st.s[k + TupleSlot.Seen] = 1;
    }
    st.link(0, 3);
    st.ensure(9);
    assert.equal(st.capacity, 16);
    for (let t = 0; t < 4; t++) {
      const rev = t === 0 ? 3 : t === 3 ? 0 : -1;
      assert.deepEqual(words(st, t), [t + 1, 7 * t, 100 + t, 200 + t, 300 + t, 400 + t, rev, 1]);
      assert.equal(st.rev(t), rev);
    }
    for (let t = 4; t < 16; t++) assert.deepEqual(words(st, t), [0, 0, 0, 0, 0, 0, -1, 0]);
  });

  it('init() blanks a tuple that held state', () => {
    const st = new TupleState(2);
    st.s.fill(9);
    st.init(1);
    assert.deepEqual(words(st, 1), [0, 0, 0, 0, 0, 0, -1, 0]);
    assert.deepEqual(words(st, 0), [9, 9, 9, 9, 9, 9, 9, 9], 'other tuples untouched');
  });
});
