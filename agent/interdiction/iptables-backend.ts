// iptables fallback backend (iptables-legacy or iptables-nft): per address family one
// `iptables-restore --noflush` transaction built from the current `iptables-save -t filter`;
// read back from iptables-save. ip6tables is skipped when its tools are missing.
import { findExecutable, runChecked } from './command-runner.js';
import type { FirewallBackend, KernelReadback } from './firewall-backend.js';
import { buildIptablesRestore, ourIptablesListing, ruleCommentsFromIptablesSave } from './iptables-rules.js';
import type { InterdictionPolicy } from './policy.js';

interface FamilyTools {
  family: 4 | 6;
  save: string;
  restore: string;
}

export class IptablesBackend implements FirewallBackend {
  readonly name = 'iptables' as const;

  constructor(private readonly tools: readonly FamilyTools[]) {}

  static detect(): IptablesBackend | undefined {
    const tools: FamilyTools[] = [];
    for (const [family, prefix] of [[4, 'iptables'], [6, 'ip6tables']] as const) {
      const save = findExecutable(`${prefix}-save`);
      const restore = findExecutable(`${prefix}-restore`);
      if (save && restore) tools.push({ family, save, restore });
    }
    return tools.some((t) => t.family === 4) ? new IptablesBackend(tools) : undefined;
  }

  async apply(policy: InterdictionPolicy): Promise<void> {
    for (const t of this.tools) {
      const current = await runChecked(t.save, ['-t', 'filter']);
      const { script } = buildIptablesRestore(policy, t.family, current.stdout);
      // -w: wait for the xtables lock instead of failing when another tool holds it
      await runChecked(t.restore, ['--noflush', '-w', '5'], { input: script });
    }
  }

  async readBack(): Promise<KernelReadback> {
    const listings: string[] = [];
    const comments: string[] = [];
    for (const t of this.tools) {
      const save = (await runChecked(t.save, ['-t', 'filter'])).stdout;
      const ours = ourIptablesListing(save);
      if (ours !== '') listings.push(`# IPv${t.family} (${t.save.split('/').pop()} -t filter)\n${ours}`);
      comments.push(...ruleCommentsFromIptablesSave(save));
    }
    return { listing: listings.join('\n'), ruleComments: comments };
  }

  expectedComments(policy: InterdictionPolicy): string[] {
    return this.tools.flatMap((t) => buildIptablesRestore(policy, t.family, '').ruleComments);
  }
}
