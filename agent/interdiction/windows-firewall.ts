// Policy -> PowerShell commands for the Windows backend (Windows Firewall rules via
// New-NetFirewallRule, rate caps via New-NetQosPolicy). Generated from the same
// InterdictionPolicy as the Linux rulesets. Windows Firewall has no rule order: a Block rule
// beats every Allow rule, so "everything except X" is written as a Block of the complement of X
// (address ranges), and the management channel is kept open by leaving its address out of the
// blocks and blocking its other ports/protocols separately. All our rules share one group; an
// update adds the new generation first and then removes older generations, so there is no
// unprotected gap. Pure; nothing here has run on Windows (see docs/interdiction.md).
import type { InterdictionPolicy, ManagementChannel } from './policy.js';
import {
  cidrToRange,
  complementPorts,
  complementRanges,
  formatRange,
  normalizeRanges,
  subtractRanges,
  type AddressRange,
} from './address-ranges.js';

export const WINDOWS_RULE_GROUP = 'Meerkat Interdiction';
const WINDOWS_NAME_PREFIX = 'Meerkat-';
/** a throttle high enough to mean "no cap" for the management channel's QoS exemption */
const NO_CAP_BITS_PER_SEC = 100_000_000_000;

export interface WindowsCommands {
  /** PowerShell statements, in order, for one `powershell -NoProfile -NonInteractive -Command -` */
  commands: string[];
  /** parts of the policy Windows cannot express, for the command result */
  notes: string[];
  /** our firewall rule and QoS policy names without the generation ("isolate-out", "degrade0-0", ...) */
  ruleIds: string[];
}

