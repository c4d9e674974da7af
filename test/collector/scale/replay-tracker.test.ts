import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReplayTracker } from '../../../collector/scale/replay-tracker.js';

describe('ReplayTracker', () => {
  it('points at the oldest fed dump that may hold a packet of an open flow', () => {
    const t = new ReplayTracker();
    t.fed('a', 10, 1_000);
    t.fed('a', 12, 2_000);
    t.fed('a', 15, 3_000);
    assert.equal(t.replayPoint('a', 500), 10);
    // the oldest open flow began after dump 10's last packet: dump 10 is no longer needed
    assert.equal(t.replayPoint('a', 1_500), 12);
    assert.equal(t.replayPoint('a', 2_000), 12, 'a flow starting at the last packet of a dump needs that dump');
    assert.equal(t.replayPoint('a', 2_500), 15);
    assert.equal(t.replayPoint('a', null), null, 'no open flow: nothing to replay');
    assert.equal(t.replayPoint('a', 2_500), null, 'forgotten once no flow was open');
  });

  it('keeps agents apart', () => {
    const t = new ReplayTracker();
    t.fed('a', 1, 100);
    t.fed('b', 2, 100);
    assert.equal(t.replayPoint('a', null), null);
    assert.equal(t.replayPoint('b', 50), 2);
    assert.equal(t.replayPoint('c', 50), null);
  });

  it('never points past a dump holding a packet at or after the oldest open start (property)', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 1e6 }), { minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 1e6 }), (ends, oldest) => {
      const sorted = [...ends].sort((x, y) => x - y);
      const t = new ReplayTracker();
      sorted.forEach((e, i) => t.fed('a', i + 1, e));
      const p = t.replayPoint('a', oldest);
      const first = sorted.findIndex((e) => e >= oldest);
      assert.equal(p, first < 0 ? null : first + 1);
    }));
  });
});
