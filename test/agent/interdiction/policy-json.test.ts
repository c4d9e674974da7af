// A policy read back from the state file: any policy the rules can build survives the JSON
// round trip unchanged, and a damaged one is refused with the field named.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { applyPolicyChange } from '../../../agent/interdiction/policy-changes.js';
import { validatePolicy } from '../../../agent/interdiction/policy-json.js';
import { emptyPolicy, type PolicyChange } from '../../../agent/interdiction/policy.js';

const MGMT = [{ address: '192.0.2.10', port: 443 }];
const T0 = 1_700_000_000_000;

describe('agent/interdiction/policy-json', function () {
  const changeArb: fc.Arbitrary<PolicyChange> = fc.oneof(
    fc.record({ kind: fc.constant('isolate' as const), allow: fc.array(fc.ipV4().map((a) => a), { maxLength: 4 }) }),
    fc.record({ kind: fc.constant('block' as const), peer: fc.oneof(fc.ipV4(), fc.ipV6()) }, { requiredKeys: ['kind', 'peer'] }),
    fc.record({
      kind: fc.constant('degrade' as const),
      peer: fc.ipV4(),
      rateBytesPerSec: fc.integer({ min: 125, max: 1e9 }),
      lossPercent: fc.integer({ min: 1, max: 10000 }).map((n) => n / 100),
      forMs: fc.integer({ min: 1000, max: 1e9 }),
    }, { requiredKeys: ['kind', 'rateBytesPerSec'] }),
    fc.constant({ kind: 'release' as const }),
  );

  it('validatePolicy(JSON round trip) reproduces any policy built from valid changes', function () {
    fc.assert(fc.property(fc.array(changeArb, { maxLength: 12 }), (changes) => {
      const p = changes.reduce((acc, c) => applyPolicyChange(acc, c, T0), emptyPolicy(MGMT));
      assert.deepEqual(validatePolicy(JSON.parse(JSON.stringify(p))), p);
    }), { numRuns: 200 });
  });

  it('rejects corrupted policies with the field named', function () {
    const good = applyPolicyChange(emptyPolicy(MGMT), { kind: 'isolate' }, T0);
    assert.throws(() => validatePolicy({ ...good, mode: 'panic' }), /policy\.mode: expected "none" or "isolate"; got "panic"/);
    assert.throws(() => validatePolicy({ ...good, allow: 'all' }), /policy\.allow: expected an array/);
    assert.throws(() => validatePolicy({ ...good, blocks: [{ peer: 'x' }] }), /policy\.blocks\[\]\.peer: expected an IPv4\/IPv6 address/);
    assert.throws(() => validatePolicy({ ...good, degrade: [{ peer: '1.2.3.4' }] }), /policy\.degrade\[\]: expected rateBytesPerSec and\/or lossPercent/);
    assert.throws(() => validatePolicy({ ...good, managementChannels: [{ address: '10.0.0.1', port: 70000 }] }), /management channel port: expected a TCP port 1\.\.65535; got "70000"/);
    assert.throws(() => validatePolicy({ ...good, isolateExpiresAt: -1 }), /policy\.isolateExpiresAt: expected a time in ms/);
    assert.throws(() => validatePolicy(null), /policy: expected an object/);
  });
});
