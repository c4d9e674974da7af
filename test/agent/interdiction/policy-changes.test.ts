// The rules that change an interdiction policy: isolate, block, degrade, their undoing,
// release, management channels and the limits of the table.
import assert from 'node:assert/strict';
import { applyPolicyChange, withManagementChannels } from '../../../agent/interdiction/policy-changes.js';
import { expirePolicy } from '../../../agent/interdiction/policy-expiry.js';
import { emptyPolicy, hasInterdiction, type InterdictionPolicy, type PolicyChange } from '../../../agent/interdiction/policy.js';
import { InterdictionInputError } from '../../../shared/interdiction/interdiction-input.js';
import { PeerRefError } from '../../../shared/commands/peer-ref.js';

const MGMT = [{ address: '192.0.2.10', port: 443 }];
const T0 = 1_700_000_000_000;

function apply(p: InterdictionPolicy, ...changes: PolicyChange[]): InterdictionPolicy {
  return changes.reduce((acc, c) => applyPolicyChange(acc, c, T0), p);
}

describe('agent/interdiction/policy-changes', function () {
  it('canonicalizes peers and refuses CIDRs with host bits set', function () {
    const peers = (...list: string[]) => apply(emptyPolicy(MGMT), ...list.map((peer) => ({ kind: 'block' as const, peer }))).blocks.map((b) => b.peer);
    assert.deepEqual(peers('203.0.113.5', '203.0.113.5/32', ' 198.51.100.0/24 ', '2001:DB8:0:0::1', '2001:db8::/32', '0.0.0.0/0'),
      ['203.0.113.5', '198.51.100.0/24', '2001:db8::1', '2001:db8::/32', '0.0.0.0/0']);
    assert.throws(() => peers('10.1.2.3/8'), /--peer: expected a CIDR without host bits set \(did you mean 10\.0\.0\.0\/8\?\); got "10\.1\.2\.3\/8"/);
    assert.throws(() => peers('evil.example.com'), /--peer: expected an IPv4\/IPv6 address or CIDR/);
    assert.throws(() => peers('10.0.0.0/33'), PeerRefError);
    assert.throws(() => peers('1.2.3.4; rm -rf /'), PeerRefError);
  });

  it('isolate needs a known management channel (or the operator would lock himself out)', function () {
    assert.throws(() => apply(emptyPolicy(), { kind: 'isolate' }), /isolate: expected the collector address and port to be set first/);
    const p = apply(emptyPolicy(MGMT), { kind: 'isolate', allow: ['10.0.0.5', '10.0.0.5/32'], forMs: 60_000 });
    assert.equal(p.mode, 'isolate');
    assert.deepEqual(p.allow, ['10.0.0.5'], 'deduplicated after canonicalization');
    assert.equal(p.isolateExpiresAt, T0 + 60_000);
    const again = apply(p, { kind: 'isolate' });
    assert.deepEqual(again.allow, [], 're-issuing isolate replaces the allow list');
    assert.equal(again.isolateExpiresAt, undefined, 'and the expiry');
    assert.throws(() => withManagementChannels(again, []), /at least one while the host is isolated/);
  });

  it('re-issuing block/degrade for the same peer replaces the entry; unblock/undegrade remove it', function () {
    let p = apply(emptyPolicy(MGMT),
      { kind: 'block', peer: '203.0.113.5', forMs: 10_000 },
      { kind: 'block', peer: '203.0.113.5/32' },
      { kind: 'block', peer: '2001:db8::/32' },
      { kind: 'degrade', peer: '198.51.100.7', rateBytesPerSec: 250 },
      { kind: 'degrade', peer: '198.51.100.7', lossPercent: 50, forMs: 5000 },
      { kind: 'degrade', rateBytesPerSec: 100_000 });
    assert.deepEqual(p.blocks, [{ peer: '203.0.113.5' }, { peer: '2001:db8::/32' }]);
    assert.deepEqual(p.degrade, [{ peer: '198.51.100.7', lossPercent: 50, expiresAt: T0 + 5000 }, { rateBytesPerSec: 100_000 }]);
    p = apply(p, { kind: 'unblock', peer: '203.0.113.5' }, { kind: 'undegrade' });
    assert.deepEqual(p.blocks, [{ peer: '2001:db8::/32' }]);
    assert.deepEqual(p.degrade.map((d) => d.peer), ['198.51.100.7']);
    const released = apply(p, { kind: 'release' });
    assert.deepEqual(released, emptyPolicy(MGMT), 'release keeps only the management channel');
    assert.equal(hasInterdiction(released), false);
  });

  it('does not modify its input', function () {
    const p = apply(emptyPolicy(MGMT), { kind: 'block', peer: '203.0.113.5' });
    const copy = structuredClone(p);
    apply(p, { kind: 'block', peer: '203.0.113.6' }, { kind: 'isolate' }, { kind: 'release' });
    expirePolicy(p, Number.MAX_SAFE_INTEGER);
    assert.deepEqual(p, copy);
  });

  it('enforces limits', function () {
    let p = emptyPolicy(MGMT);
    for (let i = 0; i < 256; i++) p = applyPolicyChange(p, { kind: 'block', peer: `10.0.${i}.1` }, T0);
    assert.throws(() => applyPolicyChange(p, { kind: 'block', peer: '10.1.0.1' }, T0), /room for another block \(at most 256\)/);
    assert.throws(() => applyPolicyChange(p, { kind: 'degrade', rateBytesPerSec: 10 }, T0), /--rate: expected an integer rate in bytes\/s, 125/);
    assert.throws(() => applyPolicyChange(p, { kind: 'degrade', lossPercent: 0 }, T0), /--loss: expected a loss percentage/);
    assert.throws(() => applyPolicyChange(p, { kind: 'block', peer: '10.9.9.9', forMs: 10 }, T0), (e: unknown) => e instanceof InterdictionInputError && /^--for: expected a duration in ms, 1000 \.\./.test(e.message));
  });
});
