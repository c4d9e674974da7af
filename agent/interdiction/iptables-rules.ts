// Policy -> iptables-restore input, the fallback when nft is missing. Our rules live in chains
// of our own in the filter table (MEERKAT-IN / MEERKAT-OUT / MEERKAT-FWD), entered by one jump
// inserted at the top of INPUT / OUTPUT / FORWARD. Inside our chains "pass" is RETURN, never
// ACCEPT: an ACCEPT would skip the rest of the built-in chain, i.e. other people's rules.
// Each family is one `iptables-restore --noflush` / `ip6tables-restore --noflush` transaction
// that drops our old jumps, rewrites our chains and re-inserts the jumps; the two families are
// two transactions. Pure: the caller passes the current `iptables-save -t filter` text.
import type { InterdictionPolicy } from './policy.js';
import { COMMENT_PREFIX, HOOKS, planRules, type Hook, type PlannedRule } from './rule-plan.js';

const IPT_CHAINS: Readonly<Record<Hook, string>> = { input: 'MEERKAT-IN', output: 'MEERKAT-OUT', forward: 'MEERKAT-FWD' };
const BUILTIN: Readonly<Record<Hook, string>> = { input: 'INPUT', output: 'OUTPUT', forward: 'FORWARD' };
const IPT_JUMP_COMMENT = 'meerkat interdiction';

function quote(s: string): string {
  return `"${s.replace(/["\\]/g, '\\$&')}"`;
}

const UINT32_MAX = 4294967295n;
/** xt_hashlimit keeps byte rates as a 32-bit "cost" with 16-byte units */
const HASHLIMIT_BYTE_SHIFT = 4n;

/**
 * The smallest burst iptables accepts for a byte rate: the rate as hashlimit quantizes it
 * (its cost/bytes conversions, redone here), coarse at multi-GB/s rates.
 */
function hashlimitMinBurst(rateBytesPerSec: number): number {
  const cost = UINT32_MAX / ((BigInt(rateBytesPerSec) >> HASHLIMIT_BYTE_SHIFT) + 1n);
  const bytes = ((cost > 0n ? UINT32_MAX / cost : UINT32_MAX) - 1n) << HASHLIMIT_BYTE_SHIFT;
  return Number(bytes);
}

/** The rule spec after `-A CHAIN`, or several when one plan rule needs more (ICMPv6 types). */
function renderIptablesRule(r: PlannedRule, family: 4 | 6, ruleIndex: number): string[] {
  const base: string[] = [];
  if (r.loopback) base.push(r.hook === 'output' ? '-o lo' : '-i lo');
  if (r.src !== undefined) base.push(`-s ${r.src}`);
  if (r.dst !== undefined) base.push(`-d ${r.dst}`);
  if (r.proto === 'tcp' || r.proto === 'udp') {
    base.push(`-p ${r.proto}`);
    if (r.sport !== undefined) base.push(`--sport ${r.sport}`);
    if (r.dport !== undefined) base.push(`--dport ${r.dport}`);
  }
  const tail: string[] = [];
  if (r.lossPercent !== undefined) tail.push(`-m statistic --mode random --probability ${(r.lossPercent / 100).toFixed(4)}`);
  if (r.rateBytesPerSec !== undefined) {
    // one bucket per rule (no --hashlimit-mode): the cap is for the peer as a whole
    const name = `mk${family}${r.hook[0]}${ruleIndex}`;
    const burst = Math.max(r.burstBytes ?? 0, hashlimitMinBurst(r.rateBytesPerSec));
    tail.push(`-m hashlimit --hashlimit-above ${r.rateBytesPerSec}b/s --hashlimit-burst ${burst}b --hashlimit-name ${name}`);
  }
  tail.push(`-m comment --comment ${quote(COMMENT_PREFIX + r.tag)}`);
  tail.push(r.verdict === 'drop' ? '-j DROP' : '-j RETURN');
  if (r.proto === 'icmpv6') {
    const types = r.icmpv6Types ?? [];
    if (types.length === 0) return [[...base, '-p ipv6-icmp', ...tail].join(' ')];
    return types.map((t) => [...base, `-p ipv6-icmp --icmpv6-type ${t}`, ...tail].join(' '));
  }
  if (r.relatedIcmp) return [[...base, family === 6 ? '-p ipv6-icmp' : '-p icmp', '-m conntrack --ctstate RELATED', ...tail].join(' ')];
  return [[...base, ...tail].join(' ')];
}

