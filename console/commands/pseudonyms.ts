// `meerkat deanon` / `meerkat anon`: turn pseudonyms back into real addresses
// (the owner, holding the anonymization key) and the other way round.
import type { Command } from 'commander';
import { join } from 'node:path';
import { loadAnonKey, ANON_KEY_FILE } from '../../shared/keys/owner-keys.js';
import { anonymizeCidrText, anonymizeText, deanonymizeCidrText, deanonymizeText } from '../../shared/anonymize/pseudonym-text.js';
import { ownerKeysDir } from '../owner-dir.js';

interface Opts { keys?: string; keyFile?: string; json?: boolean }

function run(addresses: string[], opts: Opts, inverse: boolean): void {
  const keyFile = opts.keyFile ?? join(ownerKeysDir(opts.keys), ANON_KEY_FILE);
  const key = { anonKey: loadAnonKey(keyFile) };
  for (const a of addresses) {
    const isCidr = a.includes('/');
    const out = isCidr
      ? (inverse ? deanonymizeCidrText : anonymizeCidrText)(key, a)
      : (inverse ? deanonymizeText : anonymizeText)(key, a);
    if (opts.json) process.stdout.write(JSON.stringify(inverse ? { pseudonym: a, address: out } : { address: a, pseudonym: out }) + '\n');
    else process.stdout.write(`${a} -> ${out}\n`);
  }
}

export function registerPseudonymCommands(program: Command): void {
  const common = (c: Command) =>
    c
      .option('--keys <dir>', 'owner key directory (default $MEERKAT_OWNER_KEYS or ~/.meerkat/owner-keys)')
      .option('--key-file <file>', 'the anonymization key file itself')
      .option('--json', 'one JSON object per address');
  common(
    program
      .command('deanon')
      .description('turn pseudonymized addresses (or prefixes) back into real ones, with the owner key')
      .argument('<address...>', 'pseudonym addresses or CIDR prefixes'),
  ).action((addresses: string[], opts: Opts) => run(addresses, opts, true));
  common(
    program
      .command('anon')
      .description('show the pseudonym an address (or prefix) gets under the owner key')
      .argument('<address...>', 'real addresses or CIDR prefixes'),
  ).action((addresses: string[], opts: Opts) => run(addresses, opts, false));
}
