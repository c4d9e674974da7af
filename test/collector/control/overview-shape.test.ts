// The backend-free parts of the console overview: the window ends now, or one minute after the
// newest record when nothing is that recent; the series has every minute of the window, quiet ones
// as zero, rates per second.
import assert from 'node:assert/strict';
import { minuteSeries, overviewWindow } from '../../../collector/control/overview-shape.js';

const MIN = 60e6;

describe('console overview shape', () => {
  it('the window: the minutes before now, or before one minute after the newest record', () => {
    const now = 1_000 * MIN;
    assert.deepEqual(overviewWindow(60, now, null), { fromUs: now - 60 * MIN, toUs: now });
    assert.deepEqual(overviewWindow(60, now, now - 10 * MIN), { fromUs: now - 60 * MIN, toUs: now }, 'recent traffic: ends now');
    assert.deepEqual(overviewWindow(60, now, now - 61 * MIN), { fromUs: now - 120 * MIN, toUs: now - 60 * MIN }, 'an imported capture');
  });

  it('the series: every minute of the window, quiet ones as zero', () => {
    const w = { fromUs: 10 * MIN, toUs: 13 * MIN };
    const s = minuteSeries(w, [{ m: 11, pkts: 120, bytes: 6000, flows: 3 }]);
    assert.deepEqual(s.map((x) => x.minute), [10, 11, 12, 13].map((m) => new Date(m * 60_000).toISOString()));
    assert.deepEqual(s[1], { minute: new Date(11 * 60_000).toISOString(), packetsPerSec: 2, bytesPerSec: 100, flows: 3 });
    assert.deepEqual(s.filter((x) => x.flows === 0).length, 3);
  });
});
