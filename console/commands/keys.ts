// `meerkat keys init`: creates the network owner's key material.
import type { Command } from 'commander';
import { initOwnerKeys } from '../../shared/keys/owner-keys.js';
import { ownerKeysDir } from '../owner-dir.js';

export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description("the network owner's keys (anonymization key, NaCl box key pair)");
  keys
    .command('init')
    .description('create owner keys: anon.key and box.key (0600) and box.pub in the key directory')
    .option('--dir <dir>', 'key directory (default $MEERKAT_OWNER_KEYS or ~/.meerkat/owner-keys)')
    .option('--force', 'replace existing keys (the old files are kept, renamed, since old data needs them)')
    .option('--json', 'print the result as JSON')
    .action((opts: { dir?: string; force?: boolean; json?: boolean }) => {
      const dir = ownerKeysDir(opts.dir);
      const r = initOwnerKeys(dir, { force: opts.force === true });
      if (opts.json) {
        process.stdout.write(JSON.stringify({ dir, key_id: r.keyId, files: r.files, replaced: r.replaced }) + '\n');
        return;
      }
      process.stdout.write(`owner keys created in ${dir}\n`);
      for (const f of r.files) process.stdout.write(`  ${f}\n`);
      for (const f of r.replaced) process.stdout.write(`  (previous key kept as ${f})\n`);
      process.stdout.write(`anonymization key id: ${r.keyId}\n`);
      process.stdout.write('give agents anon.key and box.pub; keep box.key with the owner only\n');
    });
}
