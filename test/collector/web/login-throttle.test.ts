// Login throttling: a name is locked after its failures wherever they come from, an address is
// blocked after its failures whatever names it tries, locks end, success clears, memory is bounded.
import assert from 'node:assert/strict';
import { LoginThrottle } from '../../../collector/web/login-throttle.js';

const policy = { maxUserFailures: 3, maxClientFailures: 5, windowMs: 60_000, lockMs: 120_000, maxEntries: 100 };

describe('console login throttle', function () {
  let now = 0;
  const clock = (): number => now;
  beforeEach(() => { now = 1_000_000; });

  it('locks a user name after its failures, from any address, until the lock ends', () => {
    const t = new LoginThrottle(policy, clock);
    t.failed('alice', '10.0.0.1');
    t.failed('alice', '10.0.0.2');
    assert.deepEqual(t.check('alice', '10.0.0.3'), { ok: true });
    t.failed('Alice', '10.0.0.3');
    const v = t.check('alice', '10.0.0.9');
    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.reason, 'user-locked');
    assert.equal(!v.ok && v.retryAfterMs, 120_000);
    assert.deepEqual(t.check('bob', '10.0.0.9'), { ok: true }, 'other names are not locked');
    now += 119_999;
    assert.equal(t.check('alice', '10.0.0.9').ok, false);
    now += 1;
    assert.deepEqual(t.check('alice', '10.0.0.9'), { ok: true });
  });

  it('counts failures within the window only', () => {
    const t = new LoginThrottle(policy, clock);
    t.failed('alice', 'a');
    t.failed('alice', 'b');
    now += 61_000;
    t.failed('alice', 'c');
    assert.deepEqual(t.check('alice', 'd'), { ok: true });
  });

  it('blocks an address spraying many names', () => {
    const t = new LoginThrottle(policy, clock);
    for (let i = 0; i < 5; i++) t.failed(`user${i}`, '192.0.2.7');
    const v = t.check('someone-else', '192.0.2.7');
    assert.equal(!v.ok && v.reason, 'client-blocked');
    assert.deepEqual(t.check('someone-else', '192.0.2.8'), { ok: true });
  });

  it('a successful login clears its name\'s failures', () => {
    const t = new LoginThrottle(policy, clock);
    t.failed('alice', 'a');
    t.failed('alice', 'a');
    t.succeeded('alice');
    t.failed('alice', 'a');
    t.failed('alice', 'a');
    assert.deepEqual(t.check('alice', 'b'), { ok: true });
  });

  it('keeps at most maxEntries names (the oldest go)', () => {
    const t = new LoginThrottle({ ...policy, maxEntries: 10, maxUserFailures: 1, maxClientFailures: 1000 }, clock);
    for (let i = 0; i < 50; i++) t.failed(`u${i}`, 'x');
    assert.equal(t.check('u0', 'y').ok, true, 'evicted');
    assert.equal(t.check('u49', 'y').ok, false, 'kept');
  });
});
