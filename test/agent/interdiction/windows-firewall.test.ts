// The Windows backend's generated PowerShell (pure; nothing here runs on Windows) and the
// address-range arithmetic it relies on.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { emptyPolicy, type InterdictionPolicy, type PolicyChange } from '../../../agent/interdiction/policy.js';
import { applyPolicyChange } from '../../../agent/interdiction/policy-changes.js';
import { cidrToRange, complementPorts, complementRanges, formatRange, normalizeRanges, subtractRanges, type AddressRange } from '../../../agent/interdiction/address-ranges.js';
import { buildWindowsFirewallCommands, psQuote, ruleIdsFromWindowsList, windowsReleaseCommands, WINDOWS_RULE_GROUP } from '../../../agent/interdiction/windows-firewall.js';
import { parseIp } from '../../../shared/net/ip-address.js';

function rangeContains(r: AddressRange, version: 4 | 6, v: bigint): boolean {
  return r.version === version && v >= r.start && v <= r.end;
}

const MGMT = [{ address: '192.0.2.10', port: 443 }];
const T0 = 1_700_000_000_000;

function policyOf(...changes: PolicyChange[]): InterdictionPolicy {
  return changes.reduce((p, c) => applyPolicyChange(p, c, T0), emptyPolicy(MGMT));
}

/** The value list of one parameter of one generated New-NetFirewallRule line. */
function param(line: string, name: string): string[] | undefined {
  const m = new RegExp(`-${name} (@\\(([^)]*)\\)|'([^']*)'|(\\S+))`).exec(line);
  if (!m) return undefined;
  if (m[2] !== undefined) return m[2].split(',').map((s) => s.replace(/^'|'$/g, ''));
  return [m[3] ?? m[4]!];
}

function rule(cmds: string[], id: string): string {
  const line = cmds.find((c) => c.includes(`-Name 'Meerkat-g1-${id}'`));
  assert.ok(line, `no rule ${id} in\n${cmds.join('\n')}`);
  return line;
}

function v(addr: string): bigint {
  const a = parseIp(addr);
  let x = 0n;
  for (let i = 0; i < (a.version === 4 ? 4 : 16); i++) x = (x << 8n) | BigInt(a.bytes[i]!);
  return x;
}

/** whether a Windows RemoteAddress list (ranges / single addresses) contains addr */
function listContains(list: readonly string[], addr: string): boolean {
  const fam = addr.includes(':') ? 6 : 4;
  return list.some((item) => {
    const [s, e] = item.includes('-') ? item.split('-') : [item, item];
    if ((s!.includes(':') ? 6 : 4) !== fam) return false;
    return v(addr) >= v(s!) && v(addr) <= v(e!);
  });
}

