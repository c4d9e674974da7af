import assert from 'node:assert/strict';
import { CaptureClock } from '../../agent/capture/capture-clock.js';

/**
 * A fake pair of clocks on one true timeline: every read advances true time by `step` ms.
 * `wallStall[n]`: the n-th wall read returns, then the thread loses that many ms (preempted
 * between reading the wall clock and the monotonic one). `monoStall[n]`: the n-th monotonic
 * read first loses that many ms (a slow first call, as performance.now() is at start-up).
 */
function fakeClocks(startWallMs: number) {
  const s = { t: 0, wallBase: startWallMs + 0.5, step: 0.002, wallReads: 0, monoReads: 0, wallStall: {} as Record<number, number>, monoStall: {} as Record<number, number> };
  return {
    s,
    sources: {
      wallMs: () => {
        s.t += s.step;
        const w = Math.floor(s.wallBase + s.t);
        s.t += s.wallStall[++s.wallReads] ?? 0;
        return w;
      },
      monoMs: () => {
        s.t += (s.monoStall[++s.monoReads] ?? 0) + s.step;
        return 1000 + s.t;
      },
    },
    /** true wall time now, µs */
    trueUs: () => (s.wallBase + s.t) * 1000,
  };
}

describe('agent/capture/capture-clock', () => {
  it('stamps with the real wall clock to within a few ms and never goes backwards', () => {
    const c = new CaptureClock();
    const before = Date.now() * 1000;
    let prev = 0;
    for (let i = 0; i < 100000; i++) {
      const t = c.nowUs();
      assert.ok(t >= prev);
      prev = t;
    }
    const after = Date.now() * 1000;
    assert.ok(prev >= before - 2000 && prev <= after + 2000, `${prev} within [${before}, ${after}]`);
    assert.ok(Number.isInteger(prev));
  });

  it('anchors on a millisecond edge: stamps track the wall clock to a few µs', () => {
    const f = fakeClocks(1_700_000_000_000);
    const c = new CaptureClock(f.sources);
    const err = c.nowUs() - f.trueUs();
    assert.ok(Math.abs(err) < 15, `error ${err} µs`);
  });

  it('does not trust an edge seen across a preemption (it would be hundreds of µs off)', () => {
    for (let n = 1; n < 6; n++) {
      const f = fakeClocks(1_700_000_000_000);
      f.s.wallBase = 1_700_000_000_000 + 0.995; // an edge after a few reads...
      f.s.wallStall[n] = 0.6; // ...with the thread preempted right after some wall read
      const c = new CaptureClock(f.sources);
      const err = c.nowUs() - f.trueUs();
      assert.ok(Math.abs(err) < 15, `stall after wall read ${n}: error ${err} µs`);
    }
  });

  it('does not take a slow first monotonic read for a bracket (start-up of performance.now())', () => {
    for (let n = 1; n < 4; n++) {
      const f = fakeClocks(1_700_000_000_000);
      f.s.wallBase = 1_700_000_000_000 + 0.7;
      f.s.monoStall[n] = 0.8; // the edge passes while the n-th monotonic read is slow
      const c = new CaptureClock(f.sources);
      const err = c.nowUs() - f.trueUs();
      assert.ok(Math.abs(err) < 15, `slow monotonic read ${n}: error ${err} µs`);
    }
  });

  it('re-anchors after a wall clock step or a suspend, and not for sub-threshold drift', () => {
    const f = fakeClocks(1_700_000_000_000);
    const c = new CaptureClock(f.sources, 20_000);
    assert.equal(c.check(), 0);
    f.s.wallBase += 5; // 5 ms of drift: below the threshold
    assert.equal(c.check(), 0);
    f.s.wallBase += 60_000; // the laptop slept for a minute: monotonic time stood still
    const corr = c.check();
    assert.ok(Math.abs(corr - 60_005_000) < 50, `correction ${corr}`);
    assert.equal(c.resyncs, 1);
    assert.ok(Math.abs(c.nowUs() - f.trueUs()) < 15, 'after re-anchoring');
  });
});