/** `-A ...` lines in `iptables-save` output that jump into our chains (any rule spec). */
export function ourJumpLines(save: string): string[] {
  const chains = Object.values(IPT_CHAINS).join('|');
  const re = new RegExp(`^-A (INPUT|OUTPUT|FORWARD) .*-j (${chains})\\s*$`);
  return save.split('\n').filter((l) => re.test(l.trim())).map((l) => l.trim());
}

function chainsDeclared(save: string): Set<string> {
  const found = new Set<string>();
  for (const l of save.split('\n')) {
    const m = /^:(\S+) /.exec(l.trim());
    if (m && Object.values(IPT_CHAINS).includes(m[1]!)) found.add(m[1]!);
  }
  return found;
}

export interface IptablesScript {
  /** input for `iptables-restore --noflush` (4) or `ip6tables-restore --noflush` (6) */
  script: string;
  /** comments of our rules in this family, in order */
  ruleComments: string[];
}

/**
 * The transaction for one family. `currentSave` is `iptables-save -t filter` (or ip6tables-save)
 * as it is now: old jumps found there are deleted by their exact spec before the new ones go in.
 * An inactive policy yields the release: jumps deleted, our chains flushed and removed.
 */
export function buildIptablesRestore(policy: InterdictionPolicy, family: 4 | 6, currentSave: string): IptablesScript {
  const rules = planRules(policy).filter((r) => r.family === undefined || r.family === family);
  const active = planRules(policy).length > 0;
  const lines: string[] = ['*filter'];
  const existing = chainsDeclared(currentSave);
  // declaring a chain under --noflush creates it, or empties it when it exists
  if (active) for (const hook of HOOKS) lines.push(`:${IPT_CHAINS[hook]} - [0:0]`);
  else for (const hook of HOOKS) if (existing.has(IPT_CHAINS[hook])) lines.push(`:${IPT_CHAINS[hook]} - [0:0]`);
  for (const j of ourJumpLines(currentSave)) lines.push(j.replace(/^-A /, '-D '));
  const comments: string[] = [];
  if (active) {
    rules.forEach((r, i) => {
      for (const spec of renderIptablesRule(r, family, i)) {
        lines.push(`-A ${IPT_CHAINS[r.hook]} ${spec}`);
        comments.push(COMMENT_PREFIX + r.tag);
      }
    });
    for (const hook of HOOKS) lines.push(`-I ${BUILTIN[hook]} 1 -m comment --comment ${quote(IPT_JUMP_COMMENT)} -j ${IPT_CHAINS[hook]}`);
  } else {
    for (const hook of HOOKS) if (existing.has(IPT_CHAINS[hook])) lines.push(`-X ${IPT_CHAINS[hook]}`);
  }
  lines.push('COMMIT');
  return { script: lines.join('\n') + '\n', ruleComments: comments };
}

/** Our part of an `iptables-save -t filter` listing: our chains' rules and the jumps into them. */
export function ourIptablesListing(save: string): string {
  const chains = Object.values(IPT_CHAINS);
  return save
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => chains.some((c) => l.startsWith(`:${c} `) || l.startsWith(`-A ${c} `) || l.endsWith(`-j ${c}`)))
    .join('\n');
}

/** Comments of the rules in our chains, chain by chain in HOOKS order. */
export function ruleCommentsFromIptablesSave(save: string): string[] {
  const out: string[] = [];
  const lines = save.split('\n').map((l) => l.trim());
  for (const hook of HOOKS) {
    for (const l of lines) {
      if (!l.startsWith(`-A ${IPT_CHAINS[hook]} `)) continue;
      const m = /--comment (?:"((?:[^"\\]|\\.)*)"|(\S+))/.exec(l);
      out.push(m ? (m[1] ?? m[2]!).replace(/\\(.)/g, '$1') : '');
    }
  }
  return out;
}
