// Interdiction values as operators type them: rates and loss percentages, with errors that
// name the option, the value and an example.
import assert from 'node:assert/strict';
import { InterdictionInputError, parseLoss, parseRate } from '../../../shared/interdiction/interdiction-input.js';

describe('shared/interdiction/interdiction-input', function () {
  it('parses rates: lower-case b = bits, upper-case B = bytes, k/M/G = 1000, Ki/Mi = 1024', function () {
    const cases: [string, number][] = [
      ['2kbps', 250], ['2 kbps', 250], ['2Kbps', 250], ['1Mbit/s', 125_000], ['1mbps', 125_000], ['64kbit', 8000],
      ['64KB/s', 64_000], ['64kB/s', 64_000], ['64KiB/s', 65_536], ['1.5MiB/s', 1_572_864], ['500B/s', 500], ['1GB/s', 1e9], ['10Gbps', 1.25e9],
      ['125bytes/s', 125],
    ];
    for (const [text, want] of cases) assert.equal(parseRate(text), want, text);
  });

  it('refuses bad rates with a message naming the option, the value and an example', function () {
    for (const bad of ['fast', '', '64', '64 KB per second', '-5kbps', '1kb', '100b/s', '1Tbps', '64XB/s']) {
      assert.throws(() => parseRate(bad), (e: unknown) => {
        assert.ok(e instanceof InterdictionInputError, bad);
        assert.equal(e.option, '--rate');
        assert.match(e.message, /^--rate: expected a rate e\.g\. 2kbps, 64KB\/s/);
        assert.ok(e.message.includes(JSON.stringify(bad)), e.message);
        return true;
      });
    }
  });

  it('parses loss percentages', function () {
    assert.equal(parseLoss('50%'), 50);
    assert.equal(parseLoss('12.5'), 12.5);
    assert.equal(parseLoss('100%'), 100);
    for (const bad of ['0%', '101%', '50.123%', 'half', '-1']) {
      assert.throws(() => parseLoss(bad), (e: unknown) => e instanceof InterdictionInputError && /^--loss: expected a loss percentage in \(0, 100\]/.test(e.message), bad);
    }
  });
});
