// `meerkat package agent`: the network owner builds the organisation's agent packages, with
// the owner's anon.key and box.pub, the operators' public keys, the collector's address and an
// enrollment token inside (installed 0600/0700 and moved into the agent's state at install).
// Run by the owner, never by the collector operator: the collector never sees the owner's keys.
// Needs a built checkout (npm run build: the agent bundle) and the packaging tools
// (scripts/setup.sh); the package builders are installer/build/.
import type { Command, Option as OptionType } from 'commander';
import { Option } from 'commander';
import { UsageError } from '../../shared/cli/run-cli.js';
import { MEERKAT_VERSION } from '../../shared/version.js';
import { ownerKeysDir, settingHelp } from '../settings.js';
import { refuseRenamedOptions } from '../../shared/cli/renamed-options.js';

const AGENT_KINDS = ['agent-deb', 'agent-rpm', 'agent-exe'] as const;

interface Flags {
  ownerKeys?: string;
  operatorKey?: string[];
  collector?: string;
  token?: string;
  ca?: string;
  config?: string;
  out: string;
  only?: string[];
  fast: boolean;
  json: boolean;
}

export function registerPackageCommands(program: Command): void {
  const pkg = program.command('package').description("build an organisation's packages (run by the network owner)");
  const only: OptionType = new Option('--only <kind...>', 'build only these').choices([...AGENT_KINDS]);
  const agentCmd = pkg.command('agent')
    .description("agent packages (.deb, .rpm, setup.exe) carrying the owner's anon.key and box.pub, the operator keys, the collector address and an enrollment token")
    .option('--owner-keys <dir>', `owner key directory (${settingHelp('ownerKeys')})`)
    .option('--operator-key <file...>', "operators' public keys (op.pub) the agents pin: only commands they sign change a host")
    .option('--collector <url>', 'collector address, https://host:port')
    .option('--token <token>', 'enrollment token (meerkat-collector token create --uses N on the collector host: one use per endpoint)')
    .option('--ca <file>', "the collector's CA certificate: checked against the token, shipped for reference")
    .option('--config <file>', 'agent configuration to install (agent.json: internal prefixes, capture settings)')
    .option('--out <dir>', 'output folder', 'meerkat-agent-packages')
    .addOption(only)
    .option('--fast', 'fast compression (bigger files; for trials)', false)
    .option('--json', 'print what was built as JSON', false);
  refuseRenamedOptions(agentCmd, { '--owner': '--owner-keys' });
  agentCmd.action(async (f: Flags) => {
      if (!f.collector) throw new UsageError('--collector https://host:port is required');
      if (!f.token) throw new UsageError('--token is required (meerkat-collector token create --uses N on the collector host)');
      if (!f.operatorKey?.length) throw new UsageError('--operator-key op.pub is required: agents obey only commands signed by a pinned key');
      // the builders are loaded only here: the console's other commands never carry them
      const { loadOwnerPayload } = await import('../../installer/build/owner-payload.js');
      const { buildPackages } = await import('../../installer/build/build-packages.js');
      const { PackageBuildError } = await import('../../installer/build/tool-run.js');
      let owner;
      try {
        owner = loadOwnerPayload({
          ownerDir: ownerKeysDir(f.ownerKeys),
          operatorKeys: f.operatorKey,
          collector: f.collector,
          token: f.token,
          ...(f.ca ? { caFile: f.ca } : {}),
          ...(f.config ? { configFile: f.config } : {}),
        });
      } catch (e) {
        // a key, token, address or config the owner gave: a usage error (exit 2)
        if (e instanceof PackageBuildError) throw new UsageError(e.message);
        throw e;
      }
      const built = await buildPackages({
        version: MEERKAT_VERSION,
        outDir: f.out,
        kinds: (f.only ?? AGENT_KINDS) as (typeof AGENT_KINDS)[number][],
        compression: f.fast ? 'fast' : 'release',
        owner,
        say: (l) => process.stderr.write(`${l}\n`),
      });
      if (f.json) {
        process.stdout.write(JSON.stringify({ collector: owner.collector, operatorKeys: owner.operatorKeys.map((k) => k.keyId), packages: built }, null, 2) + '\n');
        return;
      }
      for (const p of built) process.stdout.write(`${p.file}\t${(p.bytes / 1048576).toFixed(1)} MB\n`);
      process.stdout.write(`install on a Linux endpoint: sudo apt install ./${built.find((p) => p.kind === 'agent-deb')?.file.split('/').pop() ?? 'meerkat-agent_VERSION_amd64.deb'}\n`);
      process.stdout.write('these packages hold the owner\'s anon.key and an enrollment token: hand them only to the endpoints\' admins\n');
    });
}
