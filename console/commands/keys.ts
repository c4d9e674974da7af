// `meerkat keys init`: the network owner's key material (anon.key, box.key, box.pub).
// `meerkat keys operator-init`: an operator's Ed25519 command signing key (op.key, op.pub),
// which agents pin; made on the operator's machine, never seen by the collector.
import type { Command } from 'commander';
import { join } from 'node:path';
import { initOwnerKeys } from '../../shared/keys/owner-keys.js';
import { initOperatorKeys } from '../../shared/commands/operator-keys.js';
import { KeyFileError } from '../../shared/keys/key-file-error.js';
import { UsageError } from '../../shared/cli/run-cli.js';
import { refuseRenamedOptions } from '../../shared/cli/renamed-options.js';
import { operatorDir, ownerKeysDir, settingHelp } from '../settings.js';

function asUsage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof KeyFileError) throw new UsageError(e.message);
    throw e;
  }
}

export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description("key material: the network owner's (anonymization key, box key pair) and an operator's signing key");
  const init = keys
    .command('init')
    .description('create the owner keys: anon.key and box.key (0600), box.pub; endpoints get anon.key and box.pub, box.key stays with the owner')
    .option('--owner-keys <dir>', `owner key directory to create (${settingHelp('ownerKeys')})`)
    .option('--force', 'replace existing keys (the old files are kept, renamed, since old data needs them)')
    .option('--json', 'print the result as JSON');
  refuseRenamedOptions(init, { '--dir': '--owner-keys' });
  init.action((opts: { ownerKeys?: string; force?: boolean; json?: boolean }) => {
    const dir = ownerKeysDir(opts.ownerKeys);
    const r = asUsage(() => initOwnerKeys(dir, { force: opts.force === true }));
    if (opts.json) {
      process.stdout.write(JSON.stringify({ dir, keyId: r.keyId, files: r.files, replaced: r.replaced }) + '\n');
      return;
    }
    process.stdout.write(`owner keys created in ${dir}\n`);
    for (const f of r.files) process.stdout.write(`  ${f}\n`);
    for (const f of r.replaced) process.stdout.write(`  (previous key kept as ${f})\n`);
    process.stdout.write(`anonymization key id: ${r.keyId}\n`);
    process.stdout.write('give endpoints anon.key and box.pub (meerkat-agent enroll --anon-key --box-pub, or meerkat package agent); keep box.key with the owner only\n');
  });

  const opInit = keys
    .command('operator-init')
    .description('create an operator\'s Ed25519 command signing key: op.key (0600) and op.pub (pin it on agents)')
    .option('--operator-dir <dir>', `operator directory (${settingHelp('operatorDir')})`)
    .requiredOption('--name <name>', 'operator name recorded with the key (shown in audits)')
    .option('--force', 'replace an existing key (the old files are kept, renamed; agents must pin the new op.pub)')
    .option('--json', 'print the result as JSON');
  refuseRenamedOptions(opInit, { '--dir': '--operator-dir' });
  opInit.action((o: { operatorDir?: string; name: string; force?: boolean; json?: boolean }) => {
    const dir = operatorDir(o.operatorDir);
    const r = asUsage(() => initOperatorKeys(dir, { name: o.name, force: o.force === true }));
    process.stdout.write(o.json ? JSON.stringify({ dir, keyId: r.keyId, files: r.files, replaced: r.replaced }) + '\n'
      : `operator signing key ${r.keyId} created in ${dir}\n${r.files.map((f) => `  ${f}\n`).join('')}`
        + `pin it on each agent: meerkat-agent operator-key add ${join(dir, 'op.pub')}\n`);
  });
}