describe('agent/interdiction Windows Firewall commands', function () {
  describe('address ranges', function () {
    it('converts, merges, subtracts and complements', function () {
      assert.equal(formatRange(cidrToRange('10.0.0.0/8')), '10.0.0.0-10.255.255.255');
      assert.equal(formatRange(cidrToRange('2001:db8::1')), '2001:db8::1');
      assert.deepEqual(normalizeRanges(['10.0.0.0/9', '10.128.0.0/9', '10.1.0.0/16'].map(cidrToRange)).map(formatRange), ['10.0.0.0-10.255.255.255']);
      assert.deepEqual(subtractRanges([cidrToRange('10.0.0.0/30')], [cidrToRange('10.0.0.1')]).map(formatRange), ['10.0.0.0', '10.0.0.2-10.0.0.3']);
      assert.deepEqual(complementRanges([cidrToRange('0.0.0.0/1'), cidrToRange('128.0.0.0/1'), cidrToRange('::/0')]), []);
      assert.deepEqual(complementRanges([cidrToRange('::/0'), cidrToRange('10.0.0.0/8')]).map(formatRange), ['0.0.0.0-9.255.255.255', '11.0.0.0-255.255.255.255']);
      assert.equal(complementPorts([443]), '1-442,444-65535');
      assert.equal(complementPorts([1, 65535]), '2-65534');
      assert.equal(complementPorts([67, 547, 68]), '1-66,69-546,548-65535');
      assert.equal(complementPorts([2, 65534]), '1,3-65533,65535');
    });

    it('an address is in the complement exactly when it is in none of the excluded CIDRs', function () {
      const cidr = fc.oneof(
        fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([a, l]) => `${a}/${l}`),
        fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([a, l]) => `${a}/${l}`),
      );
      fc.assert(fc.property(fc.array(cidr, { maxLength: 6 }), fc.oneof(fc.ipV4(), fc.ipV6()), (excl, addr) => {
        const ranges = excl.map(cidrToRange); // host bits are cleared, as parseCidr does
        const fam = addr.includes(':') ? 6 : 4;
        const inExcluded = ranges.some((r) => rangeContains(r, fam, v(addr)));
        const inComplement = complementRanges(ranges).some((r) => rangeContains(r, fam, v(addr)));
        assert.equal(inComplement, !inExcluded);
      }), { numRuns: 300 });
    });
  });

  it('isolate: blocks the complement of allow list + collector + loopback/link-local, both directions; the collector keeps only its TCP port', function () {
    const p = policyOf({ kind: 'isolate', allow: ['10.20.0.0/16', '2001:db8:5::/48'] });
    const { commands, notes } = buildWindowsFirewallCommands(p, 'g1');
    assert.equal(commands[0], "$ErrorActionPreference = 'Stop'");
    assert.deepEqual(notes, []);
    for (const dir of ['out', 'in']) {
      const line = rule(commands, `isolate-${dir}`);
      assert.match(line, new RegExp(`-Group '${WINDOWS_RULE_GROUP}' -Direction ${dir === 'out' ? 'Outbound' : 'Inbound'} -Action Block -Profile Any -Enabled True -Protocol Any`));
      const remote = param(line, 'RemoteAddress')!;
      for (const blocked of ['8.8.8.8', '10.19.255.255', '10.21.0.0', '192.0.2.9', '192.0.2.11', '2001:db8:6::1', '2606:4700::1111', '0.0.0.0']) assert.ok(listContains(remote, blocked), `${blocked} blocked`);
      for (const open of ['10.20.1.2', '192.0.2.10', '2001:db8:5::9', '127.0.0.1', '::1', 'fe80::1', 'ff02::1:2', '255.255.255.255']) assert.ok(!listContains(remote, open), `${open} not in the isolate block`);
    }
    // the link-scope exemption is narrowed to ND/MLD/DHCP
    assert.deepEqual(param(rule(commands, 'isolate-link-udp-out'), 'RemotePort'), ['1-66', '68-546', '548-65535']);
    assert.deepEqual(param(rule(commands, 'isolate-link-udp-in'), 'LocalPort'), ['1-67', '69-545', '547-65535']);
    assert.match(rule(commands, 'isolate-link-tcp-out'), /-Protocol TCP -RemoteAddress @\('255\.255\.255\.255','fe80::-febf:/);
    // the collector: other TCP ports and UDP blocked; nothing inbound-initiated over TCP
    assert.deepEqual(param(rule(commands, 'mgmt0-tcp-out'), 'RemotePort'), ['1-442', '444-65535']);
    assert.deepEqual(param(rule(commands, 'mgmt0-tcp-out'), 'RemoteAddress'), ['192.0.2.10']);
    assert.equal(param(rule(commands, 'mgmt0-tcp-in'), 'RemotePort'), undefined);
    assert.match(rule(commands, 'mgmt0-udp-out'), /-Protocol UDP -RemoteAddress '192\.0\.2\.10'/);
    // new generation first, then older ones removed: never a moment without rules
    const removeAt = commands.findIndex((c) => c.startsWith('Get-NetFirewallRule'));
    assert.equal(removeAt, commands.length - 2);
    assert.match(commands[removeAt]!, /\$_\.Name -like 'Meerkat-\*' -and \$_\.Name -notlike 'Meerkat-g1-\*' \} \| Remove-NetFirewallRule$/);
  });

  it('an allow-listed collector needs no guard rules', function () {
    const { ruleIds } = buildWindowsFirewallCommands(policyOf({ kind: 'isolate', allow: ['192.0.2.0/24'] }), 'g1');
    assert.ok(!ruleIds.some((id) => id.startsWith('mgmt')), ruleIds.join(' '));
    const everything = buildWindowsFirewallCommands(policyOf({ kind: 'isolate', allow: ['0.0.0.0/0', '::/0'] }), 'g1');
    assert.ok(!everything.ruleIds.includes('isolate-out'), 'allowing everything blocks nothing (never an empty RemoteAddress = any)');
    assert.ok(everything.commands.every((c) => !c.includes('@()')));
  });

  it('block: both directions, any protocol; a block covering the collector leaves its management port open', function () {
    const { commands, ruleIds } = buildWindowsFirewallCommands(policyOf({ kind: 'block', peer: '203.0.113.0/24' }, { kind: 'block', peer: '192.0.2.0/24' }), 'g1');
    assert.deepEqual(param(rule(commands, 'block0-out'), 'RemoteAddress'), ['203.0.113.0-203.0.113.255']);
    assert.deepEqual(param(rule(commands, 'block1-in'), 'RemoteAddress'), ['192.0.2.0-192.0.2.9', '192.0.2.11-192.0.2.255']);
    assert.ok(ruleIds.includes('mgmt0-tcp-out') && ruleIds.includes('mgmt0-udp-in'));
    assert.deepEqual(buildWindowsFirewallCommands(policyOf({ kind: 'block', peer: '203.0.113.0/24' }), 'g1').ruleIds, ['block0-out', 'block0-in']);
  });

  it('degrade: outbound QoS throttle in bits/s; loss and inbound shaping are reported as not applied', function () {
    const { commands, notes, ruleIds } = buildWindowsFirewallCommands(policyOf(
      { kind: 'degrade', peer: '198.51.100.7', rateBytesPerSec: 250, lossPercent: 50 },
      { kind: 'degrade', peer: '2001:db8::/32', lossPercent: 10 },
      { kind: 'degrade', rateBytesPerSec: 1_000_000 },
    ), 'g1');
    assert.ok(commands.includes("New-NetQosPolicy -Name 'Meerkat-g1-degrade0-0' -IPDstPrefixMatchCondition '198.51.100.7/32' -ThrottleRateActionBitsPerSecond 2000 | Out-Null"));
    assert.ok(commands.includes("New-NetQosPolicy -Name 'Meerkat-g1-degrade2-1' -IPDstPrefixMatchCondition '::/0' -ThrottleRateActionBitsPerSecond 8000000 | Out-Null"));
    assert.ok(commands.some((c) => c.startsWith("New-NetQosPolicy -Name 'Meerkat-g1-mgmt0-qos' -IPDstPrefixMatchCondition '192.0.2.10/32' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 443 ")), 'the collector is exempt from a degrade of everything');
    assert.ok(!ruleIds.some((id) => id.startsWith('degrade1')), 'a loss-only degrade has no Windows rule');
    assert.deepEqual(notes, [
      'degrade 198.51.100.7: loss 50% not applied (Windows has no random-drop rule)',
      'degrade 198.51.100.7: rate 250 B/s applied to outbound traffic only (QoS policies do not shape inbound)',
      'degrade 2001:db8::/32: loss 10% not applied (Windows has no random-drop rule)',
      'degrade all: rate 1000000 B/s applied to outbound traffic only (QoS policies do not shape inbound)',
    ]);
  });

  it('release removes every Meerkat rule and QoS policy; quoting and generations are safe', function () {
    assert.deepEqual(windowsReleaseCommands().slice(1), [
      "Get-NetFirewallRule -Group 'Meerkat Interdiction' -ErrorAction SilentlyContinue | Where-Object { $_.Name -like 'Meerkat-*' } | Remove-NetFirewallRule",
      "Get-NetQosPolicy -ErrorAction SilentlyContinue | Where-Object { $_.Name -like 'Meerkat-*' } | Remove-NetQosPolicy -Confirm:$false",
    ]);
    assert.equal(psQuote("it's"), "'it''s'");
    assert.throws(() => buildWindowsFirewallCommands(policyOf({ kind: 'block', peer: '203.0.113.5' }), "x'; Remove-Item C:\\"), RangeError);
    // every generated line only carries validated addresses, numbers and fixed words
    fc.assert(fc.property(fc.array(fc.oneof(fc.ipV4(), fc.ipV6()), { minLength: 1, maxLength: 5 }), (peers) => {
      const p = policyOf(...peers.map((peer) => ({ kind: 'block' as const, peer })), { kind: 'isolate', allow: peers.slice(0, 2) });
      for (const c of buildWindowsFirewallCommands(p, 'g1').commands) assert.doesNotMatch(c, /[;`"]|\$\(/);
    }), { numRuns: 100 });
    assert.deepEqual(ruleIdsFromWindowsList('[{"Name":"Meerkat-lx2k9-isolate-out"},{"Name":"Meerkat-lx2k9-degrade0-0"}]'), ['isolate-out', 'degrade0-0']);
    assert.deepEqual(ruleIdsFromWindowsList('{"Name":"Meerkat-a-block0-in"}'), ['block0-in']);
    assert.deepEqual(ruleIdsFromWindowsList(''), []);
  });
});
