// One line per active part of a policy, with the time each timed part has left.
import assert from 'node:assert/strict';
import { describePolicy } from '../../../agent/interdiction/describe-policy.js';
import { applyPolicyChange } from '../../../agent/interdiction/policy-changes.js';
import { emptyPolicy, type PolicyChange } from '../../../agent/interdiction/policy.js';

const MGMT = [{ address: '192.0.2.10', port: 443 }, { address: '2001:db8::10', port: 443 }];
const T0 = 1_700_000_000_000;

describe('agent/interdiction/describe-policy', function () {
  it('describes isolation, blocks, degradation and management channels', function () {
    const changes: PolicyChange[] = [
      { kind: 'isolate', forMs: 2000 },
      { kind: 'block', peer: '203.0.113.5', forMs: 5000 },
      { kind: 'block', peer: '203.0.113.6' },
      { kind: 'degrade', peer: '198.51.100.7', lossPercent: 20, forMs: 3000 },
      { kind: 'degrade', rateBytesPerSec: 250, lossPercent: 5 },
    ];
    const p = changes.reduce((acc, c) => applyPolicyChange(acc, c, T0), emptyPolicy(MGMT));
    assert.deepEqual(describePolicy(p, T0 + 500), [
      'isolate; allowed: none (2 s left)', 'block 203.0.113.5 (5 s left)', 'block 203.0.113.6',
      'degrade 198.51.100.7: loss 20% (3 s left)', 'degrade all: rate 250 B/s, loss 5%',
      'management channel 192.0.2.10:443', 'management channel [2001:db8::10]:443',
    ]);
    assert.deepEqual(describePolicy(emptyPolicy(MGMT.slice(0, 1)), T0), ['management channel 192.0.2.10:443']);
  });
});
