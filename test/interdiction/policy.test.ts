// Pure policy logic: input validation with clear errors, the command-word parser, changes,
// expiry, and the JSON round trip the state file relies on.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  InterdictionInputError,
  applyPolicyChange,
  canonicalPeer,
  describePolicy,
  emptyPolicy,
  expirePolicy,
  hasInterdiction,
  nextExpiry,
  parseDuration,
  parseInterdictionArgs,
  parseLoss,
  parseRate,
  validatePolicy,
  validatePolicyChange,
  withManagementChannels,
  type InterdictionPolicy,
  type PolicyChange,
} from '../../shared/interdiction/policy.js';

const MGMT = [{ address: '192.0.2.10', port: 443 }];
const T0 = 1_700_000_000_000;

function apply(p: InterdictionPolicy, ...changes: PolicyChange[]): InterdictionPolicy {
  return changes.reduce((acc, c) => applyPolicyChange(acc, c, T0), p);
}

describe('agent/interdiction/policy', function () {
  describe('value parsers', function () {
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

    it('parses loss percentages and durations', function () {
      assert.equal(parseLoss('50%'), 50);
      assert.equal(parseLoss('12.5'), 12.5);
      assert.equal(parseLoss('100%'), 100);
      for (const bad of ['0%', '101%', '50.123%', 'half', '-1']) assert.throws(() => parseLoss(bad), /^InterdictionInputError|--loss: expected a loss percentage in \(0, 100\]/);
      assert.equal(parseDuration('2s'), 2000);
      assert.equal(parseDuration('10m'), 600_000);
      assert.equal(parseDuration('1h30m'), 5_400_000);
      assert.equal(parseDuration('1500ms'), 1500);
      assert.equal(parseDuration('1d'), 86_400_000);
      for (const bad of ['0s', '500ms', '2', '2 s', '1y', '400d', 'soon']) {
        assert.throws(() => parseDuration(bad), (e: unknown) => e instanceof InterdictionInputError && /^--for: expected a duration e\.g\. 30s, 10m/.test(e.message), bad);
      }
    });

    it('canonicalizes peers and refuses CIDRs with host bits set', function () {
      assert.equal(canonicalPeer('203.0.113.5'), '203.0.113.5');
      assert.equal(canonicalPeer('203.0.113.5/32'), '203.0.113.5');
      assert.equal(canonicalPeer(' 198.51.100.0/24 '), '198.51.100.0/24');
      assert.equal(canonicalPeer('2001:DB8:0:0::1'), '2001:db8::1');
      assert.equal(canonicalPeer('2001:db8::/32'), '2001:db8::/32');
      assert.equal(canonicalPeer('0.0.0.0/0'), '0.0.0.0/0');
      assert.throws(() => canonicalPeer('10.1.2.3/8'), /--peer: expected a CIDR without host bits set \(did you mean 10\.0\.0\.0\/8\?\); got "10\.1\.2\.3\/8"/);
      assert.throws(() => canonicalPeer('evil.example.com'), /--peer: expected an IPv4\/IPv6 address or CIDR/);
      assert.throws(() => canonicalPeer('10.0.0.0/33'), InterdictionInputError);
      assert.throws(() => canonicalPeer('1.2.3.4; rm -rf /'), InterdictionInputError);
    });
  });

  describe('parseInterdictionArgs', function () {
    it('parses every verb', function () {
      assert.deepEqual(parseInterdictionArgs(['isolate']), { kind: 'isolate' });
      assert.deepEqual(parseInterdictionArgs(['isolate', '--allow', '10.0.0.5', '10.0.1.0/24', '--for', '2h']), { kind: 'isolate', allow: ['10.0.0.5', '10.0.1.0/24'], forMs: 7_200_000 });
      assert.deepEqual(parseInterdictionArgs(['isolate', '--allow=10.0.0.5,2001:db8::1', '--allow', '10.0.0.6']), { kind: 'isolate', allow: ['10.0.0.5', '2001:db8::1', '10.0.0.6'] });
      assert.deepEqual(parseInterdictionArgs(['block', '--peer', '203.0.113.0/24', '--for', '30m']), { kind: 'block', peer: '203.0.113.0/24', forMs: 1_800_000 });
      assert.deepEqual(parseInterdictionArgs(['unblock', '--peer', '203.0.113.0/24']), { kind: 'unblock', peer: '203.0.113.0/24' });
      assert.deepEqual(parseInterdictionArgs(['degrade', '--peer', '198.51.100.7', '--rate', '2kbps', '--loss', '50%']), { kind: 'degrade', peer: '198.51.100.7', rateBytesPerSec: 250, lossPercent: 50 });
      assert.deepEqual(parseInterdictionArgs(['degrade', '--loss', '10%', '--for', '1h']), { kind: 'degrade', lossPercent: 10, forMs: 3_600_000 });
      assert.deepEqual(parseInterdictionArgs(['undegrade']), { kind: 'undegrade' });
      assert.deepEqual(parseInterdictionArgs(['release']), { kind: 'release' });
      assert.deepEqual(parseInterdictionArgs(['unisolate']), { kind: 'unisolate' });
    });

    it('names what is wrong', function () {
      assert.throws(() => parseInterdictionArgs(['explode']), /^InterdictionInputError|command: expected isolate \[--allow/);
      assert.throws(() => parseInterdictionArgs(['block']), /block: expected --peer VALUE; got "missing --peer"/);
      assert.throws(() => parseInterdictionArgs(['block', '--peer', '1.2.3.4', '5.6.7.8']), /--peer: expected exactly one value/);
      assert.throws(() => parseInterdictionArgs(['block', '--rate', '2kbps']), /block: expected one of the options --peer, --for; got "--rate"/);
      assert.throws(() => parseInterdictionArgs(['degrade', '--peer', '1.2.3.4']), /degrade: expected at least one of --rate 2kbps or --loss 50%/);
      assert.throws(() => parseInterdictionArgs(['degrade', '--rate', 'slow']), /--rate: expected a rate e\.g\. 2kbps, 64KB\/s/);
      assert.throws(() => parseInterdictionArgs(['isolate', '10.0.0.1']), /isolate: expected an option/);
      assert.throws(() => parseInterdictionArgs(['isolate', '--for', 'ever']), /--for: expected a duration/);
      assert.throws(() => parseInterdictionArgs(['isolate', '--allow']), /--allow: expected one or more addresses/);
    });
  });

  describe('changes and expiry', function () {
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
      assert.throws(() => applyPolicyChange(p, { kind: 'block', peer: '10.9.9.9', forMs: 10 }, T0), /--for: expected a duration/);
    });

    it('expires exactly the parts whose time is up, and reports the next expiry', function () {
      const p = apply(emptyPolicy(MGMT),
        { kind: 'isolate', forMs: 2000 },
        { kind: 'block', peer: '203.0.113.5', forMs: 5000 },
        { kind: 'block', peer: '203.0.113.6' },
        { kind: 'degrade', peer: '198.51.100.7', lossPercent: 20, forMs: 3000 });
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
      assert.deepEqual(describePolicy(b.policy, T0), ['block 203.0.113.6', 'management channel 192.0.2.10:443']);
      assert.deepEqual(describePolicy(p, T0 + 500), [
        'isolate; allowed: none (2 s left)', 'block 203.0.113.5 (5 s left)', 'block 203.0.113.6',
        'degrade 198.51.100.7: loss 20% (3 s left)', 'management channel 192.0.2.10:443',
      ]);
    });
  });

  describe('structured input', function () {
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
        for (const c of changes) assert.deepEqual(validatePolicyChange(JSON.parse(JSON.stringify(c))), applyRoundTrip(c));
      }), { numRuns: 200 });
    });

    it('rejects corrupted policies and changes with the field named', function () {
      const good = apply(emptyPolicy(MGMT), { kind: 'isolate' });
      assert.throws(() => validatePolicy({ ...good, mode: 'panic' }), /policy\.mode: expected "none" or "isolate"; got "panic"/);
      assert.throws(() => validatePolicy({ ...good, allow: 'all' }), /policy\.allow: expected an array/);
      assert.throws(() => validatePolicy({ ...good, blocks: [{ peer: 'x' }] }), /policy\.blocks\[\]\.peer: expected an IPv4\/IPv6 address/);
      assert.throws(() => validatePolicy({ ...good, degrade: [{ peer: '1.2.3.4' }] }), /policy\.degrade\[\]: expected rateBytesPerSec and\/or lossPercent/);
      assert.throws(() => validatePolicy({ ...good, managementChannels: [{ address: '10.0.0.1', port: 70000 }] }), /management channel port: expected a TCP port 1\.\.65535; got "70000"/);
      assert.throws(() => validatePolicy({ ...good, isolateExpiresAt: -1 }), /policy\.isolateExpiresAt: expected a time in ms/);
      assert.throws(() => validatePolicy(null), /policy: expected an object/);
      assert.throws(() => validatePolicyChange({ kind: 'nuke' }), /kind: expected one of isolate, unisolate/);
      assert.throws(() => validatePolicyChange({ kind: 'degrade', peer: '1.2.3.4' }), /degrade: expected at least one of --rate or --loss/);
    });
  });
});

/** what validatePolicyChange makes of a change: canonical peers, same fields */
function applyRoundTrip(c: PolicyChange): PolicyChange {
  switch (c.kind) {
    case 'isolate': return c.allow === undefined ? { kind: 'isolate' } : { kind: 'isolate', allow: c.allow.map((a) => canonicalPeer(a)) };
    case 'block': return { kind: 'block', peer: canonicalPeer(c.peer) };
    case 'degrade': {
      const out: PolicyChange = { kind: 'degrade' };
      if (c.peer !== undefined) out.peer = canonicalPeer(c.peer);
      if (c.rateBytesPerSec !== undefined) out.rateBytesPerSec = c.rateBytesPerSec;
      if (c.lossPercent !== undefined) out.lossPercent = c.lossPercent;
      if (c.forMs !== undefined) out.forMs = c.forMs;
      return out;
    }
    default: return c;
  }
}
