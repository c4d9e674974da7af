// nftables backend: `nft -f -` with a whole-table replace of inet meerkat_interdiction (one
// kernel transaction), read back with `nft list table` / `nft -j list table`. Touches no
// other table.
import { findExecutable, runChecked, runCommand } from './command-runner.js';
import type { FirewallBackend, KernelReadback } from './firewall-backend.js';
import { buildNftRuleset, NFT_FAMILY, NFT_TABLE, ruleCommentsFromNftJson } from './nft-ruleset.js';
import type { InterdictionPolicy } from './policy.js';

export class NftBackend implements FirewallBackend {
  readonly name = 'nft' as const;

  constructor(private readonly nft: string) {}

  /** The backend if `nft` exists and can talk to the kernel here, else undefined. */
  static async detect(): Promise<NftBackend | undefined> {
    const nft = findExecutable('nft');
    if (!nft) return undefined;
    const r = await runCommand(nft, ['list', 'tables']).catch(() => undefined);
    return r?.code === 0 ? new NftBackend(nft) : undefined;
  }

  async apply(policy: InterdictionPolicy): Promise<void> {
    await runChecked(this.nft, ['-f', '-'], { input: buildNftRuleset(policy).script });
  }

  async readBack(): Promise<KernelReadback> {
    const text = await runCommand(this.nft, ['list', 'table', NFT_FAMILY, NFT_TABLE]);
    if (text.code !== 0) {
      if (/No such file or directory/i.test(text.stderr)) return { listing: '', ruleComments: [] };
      await runChecked(this.nft, ['list', 'table', NFT_FAMILY, NFT_TABLE]);
    }
    const json = await runChecked(this.nft, ['-j', 'list', 'table', NFT_FAMILY, NFT_TABLE]);
    return { listing: text.stdout, ruleComments: ruleCommentsFromNftJson(json.stdout) };
  }

  expectedComments(policy: InterdictionPolicy): string[] {
    return buildNftRuleset(policy).ruleComments;
  }
}
