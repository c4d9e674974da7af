// Rule generation: the shared rule plan, the nftables script and the iptables-restore input.
// Generated scripts for random policies are loaded into a real kernel (inside a throwaway
// network namespace) and read back.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { emptyPolicy, type InterdictionPolicy, type PolicyChange } from '../../../agent/interdiction/policy.js';
import { applyPolicyChange } from '../../../agent/interdiction/policy-changes.js';
import { HOOKS, burstFor, planRules } from '../../../agent/interdiction/rule-plan.js';
import { buildNftRuleset, nftDeleteScript, renderNftRule, ruleCommentsFromNftJson, NFT_TABLE } from '../../../agent/interdiction/nft-ruleset.js';
import { buildIptablesRestore, ourIptablesListing, ourJumpLines, ruleCommentsFromIptablesSave } from '../../../agent/interdiction/iptables-rules.js';
import { netnsAvailable, netnsExec, withNetnsPair } from '../../helpers/netns.js';
import { skipBecause } from '../../helpers/skip.js';

const MGMT = [{ address: '192.0.2.10', port: 443 }, { address: '2001:db8::10', port: 8443 }];
const T0 = 1_700_000_000_000;

function policyOf(...changes: PolicyChange[]): InterdictionPolicy {
  return changes.reduce((p, c) => applyPolicyChange(p, c, T0), emptyPolicy(MGMT));
}

const peerArb = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.tuple(fc.ipV4(), fc.integer({ min: 8, max: 32 })).map(([a, len]) => {
    const n = a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    const masked = len === 0 ? 0 : Math.floor(n / 2 ** (32 - len)) * 2 ** (32 - len);
    return `${[24, 16, 8, 0].map((s) => Math.floor(masked / 2 ** s) % 256).join('.')}/${len}`;
  }),
);
const changeArb: fc.Arbitrary<PolicyChange> = fc.oneof(
  fc.record({ kind: fc.constant('isolate' as const), allow: fc.array(peerArb, { maxLength: 3 }) }),
  fc.record({ kind: fc.constant('block' as const), peer: peerArb }),
  fc.record({
    kind: fc.constant('degrade' as const),
    peer: peerArb,
    rateBytesPerSec: fc.integer({ min: 125, max: 1e10 }),
    lossPercent: fc.integer({ min: 1, max: 10000 }).map((n) => n / 100),
  }, { requiredKeys: ['kind', 'lossPercent'] }),
  fc.record({ kind: fc.constant('degrade' as const), rateBytesPerSec: fc.integer({ min: 125, max: 1e10 }) }),
);
const policyArb = fc.array(changeArb, { minLength: 1, maxLength: 6 }).map((cs) => policyOf(...cs));

