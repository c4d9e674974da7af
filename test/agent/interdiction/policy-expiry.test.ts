// Timed parts of a policy end exactly when their time is up; the next expiry is reported.
import assert from 'node:assert/strict';
import { applyPolicyChange } from '../../../agent/interdiction/policy-changes.js';
import { expirePolicy, nextExpiry } from '../../../agent/interdiction/policy-expiry.js';
import { emptyPolicy, type PolicyChange } from '../../../agent/interdiction/policy.js';

const MGMT = [{ address: '192.0.2.10', port: 443 }];
const T0 = 1_700_000_000_000;

describe('agent/interdiction/policy-expiry', function () {
  it('expires exactly the parts whose time is up, and reports the next expiry', function () {
    const changes: PolicyChange[] = [
      { kind: 'isolate', forMs: 2000 },
      { kind: 'block', peer: '203.0.113.5', forMs: 5000 },
      { kind: 'block', peer: '203.0.113.6' },
      { kind: 'degrade', peer: '198.51.100.7', lossPercent: 20, forMs: 3000 },
    ];
    const p = changes.reduce((acc, c) => applyPolicyChange(acc, c, T0), emptyPolicy(MGMT));
    assert.equal(nextExpiry(p), T0 + 2000);
    assert.deepEqual(expirePolicy(p, T0 + 1999).expired, []);
    const a = expirePolicy(p, T0 + 2000);
    assert.deepEqual(a.expired, [{ kind: 'isolate', expiresAt: T0 + 2000 }]);
    assert.equal(a.policy.mode, 'none');
    assert.equal(nextExpiry(a.policy), T0 + 3000);
    const b = expirePolicy(a.policy, T0 + 10_000);
    assert.deepEqual(b.expired.map((e) => `${e.kind} ${e.peer}`), ['block 203.0.113.5', 'degrade 198.51.100.7']);
    assert.deepEqual(b.policy.blocks, [{ peer: '203.0.113.6' }]);
    assert.equal(nextExpiry(b.policy), undefined);
  });
});
