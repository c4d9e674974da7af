// `meerkat deanon` / `meerkat anon`: turn pseudonyms back into real addresses and names
// (the owner, holding the anonymization key) and the other way round. Names: tokens
// ("mk--...") and pseudonym reverse names from the agents' metadata (docs/privacy.md,
// "Domain names").
import type { Command } from 'commander';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { loadAnonKey, ANON_KEY_FILE } from '../../shared/keys/owner-keys.js';
import { anonymizeCidrText, anonymizeText, deanonymizeCidrText, deanonymizeText, anonymizeNameText, deanonymizeNameText } from '../../shared/anonymize/pseudonym-text.js';
import { ownerKeysDir } from '../owner-dir.js';

interface Opts { keys?: string; keyFile?: string; json?: boolean; internalSuffix?: string[] }

function isAddressOrCidr(a: string): boolean {
  const slash = a.indexOf('/');
  return isIP(slash < 0 ? a : a.slice(0, slash)) !== 0;
}

function run(values: string[], opts: Opts, inverse: boolean): void {
  const keyFile = opts.keyFile ?? join(ownerKeysDir(opts.keys), ANON_KEY_FILE);
  const key = { anonKey: loadAnonKey(keyFile) };
  for (const a of values) {
    let out: string;
    let field: 'address' | 'name';
    if (isAddressOrCidr(a)) {
      field = 'address';
      const isCidr = a.includes('/');
      out = isCidr ? (inverse ? deanonymizeCidrText : anonymizeCidrText)(key, a) : (inverse ? deanonymizeText : anonymizeText)(key, a);
    } else {
      field = 'name';
      out = inverse ? deanonymizeNameText(key, a) : anonymizeNameText(key, a, opts.internalSuffix);
    }
    if (opts.json) process.stdout.write(JSON.stringify(inverse ? { pseudonym: a, [field]: out } : { [field]: a, pseudonym: out }) + '\n');
    else process.stdout.write(`${a} -> ${out}\n`);
  }
}

export function registerPseudonymCommands(program: Command): void {
  const common = (c: Command) =>
    c
      .option('--keys <dir>', 'owner key directory (default $MEERKAT_OWNER_KEYS or ~/.meerkat/owner-keys)')
      .option('--key-file <file>', 'the anonymization key file itself')
      .option('--json', 'one JSON object per value');
  common(
    program
      .command('deanon')
      .description('turn pseudonymized addresses, prefixes or domain names (mk-- tokens, pseudonym reverse names) back into real ones, with the owner key')
      .argument('<pseudonym...>', 'pseudonym addresses, CIDR prefixes or names'),
  ).action((values: string[], opts: Opts) => run(values, opts, true));
  common(
    program
      .command('anon')
      .description('show the pseudonym an address, prefix or internal domain name gets under the owner key')
      .argument('<value...>', 'real addresses, CIDR prefixes or domain names')
      .option('--internal-suffix <suffix...>', "the agents' internal suffixes (anonymize.internalSuffixes), where a name's tokens split"),
  ).action((values: string[], opts: Opts) => run(values, opts, false));
}
