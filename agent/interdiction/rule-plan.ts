// The policy as an ordered list of packet-filter rules per hook (input / output / forward),
// independent of syntax. nftables and iptables both render this plan, so the two Linux
// backends cannot drift apart. First match decides inside OUR chain: 'pass' only means "not
// ours to drop" (nft accept in our own table, iptables RETURN from our chain) - other
// firewalls on the host still see the packet; 'drop' is final everywhere. Pure.
import { parseCidr } from '../../shared/net/ip-address.js';
import type { InterdictionPolicy } from './policy.js';

export type Hook = 'input' | 'output' | 'forward';
export const HOOKS: readonly Hook[] = ['input', 'output', 'forward'];

export interface PlannedRule {
  hook: Hook;
  /** address family the rule is limited to; absent = both */
  family?: 4 | 6;
  /** short unique-ish label, rendered as the rule comment (prefixed "meerkat:") */
  tag: string;
  /** input: arrived on loopback; output: leaves on loopback */
  loopback?: boolean;
  src?: string;
  dst?: string;
  proto?: 'tcp' | 'udp' | 'icmpv6';
  sport?: number;
  dport?: number;
  icmpv6Types?: number[];
  /** ICMP/ICMPv6 errors that conntrack relates to a known connection */
  relatedIcmp?: boolean;
  /** drop this share of matching packets at random (percent, 0.01 resolution) */
  lossPercent?: number;
  /** drop what exceeds this many bytes per second (token bucket of burstBytes) */
  rateBytesPerSec?: number;
  burstBytes?: number;
  verdict: 'pass' | 'drop';
}

export const COMMENT_PREFIX = 'meerkat:';

/** ND (router/neighbour solicitation and advertisement) and MLD, so the host keeps its IPv6 neighbours. */
const ND_OUT = [133, 135, 136, 143];
const ND_IN = [130, 134, 135, 136];

/**
 * Token-bucket depth for a rate cap. A bucket smaller than one (GSO/GRO-merged) packet would
 * never let it through and turn "slow" into "cut", so it holds at least 64 KiB; above that one
 * quarter second of the rate keeps bursts short.
 */
export function burstFor(rateBytesPerSec: number): number {
  return Math.max(65_536, Math.ceil(rateBytesPerSec / 4));
}

function familyOf(cidrText: string): 4 | 6 {
  return parseCidr(cidrText).version;
}

function fmtRate(n: number): string {
  return `${n}B/s`;
}

/** The rules for a policy, in evaluation order. An inactive policy yields no rules. */
export function planRules(policy: InterdictionPolicy): PlannedRule[] {
  const rules: PlannedRule[] = [];
  const isolate = policy.mode === 'isolate';
  if (!isolate && policy.blocks.length === 0 && policy.degrade.length === 0) return rules;

  for (const hook of HOOKS) {
    const out = hook === 'output';
    const inp = hook === 'input';
    // 1. never touched: loopback and the collector connection
    if (hook !== 'forward') {
      rules.push({ hook, tag: 'loopback', loopback: true, verdict: 'pass' });
      for (const c of policy.managementChannels) {
        const fam = familyOf(c.address);
        const tag = `mgmt ${fam === 6 ? `[${c.address}]` : c.address}:${c.port}`;
        rules.push(out
          ? { hook, family: fam, tag, dst: c.address, proto: 'tcp', dport: c.port, verdict: 'pass' }
          : { hook, family: fam, tag, src: c.address, proto: 'tcp', sport: c.port, verdict: 'pass' });
      }
    }
    // match a peer on the far side: destination going out, source coming in, either when forwarded
    const sides: ('src' | 'dst')[] = out ? ['dst'] : inp ? ['src'] : ['src', 'dst'];
    const peerRule = (peer: string | undefined, side: 'src' | 'dst', r: Omit<PlannedRule, 'hook'>): PlannedRule => {
      if (peer === undefined) return { hook, ...r };
      return { hook, family: familyOf(peer), [side]: peer, ...r };
    };
    // 2. blocks
    for (const b of policy.blocks) {
      for (const side of sides) rules.push(peerRule(b.peer, side, { tag: `block ${b.peer}`, verdict: 'drop' }));
    }
    // 3. degrade: random loss first, so the rate bucket only counts what survived it
    for (const d of policy.degrade) {
      const who = d.peer ?? 'all';
      const dsides: ('src' | 'dst')[] = d.peer === undefined ? [sides[0]!] : sides;
      for (const side of dsides) {
        if (d.lossPercent !== undefined) {
          rules.push(peerRule(d.peer, side, { tag: `degrade-loss ${who} ${d.lossPercent}%`, lossPercent: d.lossPercent, verdict: 'drop' }));
        }
        if (d.rateBytesPerSec !== undefined) {
          rules.push(peerRule(d.peer, side, {
            tag: `degrade-rate ${who} ${fmtRate(d.rateBytesPerSec)}`,
            rateBytesPerSec: d.rateBytesPerSec,
            burstBytes: burstFor(d.rateBytesPerSec),
            verdict: 'drop',
          }));
        }
      }
    }
    // 4. isolate: the allow list, what keeps the host's addresses alive, then everything else dropped
    if (isolate) {
      for (const a of policy.allow) {
        for (const side of sides) rules.push(peerRule(a, side, { tag: `allow ${a}`, verdict: 'pass' }));
      }
      if (out) {
        rules.push({ hook, family: 6, tag: 'isolate-nd', proto: 'icmpv6', icmpv6Types: ND_OUT, verdict: 'pass' });
        rules.push({ hook, family: 4, tag: 'isolate-dhcp', dst: '255.255.255.255', proto: 'udp', sport: 68, dport: 67, verdict: 'pass' });
        rules.push({ hook, family: 6, tag: 'isolate-dhcp', dst: 'ff02::1:2', proto: 'udp', sport: 546, dport: 547, verdict: 'pass' });
      } else if (inp) {
        rules.push({ hook, family: 6, tag: 'isolate-nd', proto: 'icmpv6', icmpv6Types: ND_IN, verdict: 'pass' });
        rules.push({ hook, family: 4, tag: 'isolate-dhcp', proto: 'udp', sport: 67, dport: 68, verdict: 'pass' });
        rules.push({ hook, family: 6, tag: 'isolate-dhcp', proto: 'udp', sport: 547, dport: 546, verdict: 'pass' });
        rules.push({ hook, tag: 'isolate-icmp-related', relatedIcmp: true, verdict: 'pass' });
      }
      rules.push({ hook, tag: 'isolate', verdict: 'drop' });
    }
  }
  return rules;
}
