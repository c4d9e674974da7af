// `meerkat-agent operator-key add|list|remove`: pinning the operator public keys whose signed
// commands this agent obeys. Local administration only (it writes <state-dir>/operator-keys/);
// there is deliberately no way to do this over the network.
import type { Command } from 'commander';
import { UsageError } from '../../shared/cli/run-cli.js';
import { KeyFileError } from '../../shared/keys/key-file-error.js';
import { loadAgentConfig } from '../config.js';
import { loadPinnedOperatorKeys, pinOperatorKeys, unpinOperatorKey } from './pinned-keys.js';

interface Flags { stateDir?: string; config?: string; json?: boolean }

function stateDirOf(f: Flags): string {
  return f.stateDir ?? loadAgentConfig(f.config).stateDir;
}

export function registerOperatorKeyCommands(program: Command): void {
  const cmd = program.command('operator-key').description('operator public keys this agent trusts for signed commands (pinned locally)');
  const common = (c: Command): Command => c
    .option('--state-dir <dir>', 'agent state directory (default: stateDir from the config)')
    .option('--config <file>', 'agent config file')
    .option('--json', 'print JSON');

  common(cmd.command('add').description('pin operator public keys (op.pub files from `meerkat keys operator-init`)').argument('<file...>', 'op.pub files'))
    .action((files: string[], f: Flags) => {
      let pinned;
      try {
        pinned = pinOperatorKeys(stateDirOf(f), files);
      } catch (e) {
        if (e instanceof KeyFileError) throw new UsageError(e.message);
        throw e;
      }
      if (f.json) for (const p of pinned) process.stdout.write(JSON.stringify(p) + '\n');
      else for (const p of pinned) process.stdout.write(`pinned operator key ${p.keyId} (${p.name}) -> ${p.file}\n`);
    });

  common(cmd.command('list').description('list pinned operator keys'))
    .action((f: Flags) => {
      const set = loadPinnedOperatorKeys(stateDirOf(f));
      if (f.json) {
        process.stdout.write(JSON.stringify({ pinned: set.pinned, problems: set.problems }) + '\n');
        return;
      }
      if (set.pinned.length === 0) process.stdout.write('no operator key pinned: this agent refuses every command\n');
      for (const p of set.pinned) process.stdout.write(`${p.keyId}  ${p.name}\n`);
      for (const p of set.problems) process.stderr.write(`problem: ${p}\n`);
    });

  common(cmd.command('remove').description('unpin an operator key').argument('<key-id>', '16 hex characters'))
    .action((keyId: string, f: Flags) => {
      if (!unpinOperatorKey(stateDirOf(f), keyId)) throw new UsageError(`no pinned operator key ${JSON.stringify(keyId)}`);
      process.stdout.write(f.json ? JSON.stringify({ removed: keyId }) + '\n' : `unpinned operator key ${keyId}\n`);
    });
}
