import assert from 'node:assert/strict';
import { SourceLimiter } from '../../../collector/server/source-limiter.js';

describe('SourceLimiter', () => {
  it('gives each source its burst, then its rate; sources do not share', () => {
    const l = new SourceLimiter(1, 3);
    const t = 1_000_000;
    for (let i = 0; i < 3; i++) assert.equal(l.take('a', t), true);
    assert.equal(l.take('a', t), false);
    assert.equal(l.exhausted('a', t), true);
    assert.equal(l.retryAfterSec('a', t), 1);
    assert.equal(l.take('b', t), true, 'another source has its own budget');
    assert.equal(l.exhausted('a', t + 999), true);
    assert.equal(l.take('a', t + 1000), true, 'one unit back after a second');
    assert.equal(l.exhausted('a', t + 1000), true);
  });

  it('remembers at most maxSources, forgetting the least recently seen', () => {
    const l = new SourceLimiter(1, 1, 2);
    assert.equal(l.take('a', 0), true);
    assert.equal(l.take('b', 0), true);
    assert.equal(l.exhausted('a', 0), true); // a is now the most recent
    assert.equal(l.take('c', 0), true); // b is forgotten
    assert.equal(l.size, 2);
    assert.equal(l.exhausted('a', 0), true, 'a is still remembered');
    assert.equal(l.take('b', 0), true, 'b starts afresh');
  });

  it('refuses nonsense settings', () => {
    assert.throws(() => new SourceLimiter(0, 1), RangeError);
    assert.throws(() => new SourceLimiter(1, 0.5), RangeError);
  });
});
