// The one duration grammar of every CLI flag and field: units, compounds, bare seconds, ranges,
// messages, and arbitrary text (a DurationError or a whole number of ms, nothing else).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DurationError, formatDuration, hasDurationUnits, inDurationRange, ONE_SECOND_OR_MORE, parseDuration } from '../../../shared/cli/duration.js';

const DAY = 86_400_000;

describe('shared/cli/duration', function () {
  it('parses units, compounds, decimals and bare seconds to whole milliseconds', function () {
    const cases: [string, number][] = [
      ['2s', 2000], ['10m', 600_000], ['1h30m', 5_400_000], ['1500ms', 1500], ['1d', DAY], ['366d', 366 * DAY],
      ['1.5h', 5_400_000], ['90', 90_000], ['0.5', 500], [' 2 h ', 7_200_000], ['1d 2h', DAY + 7_200_000], ['1m1s1ms', 61_001], ['0.0004s', 0],
    ];
    for (const [text, ms] of cases) assert.equal(parseDuration(text, '--for'), ms, text);
  });

  it('refuses what is not a duration, naming the option and the value', function () {
    for (const bad of ['', 'soon', '1y', '2 weeks', '-5s', '1e3s', 's', '1h-30m', '5m ago', '1'.repeat(70) + 's']) {
      assert.throws(() => parseDuration(bad, '--for'), (e: unknown) => {
        assert.ok(e instanceof DurationError, bad);
        assert.equal(e.code, 'MEERKAT_ERR_DURATION');
        assert.match(e.message, /^--for: expected a duration e\.g\. 30s, 10m, 2h, 1h30m; got /);
        return true;
      });
    }
  });

  it('checks a range and names it in the message', function () {
    const range = { minMs: 1000, maxMs: 366 * DAY };
    assert.equal(parseDuration('1s', '--for', range), 1000);
    assert.equal(parseDuration('366d', '--for', range), 366 * DAY);
    assert.throws(() => parseDuration('367d', '--for', range), /DurationError: --for: expected a duration e\.g\. 30s, 10m, 2h, 1h30m \(1s \.\. 366d\); got "367d"$/);
    assert.throws(() => parseDuration('500ms', '--for', range), DurationError);
    assert.throws(() => parseDuration('0s', '--window', ONE_SECOND_OR_MORE), /DurationError: --window: expected .* \(at least 1s\); got "0s"$/);
    assert.equal(parseDuration('10000d', '--window', ONE_SECOND_OR_MORE), 10_000 * DAY);
  });

  it('formats durations with the largest units first', function () {
    assert.equal(formatDuration(366 * DAY), '366d');
    assert.equal(formatDuration(5_400_000), '1h30m');
    assert.equal(formatDuration(1000), '1s');
    assert.equal(formatDuration(DAY + 1), '1d1ms');
    assert.equal(formatDuration(0), '0s');
  });

  it('a formatted duration parses back to the same milliseconds', function () {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1000 * 366 * DAY }), (ms) => {
      assert.equal(parseDuration(formatDuration(ms), 'x'), ms);
      assert.ok(hasDurationUnits(formatDuration(ms)));
    }), { numRuns: 500 });
  });

  it('any text gives a whole number of ms within the range, or a DurationError', function () {
    const range = { minMs: 1000, maxMs: 7 * DAY };
    const piece = fc.constantFrom('1', '30', '0.5', '.', 'ms', 's', 'm', 'h', 'd', ' ', 'x', '-', '9'.repeat(16));
    fc.assert(fc.property(fc.oneof(fc.string(), fc.array(piece, { maxLength: 8 }).map((p) => p.join(''))), (text) => {
      try {
        const ms = parseDuration(text, '--for', range);
        assert.ok(inDurationRange(ms, range), `${text} -> ${ms}`);
      } catch (e) {
        assert.ok(e instanceof DurationError, String(e));
      }
    }), { numRuns: 3000 });
  });

  it('tells duration text from dates and bare numbers', function () {
    assert.ok(hasDurationUnits('2h'));
    assert.ok(hasDurationUnits('1h30m'));
    assert.ok(!hasDurationUnits('90'));
    assert.ok(!hasDurationUnits('2024-01-01T00:00:00Z'));
    assert.ok(!hasDurationUnits('1700000000.5'));
  });
});