function kernelTests(): boolean {
  if (!netnsAvailable()) return false;
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('agent/interdiction rule generation', function () {
  describe('rule plan', function () {
    it('an inactive policy (even with management channels) has no rules', function () {
      assert.deepEqual(planRules(emptyPolicy(MGMT)), []);
      const r = buildNftRuleset(emptyPolicy(MGMT));
      assert.equal(r.tablePresent, false);
      assert.equal(r.script, nftDeleteScript());
    });

    it('per hook: loopback and management channel come first; blocks before degrade before the allow list; isolate ends in a drop', function () {
      fc.assert(fc.property(policyArb, (p) => {
        const rules = planRules(p);
        for (const hook of HOOKS) {
          const tags = rules.filter((r) => r.hook === hook).map((r) => r.tag.split(' ')[0]!);
          const order = ['loopback', 'mgmt', 'block', 'degrade-loss', 'allow', 'isolate-nd', 'isolate'];
          const rank = (t: string): number => (t === 'degrade-rate' ? order.indexOf('degrade-loss') : t.startsWith('isolate-') ? order.indexOf('isolate-nd') : order.indexOf(t));
          for (let i = 1; i < tags.length; i++) assert.ok(rank(tags[i - 1]!) <= rank(tags[i]!), `${hook}: ${tags.join(', ')}`);
          if (p.mode === 'isolate') assert.equal(tags[tags.length - 1], 'isolate');
          if (hook === 'forward') assert.ok(!tags.includes('mgmt') && !tags.includes('loopback'));
          else if (tags.length > 0) assert.equal(tags[0], 'loopback');
        }
        for (const b of p.blocks) {
          const mine = rules.filter((r) => r.tag === `block ${b.peer}`);
          assert.deepEqual(mine.map((r) => `${r.hook} ${r.src ?? ''}>${r.dst ?? ''}`).sort(), [`forward ${b.peer}>`, `forward >${b.peer}`, `input ${b.peer}>`, `output >${b.peer}`].sort());
        }
      }), { numRuns: 200 });
    });

    it('renders the documented nft rules', function () {
      const p = policyOf(
        { kind: 'isolate', allow: ['10.0.0.0/8'] },
        { kind: 'block', peer: '203.0.113.0/24' },
        { kind: 'degrade', peer: '198.51.100.7', rateBytesPerSec: 250, lossPercent: 12.5 },
      );
      const s = buildNftRuleset(p).script;
      assert.ok(s.startsWith(`table inet ${NFT_TABLE} {}\ndelete table inet ${NFT_TABLE}\ntable inet ${NFT_TABLE} {`), 'whole-table replace in one script');
      for (const line of [
        'iif "lo" accept comment "meerkat:loopback"',
        'ip saddr 192.0.2.10 tcp sport 443 accept comment "meerkat:mgmt 192.0.2.10:443"',
        'ip6 daddr 2001:db8::10 tcp dport 8443 accept comment "meerkat:mgmt [2001:db8::10]:8443"',
        'ip daddr 203.0.113.0/24 counter drop comment "meerkat:block 203.0.113.0/24"',
        'ip saddr 198.51.100.7 numgen random mod 10000 < 1250 counter drop comment "meerkat:degrade-loss 198.51.100.7 12.5%"',
        `ip daddr 198.51.100.7 limit rate over 250 bytes/second burst ${burstFor(250)} bytes counter drop comment "meerkat:degrade-rate 198.51.100.7 250B/s"`,
        'ip saddr 10.0.0.0/8 accept comment "meerkat:allow 10.0.0.0/8"',
        'ct state related meta l4proto { icmp, ipv6-icmp } accept comment "meerkat:isolate-icmp-related"',
        'ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept comment "meerkat:isolate-dhcp"',
        'counter drop comment "meerkat:isolate"',
      ]) assert.ok(s.includes(`\t\t${line}\n`), `missing: ${line}\n${s}`);
      assert.equal(renderNftRule({ hook: 'forward', tag: 'x', verdict: 'drop', lossPercent: 100 }), 'numgen random mod 10000 < 10000 counter drop comment "meerkat:x"');
      assert.ok(burstFor(250) >= 65_536 && burstFor(4_000_000) === 1_000_000, 'bucket: at least 64 KiB, else a quarter second');
    });

    it('iptables: RETURN (never ACCEPT) for passes; old jumps deleted by exact spec; release removes only existing chains', function () {
      const p = policyOf({ kind: 'isolate', allow: ['10.0.0.0/8', '2001:db8:1::/48'] });
      const v4 = buildIptablesRestore(p, 4, '').script;
      assert.doesNotMatch(v4, /-j ACCEPT/);
      assert.match(v4, /^-A MEERKAT-IN -s 192\.0\.2\.10 -p tcp --sport 443 -m comment --comment "meerkat:mgmt 192\.0\.2\.10:443" -j RETURN$/m);
      assert.doesNotMatch(v4, /2001:db8/, 'IPv6 rules stay out of iptables');
      assert.match(buildIptablesRestore(p, 6, '').script, /^-A MEERKAT-OUT -p ipv6-icmp --icmpv6-type 135 .*-j RETURN$/m);
      const save = [
        '*filter', ':INPUT ACCEPT [0:0]', ':MEERKAT-IN - [0:0]',
        '-A INPUT -s 192.0.2.7/32 -j ACCEPT',
        '-A INPUT -m comment --comment "meerkat interdiction" -j MEERKAT-IN',
        '-A OUTPUT -j MEERKAT-OUT', 'COMMIT',
      ].join('\n');
      assert.deepEqual(ourJumpLines(save), ['-A INPUT -m comment --comment "meerkat interdiction" -j MEERKAT-IN', '-A OUTPUT -j MEERKAT-OUT']);
      const again = buildIptablesRestore(p, 4, save).script;
      assert.match(again, /^-D INPUT -m comment --comment "meerkat interdiction" -j MEERKAT-IN$/m);
      assert.match(again, /^-D OUTPUT -j MEERKAT-OUT$/m);
      assert.equal(again.match(/^-I INPUT 1 /gm)?.length, 1);
      const release = buildIptablesRestore(emptyPolicy(MGMT), 4, save).script;
      assert.deepEqual(release.split('\n').filter((l) => l.startsWith('-') || l.startsWith(':')), [
        ':MEERKAT-IN - [0:0]',
        '-D INPUT -m comment --comment "meerkat interdiction" -j MEERKAT-IN',
        '-D OUTPUT -j MEERKAT-OUT',
        '-X MEERKAT-IN',
      ]);
      assert.equal(ourIptablesListing(save), ':MEERKAT-IN - [0:0]\n-A INPUT -m comment --comment "meerkat interdiction" -j MEERKAT-IN\n-A OUTPUT -j MEERKAT-OUT');
      assert.deepEqual(ruleCommentsFromIptablesSave('-A MEERKAT-OUT -d 1.2.3.4/32 -m comment --comment "meerkat:block 1.2.3.4" -j DROP\n-A MEERKAT-IN -m comment --comment meerkat:loopback -j RETURN'), ['meerkat:loopback', 'meerkat:block 1.2.3.4']);
    });
  });

  describe('in a kernel (network namespace)', function () {
    before(function () {
      if (!kernelTests()) skipBecause(this, 'needs root, nft and iproute2 network namespaces');
    });

    it('every generated nft script loads in one transaction and reads back with the expected rule comments, in order', async function () {
      await withNetnsPair(async ({ nsA }) => {
        const samples = fc.sample(policyArb, { numRuns: 25, seed: 5 });
        for (const p of samples) {
          const r = buildNftRuleset(p);
          const load = await netnsExec(nsA, 'nft', ['-f', '-'], { input: r.script });
          assert.equal(load.code, 0, `${load.stderr}\n${r.script}`);
          const json = await netnsExec(nsA, 'nft', ['-j', 'list', 'table', 'inet', NFT_TABLE]);
          assert.deepEqual(ruleCommentsFromNftJson(json.stdout), r.ruleComments);
        }
        const del = await netnsExec(nsA, 'nft', ['-f', '-'], { input: nftDeleteScript() });
        assert.equal(del.code, 0, del.stderr);
        assert.equal((await netnsExec(nsA, 'nft', ['list', 'tables'])).stdout, '');
        const again = await netnsExec(nsA, 'nft', ['-f', '-'], { input: nftDeleteScript() });
        assert.equal(again.code, 0, 'deleting a missing table is not an error');
      });
    });

    it('every generated iptables-restore input loads (iptables and ip6tables) and release leaves nothing of ours', async function () {
      try {
        execFileSync('which', ['iptables-restore', 'ip6tables-restore'], { stdio: 'ignore' });
      } catch {
        skipBecause(this, 'no iptables tools here');
      }
      await withNetnsPair(async ({ nsA }) => {
        for (const p of [...fc.sample(policyArb, { numRuns: 8, seed: 9 }), emptyPolicy(MGMT)]) {
          for (const [family, tool] of [[4, 'iptables'], [6, 'ip6tables']] as const) {
            const before = (await netnsExec(nsA, `${tool}-save`, ['-t', 'filter'])).stdout;
            const r = buildIptablesRestore(p, family, before);
            const load = await netnsExec(nsA, `${tool}-restore`, ['--noflush'], { input: r.script });
            assert.equal(load.code, 0, `${load.stderr}\n${r.script}`);
            const after = (await netnsExec(nsA, `${tool}-save`, ['-t', 'filter'])).stdout;
            assert.deepEqual(ruleCommentsFromIptablesSave(after), r.ruleComments);
            assert.equal(ourJumpLines(after).length, planRules(p).length > 0 ? 3 : 0);
          }
        }
        for (const tool of ['iptables', 'ip6tables']) assert.doesNotMatch((await netnsExec(nsA, `${tool}-save`, ['-t', 'filter'])).stdout, /MEERKAT/);
      });
    });
  });
});