/** PowerShell single-quoted literal. */
export function psQuote(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function psList(items: readonly string[]): string {
  return items.length === 1 ? psQuote(items[0]!) : `@(${items.map(psQuote).join(',')})`;
}

/** Addresses the isolate block must leave out so the host keeps loopback, ND/MLD and DHCP. */
const ISOLATE_KEEP = ['127.0.0.0/8', '::1', 'fe80::/10', 'ff02::/16', '255.255.255.255'];

interface RuleSpec {
  id: string;
  display: string;
  direction: 'Inbound' | 'Outbound';
  protocol: 'Any' | 'TCP' | 'UDP';
  remote: readonly string[];
  remotePort?: string;
  localPort?: string;
}

function ruleCommand(gen: string, r: RuleSpec): string {
  const parts = [
    'New-NetFirewallRule',
    `-Name ${psQuote(`${WINDOWS_NAME_PREFIX}${gen}-${r.id}`)}`,
    `-DisplayName ${psQuote(`Meerkat interdiction: ${r.display}`)}`,
    `-Group ${psQuote(WINDOWS_RULE_GROUP)}`,
    `-Direction ${r.direction}`,
    '-Action Block',
    '-Profile Any',
    '-Enabled True',
    `-Protocol ${r.protocol}`,
    `-RemoteAddress ${psList(r.remote)}`,
  ];
  if (r.remotePort !== undefined) parts.push(`-RemotePort ${psList(r.remotePort.split(','))}`);
  if (r.localPort !== undefined) parts.push(`-LocalPort ${psList(r.localPort.split(','))}`);
  parts.push('| Out-Null');
  return parts.join(' ');
}

function both(id: string, display: string, rest: Omit<RuleSpec, 'id' | 'display' | 'direction'>): RuleSpec[] {
  return [
    { id: `${id}-out`, display: `${display} (out)`, direction: 'Outbound', ...rest },
    { id: `${id}-in`, display: `${display} (in)`, direction: 'Inbound', ...rest },
  ];
}

/** Rules that leave only the management TCP port(s) open towards a collector address. */
function managementGuard(address: string, channels: readonly ManagementChannel[], idx: number): RuleSpec[] {
  const ports = channels.filter((c) => c.address === address).map((c) => c.port);
  const rules: RuleSpec[] = [];
  const others = complementPorts(ports);
  if (others !== '') rules.push({ id: `mgmt${idx}-tcp-out`, display: `collector ${address} other TCP ports (out)`, direction: 'Outbound', protocol: 'TCP', remote: [address], remotePort: others });
  // the agent never accepts connections, so nothing TCP may be started from the collector side
  rules.push({ id: `mgmt${idx}-tcp-in`, display: `collector ${address} TCP (in)`, direction: 'Inbound', protocol: 'TCP', remote: [address] });
  rules.push(...both(`mgmt${idx}-udp`, `collector ${address} UDP`, { protocol: 'UDP', remote: [address] }));
  return rules;
}

/**
 * The commands for a policy: the new generation's rules and QoS policies, then removal of
 * every older generation. `generation` names this update (letters/digits, e.g. a counter or
 * time stamp) and must differ from the one currently applied.
 */
export function buildWindowsFirewallCommands(policy: InterdictionPolicy, generation: string): WindowsCommands {
  if (!/^[A-Za-z0-9]{1,16}$/.test(generation)) throw new RangeError(`generation must be 1-16 letters/digits, got ${JSON.stringify(generation)}`);
  const rules: RuleSpec[] = [];
  const notes: string[] = [];
  const mgmtAddresses = [...new Set(policy.managementChannels.map((c) => c.address))];
  const mgmtRanges = mgmtAddresses.map(cidrToRange);
  const guarded = new Set<string>();
  const guard = (address: string): void => {
    if (guarded.has(address)) return;
    guarded.add(address);
    rules.push(...managementGuard(address, policy.managementChannels, guarded.size - 1));
  };
  const inside = (range: AddressRange, address: string): boolean => {
    const a = cidrToRange(address);
    return a.version === range.version && a.start >= range.start && a.start <= range.end;
  };

  if (policy.mode === 'isolate') {
    const keep = normalizeRanges([...policy.allow, ...mgmtAddresses, ...ISOLATE_KEEP].map(cidrToRange));
    const blocked = complementRanges(keep).map(formatRange);
    // an allow list of everything leaves nothing to block (an empty RemoteAddress would mean "any")
    if (blocked.length > 0) rules.push(...both('isolate', 'isolate: all but allow list and collector', { protocol: 'Any', remote: blocked }));
    // the link-local / multicast / broadcast exemption is for ND, MLD and DHCP only
    const linkScope = subtractRanges(['fe80::/10', 'ff02::/16', '255.255.255.255'].map(cidrToRange), policy.allow.map(cidrToRange)).map(formatRange);
    if (linkScope.length > 0) {
      rules.push(...both('isolate-link-tcp', 'isolate: link-local TCP', { protocol: 'TCP', remote: linkScope }));
      rules.push({ id: 'isolate-link-udp-out', display: 'isolate: link-local UDP but DHCP (out)', direction: 'Outbound', protocol: 'UDP', remote: linkScope, remotePort: complementPorts([67, 547]) });
      rules.push({ id: 'isolate-link-udp-in', display: 'isolate: link-local UDP but DHCP (in)', direction: 'Inbound', protocol: 'UDP', remote: linkScope, localPort: complementPorts([68, 546]) });
    }
    for (const a of mgmtAddresses) if (!policy.allow.some((al) => inside(cidrToRange(al), a))) guard(a);
  }

  policy.blocks.forEach((b, i) => {
    const r = cidrToRange(b.peer);
    const remote = subtractRanges([r], mgmtRanges).map(formatRange);
    if (remote.length > 0) rules.push(...both(`block${i}`, `block ${b.peer}`, { protocol: 'Any', remote }));
    for (const a of mgmtAddresses) if (inside(r, a)) guard(a);
  });

  // QoS throttles outbound only; loss has no Windows counterpart
  const qos: { id: string; command: string }[] = [];
  let throttledAll = false;
  policy.degrade.forEach((d, i) => {
    const who = d.peer ?? 'all';
    if (d.lossPercent !== undefined) notes.push(`degrade ${who}: loss ${d.lossPercent}% not applied (Windows has no random-drop rule)`);
    if (d.rateBytesPerSec === undefined) return;
    notes.push(`degrade ${who}: rate ${d.rateBytesPerSec} B/s applied to outbound traffic only (QoS policies do not shape inbound)`);
    const bits = d.rateBytesPerSec * 8;
    const prefixes = d.peer === undefined ? ['0.0.0.0/0', '::/0'] : [d.peer.includes('/') ? d.peer : `${d.peer}/${d.peer.includes(':') ? 128 : 32}`];
    if (d.peer === undefined) throttledAll = true;
    prefixes.forEach((prefix, k) => {
      const id = `degrade${i}-${k}`;
      qos.push({ id, command: `New-NetQosPolicy -Name ${psQuote(`${WINDOWS_NAME_PREFIX}${generation}-${id}`)} -IPDstPrefixMatchCondition ${psQuote(prefix)} -ThrottleRateActionBitsPerSecond ${bits} | Out-Null` });
    });
  });
  if (throttledAll) {
    // a more specific QoS policy wins: the collector connection keeps full speed
    policy.managementChannels.forEach((c, i) => {
      const prefix = `${c.address}/${c.address.includes(':') ? 128 : 32}`;
      const id = `mgmt${i}-qos`;
      qos.push({ id, command: `New-NetQosPolicy -Name ${psQuote(`${WINDOWS_NAME_PREFIX}${generation}-${id}`)} -IPDstPrefixMatchCondition ${psQuote(prefix)} -IPProtocolMatchCondition TCP -IPDstPortMatchCondition ${c.port} -ThrottleRateActionBitsPerSecond ${NO_CAP_BITS_PER_SEC} | Out-Null` });
    });
  }

  const commands = ["$ErrorActionPreference = 'Stop'"];
  for (const r of rules) commands.push(ruleCommand(generation, r));
  commands.push(...qos.map((q) => q.command));
  commands.push(...removeOlderGenerations(generation));
  return { commands, notes, ruleIds: [...rules.map((r) => r.id), ...qos.map((q) => q.id)] };
}

function removeOlderGenerations(keep: string | undefined): string[] {
  const keepFilter = keep === undefined ? '' : ` -and $_.Name -notlike ${psQuote(`${WINDOWS_NAME_PREFIX}${keep}-*`)}`;
  return [
    `Get-NetFirewallRule -Group ${psQuote(WINDOWS_RULE_GROUP)} -ErrorAction SilentlyContinue | Where-Object { $_.Name -like ${psQuote(`${WINDOWS_NAME_PREFIX}*`)}${keepFilter} } | Remove-NetFirewallRule`,
    `Get-NetQosPolicy -ErrorAction SilentlyContinue | Where-Object { $_.Name -like ${psQuote(`${WINDOWS_NAME_PREFIX}*`)}${keepFilter} } | Remove-NetQosPolicy -Confirm:$false`,
  ];
}

/** Removes every Meerkat rule and QoS policy. */
export function windowsReleaseCommands(): string[] {
  return ["$ErrorActionPreference = 'Stop'", ...removeOlderGenerations(undefined)];
}

/** Lists our rules and QoS policies, for the read-back: one JSON array of {Name, ...} on stdout. */
export function windowsListCommand(): string {
  const like = psQuote(`${WINDOWS_NAME_PREFIX}*`);
  return [
    `$r = @(Get-NetFirewallRule -Group ${psQuote(WINDOWS_RULE_GROUP)} -ErrorAction SilentlyContinue | Where-Object { $_.Name -like ${like} } | ForEach-Object { [pscustomobject]@{ Name = $_.Name; Direction = [string]$_.Direction; Action = [string]$_.Action; RemoteAddress = @(($_ | Get-NetFirewallAddressFilter).RemoteAddress); RemotePort = @(($_ | Get-NetFirewallPortFilter).RemotePort) } })`,
    `$q = @(Get-NetQosPolicy -ErrorAction SilentlyContinue | Where-Object { $_.Name -like ${like} } | ForEach-Object { [pscustomobject]@{ Name = $_.Name; IPDstPrefix = $_.IPDstPrefix; ThrottleRate = $_.ThrottleRateAction } })`,
    'ConvertTo-Json -Depth 4 -InputObject @($r + $q)',
  ].join('; ');
}

/** Rule ids (names without prefix and generation) from windowsListCommand() output. */
export function ruleIdsFromWindowsList(json: string): string[] {
  const t = json.trim();
  if (t === '') return [];
  const doc = JSON.parse(t) as unknown;
  const items = Array.isArray(doc) ? doc : [doc];
  return items.map((i) => String((i as { Name?: unknown }).Name ?? '').replace(/^Meerkat-[A-Za-z0-9]+-/, ''));
}
