// `meerkat-agent response-key add|list|remove`: an operator authorises the collector's
// automatic-response key on this host, for named command kinds only. Local administration
// only (writes <state-dir>/response-keys/); nothing over the network can do this.
import type { Command } from 'commander';
import { UsageError } from '../../shared/cli/run-cli.js';
import { KeyFileError } from '../../shared/keys/key-file-error.js';
import { loadAgentConfig } from '../config.js';
import { loadResponseKeys, pinResponseKey, unpinResponseKey, RESPONSE_KINDS } from './response-keys.js';

interface Flags { stateDir?: string; config?: string; json?: boolean; allow?: string }

function stateDirOf(f: Flags): string {
  return f.stateDir ?? loadAgentConfig(f.config).stateDir;
}

export function registerResponseKeyCommands(program: Command): void {
  const cmd = program.command('response-key').description('collector response keys this agent obeys for automatic responses, per command kind');
  const common = (c: Command): Command => c
    .option('--state-dir <dir>', 'agent state directory (default: stateDir from the config)')
    .option('--config <file>', 'agent config file')
    .option('--json', 'print JSON');

  common(cmd.command('add').description('authorise a collector response key (its response.pub) for some command kinds')
    .argument('<file>', 'the collector\'s response public key file')
    .requiredOption('--allow <kinds>', `comma-separated command kinds, of: ${RESPONSE_KINDS.join(', ')}`))
    .action((file: string, f: Flags) => {
      let r;
      try {
        r = pinResponseKey(stateDirOf(f), file, (f.allow ?? '').split(',').map((s) => s.trim()).filter(Boolean));
      } catch (e) {
        if (e instanceof KeyFileError) throw new UsageError(e.message);
        throw e;
      }
      process.stdout.write(f.json ? JSON.stringify(r) + '\n' : `response key ${r.keyId} (${r.name}) authorised for ${r.kinds.join(', ')}\n`);
    });

  common(cmd.command('list').description('list authorised response keys'))
    .action((f: Flags) => {
      const set = loadResponseKeys(stateDirOf(f));
      const keys = [...set.keys.values()].map((k) => ({ keyId: k.keyId, name: k.name, kinds: [...k.kinds] }));
      if (f.json) { process.stdout.write(JSON.stringify({ keys, problems: set.problems }) + '\n'); return; }
      if (keys.length === 0) process.stdout.write('no response key authorised: automatic responses are refused\n');
      for (const k of keys) process.stdout.write(`${k.keyId}  ${k.name}  ${k.kinds.join(',')}\n`);
      for (const p of set.problems) process.stderr.write(`problem: ${p}\n`);
    });

  common(cmd.command('remove').description('withdraw a response key').argument('<key-id>', '16 hex characters'))
    .action((keyId: string, f: Flags) => {
      if (!unpinResponseKey(stateDirOf(f), keyId)) throw new UsageError(`no response key ${JSON.stringify(keyId)}`);
      process.stdout.write(f.json ? JSON.stringify({ removed: keyId }) + '\n' : `removed response key ${keyId}\n`);
    });
}
