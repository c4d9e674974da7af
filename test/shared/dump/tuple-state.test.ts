import assert from 'node:assert/strict';
import { TupleState } from '../../../shared/dump/tuple-state.js';

describe('TupleState', () => {
  it('starts with the capacity asked for, every tuple blank (no reverse, not seen)', () => {
    const st = new TupleState(256);
    assert.equal(st.capacity, 256);
    for (const a of [st.ipId, st.next, st.ack, st.win, st.tsVal, st.tsEcr, st.rev, st.seen]) assert.equal(a.length, 256);
    assert.ok(st.rev.every((r) => r === -1));
    assert.ok(st.seen.every((s) => s === 0));
    assert.equal(new TupleState(0).capacity, 1, 'a zero capacity still holds one tuple');
  });

  it('keeps every tuple\'s state when ensure() grows it past the initial capacity', () => {
    const st = new TupleState(4);
    for (let t = 0; t < 4; t++) {
      st.init(t);
      st.ipId[t] = t + 1; st.next[t] = 7 * t; st.ack[t] = 100 + t; st.win[t] = 200 + t;
      st.tsVal[t] = 300 + t; st.tsEcr[t] = 400 + t; st.seen[t] = 1;
    }
    st.link(0, 3);
    st.ensure(9);
    assert.equal(st.capacity, 16);
    for (let t = 0; t < 4; t++) {
      assert.deepEqual([st.ipId[t], st.next[t], st.ack[t], st.win[t], st.tsVal[t], st.tsEcr[t], st.seen[t]],
        [t + 1, 7 * t, 100 + t, 200 + t, 300 + t, 400 + t, 1]);
    }
    assert.deepEqual([st.rev[0], st.rev[1], st.rev[2], st.rev[3]], [3, -1, -1, 0]);
    for (let t = 4; t < 16; t++) assert.deepEqual([st.rev[t], st.seen[t], st.next[t]], [-1, 0, 0]);
  });
});
