// Policy -> nftables script for `nft -f -`. Everything lives in one table of our own
// (inet meerkat_interdiction) with input/output/forward base chains; each script replaces that
// whole table in ONE transaction (create-if-missing, delete, re-create), so the kernel never
// holds half a policy and no other table is read or touched. Also parses `nft -j list table`
// output back into the rule comments, for the read-back check. Pure.
import type { InterdictionPolicy } from './policy.js';
import { COMMENT_PREFIX, HOOKS, planRules, type Hook, type PlannedRule } from './rule-plan.js';
import { MeerkatError } from '../../shared/errors.js';

export const NFT_FAMILY = 'inet';
export const NFT_TABLE = 'meerkat_interdiction';
/** after the usual filter chains' priority 0, so their own accounting sees packets first */
const NFT_CHAIN_PRIORITY = 'filter + 10';

export interface NftRuleset {
  /** text for `nft -f -` */
  script: string;
  /** the comment of every rule, in order, as the kernel will list them */
  ruleComments: string[];
  /** false when the policy is inactive: the script then only removes the table */
  tablePresent: boolean;
}

function addr(family: 4 | 6 | undefined): string {
  return family === 6 ? 'ip6' : 'ip';
}

/** One rule's text (without the chain), e.g. `ip daddr 203.0.113.5 counter drop comment "meerkat:block 203.0.113.5"`. */
export function renderNftRule(r: PlannedRule): string {
  const parts: string[] = [];
  if (r.loopback) parts.push(r.hook === 'output' ? 'oif "lo"' : 'iif "lo"');
  if (r.family !== undefined && r.src === undefined && r.dst === undefined && r.proto !== 'icmpv6') {
    parts.push(`meta nfproto ${r.family === 6 ? 'ipv6' : 'ipv4'}`);
  }
  if (r.src !== undefined) parts.push(`${addr(r.family)} saddr ${r.src}`);
  if (r.dst !== undefined) parts.push(`${addr(r.family)} daddr ${r.dst}`);
  if (r.proto === 'tcp' || r.proto === 'udp') {
    if (r.sport !== undefined) parts.push(`${r.proto} sport ${r.sport}`);
    if (r.dport !== undefined) parts.push(`${r.proto} dport ${r.dport}`);
    if (r.sport === undefined && r.dport === undefined) parts.push(`meta l4proto ${r.proto}`);
  }
  if (r.proto === 'icmpv6') parts.push(r.icmpv6Types ? `icmpv6 type { ${r.icmpv6Types.join(', ')} }` : 'meta l4proto ipv6-icmp');
  if (r.relatedIcmp) parts.push('ct state related meta l4proto { icmp, ipv6-icmp }');
  if (r.lossPercent !== undefined) parts.push(`numgen random mod 10000 < ${Math.round(r.lossPercent * 100)}`);
  if (r.rateBytesPerSec !== undefined) parts.push(`limit rate over ${r.rateBytesPerSec} bytes/second burst ${r.burstBytes ?? 0} bytes`);
  // counters on drops only: they show the operator what the interdiction actually stopped
  parts.push(r.verdict === 'drop' ? 'counter drop' : 'accept');
  parts.push(`comment ${JSON.stringify(COMMENT_PREFIX + r.tag)}`);
  return parts.join(' ');
}

/** Removes our table if it exists, in one transaction (nft 1.0.6 has no `destroy`). */
export function nftDeleteScript(): string {
  return `table ${NFT_FAMILY} ${NFT_TABLE} {}\ndelete table ${NFT_FAMILY} ${NFT_TABLE}\n`;
}

const HOOK_CHAIN: Record<Hook, string> = { input: 'input', output: 'output', forward: 'forward' };

/** The whole-table replace for a policy (or the table's removal when nothing is active). */
export function buildNftRuleset(policy: InterdictionPolicy): NftRuleset {
  const rules = planRules(policy);
  if (rules.length === 0) return { script: nftDeleteScript(), ruleComments: [], tablePresent: false };
  const lines: string[] = [nftDeleteScript().trimEnd(), `table ${NFT_FAMILY} ${NFT_TABLE} {`];
  lines.push('\tcomment "Meerkat agent interdiction; managed by the agent, replaced as a whole"');
  const comments: string[] = [];
  for (const hook of HOOKS) {
    lines.push(`\tchain ${HOOK_CHAIN[hook]} {`);
    lines.push(`\t\ttype filter hook ${hook} priority ${NFT_CHAIN_PRIORITY}; policy accept;`);
    for (const r of rules) {
      if (r.hook !== hook) continue;
      lines.push(`\t\t${renderNftRule(r)}`);
      comments.push(COMMENT_PREFIX + r.tag);
    }
    lines.push('\t}');
  }
  lines.push('}');
  return { script: lines.join('\n') + '\n', ruleComments: comments, tablePresent: true };
}

export class NftListParseError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_NFT_LIST';
  constructor(what: string) {
    super(`cannot read nft JSON listing: ${what}`);
    this.name = 'NftListParseError';
  }
}

/** Rule comments, in listing order, from `nft -j list table inet meerkat_interdiction`. */
export function ruleCommentsFromNftJson(json: string): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    throw new NftListParseError(`not JSON (${json.slice(0, 60)})`);
  }
  const items = (doc as { nftables?: unknown }).nftables;
  if (!Array.isArray(items)) throw new NftListParseError('no "nftables" array');
  const out: string[] = [];
  // listing order is chain by chain in creation order, rules in chain order - our HOOKS order
  const byChain = new Map<string, string[]>();
  for (const item of items) {
    const rule = (item as { rule?: { chain?: unknown; comment?: unknown } }).rule;
    if (!rule) continue;
    const chain = String(rule.chain);
    if (!byChain.has(chain)) byChain.set(chain, []);
    byChain.get(chain)!.push(typeof rule.comment === 'string' ? rule.comment : '');
  }
  for (const hook of HOOKS) out.push(...(byChain.get(HOOK_CHAIN[hook]) ?? []));
  for (const [chain, list] of byChain) if (!HOOKS.includes(chain as Hook)) out.push(...list);
  return out;
}
