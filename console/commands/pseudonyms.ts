// `meerkat deanon` / `meerkat anon`: turn pseudonyms back into real addresses and names
// (the owner, holding the anonymization key) and the other way round. Names: tokens
// ("mk--...") and pseudonym reverse names from the agents' metadata (docs/privacy.md,
// "Domain names"). Crypto-PAn inverts ANY address, so an address that is no pseudonym would
// come back as a meaningless one: `deanon` refuses a result outside the internal prefixes
// (the agents' defaults, or --internal-prefix) unless --any says the agents pseudonymize more
// (policy "all", a host's own public address).
import type { Command } from 'commander';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { loadAnonKey, ANON_KEY_FILE } from '../../shared/keys/owner-keys.js';
import { anonymizeCidrText, anonymizeText, deanonymizeCidrText, deanonymizeText, anonymizeNameText, deanonymizeNameText } from '../../shared/anonymize/pseudonym-text.js';
import { DEFAULT_INTERNAL_PREFIXES } from '../../shared/anonymize/address-anonymizer.js';
import { cidrContains, parseCidr, type Cidr } from '../../shared/net/ip-address.js';
import { refuseRenamedOptions } from '../../shared/cli/renamed-options.js';
import { MeerkatError } from '../../shared/errors.js';
import { ownerKeysDir, settingHelp } from '../settings.js';

interface Opts { ownerKeys?: string; anonKey?: string; json?: boolean; internalSuffix?: string[]; internalPrefix?: string[]; any?: boolean }

/** An address given to deanon whose inverse lies outside every internal prefix. */
export class NotAPseudonymError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_NOT_A_PSEUDONYM';
  constructor(text: string, real: string) {
    super(`${text} is not a pseudonym of this key: it does not map back into an internal prefix (it would be ${real}). `
      + 'If the agents pseudonymize more than the internal prefixes (anonymize.policy "all", a host\'s own public address), add --any; '
      + 'if they declare other internal prefixes, give them with --internal-prefix');
    this.name = 'NotAPseudonymError';
  }
}

function isAddressOrCidr(a: string): boolean {
  const slash = a.indexOf('/');
  return isIP((slash < 0 ? a : a.slice(0, slash)).replace(/^\[(.*)\]$/, '$1')) !== 0;
}

/** True when the (real) address or prefix lies inside one of the prefixes. */
function insideAny(text: string, prefixes: readonly Cidr[]): boolean {
  const c = parseCidr(text);
  return prefixes.some((p) => p.version === c.version && p.prefixLen <= c.prefixLen && cidrContains(p, c.version, c.bytes));
}

function run(values: string[], opts: Opts, inverse: boolean): void {
  const keyFile = opts.anonKey ?? join(ownerKeysDir(opts.ownerKeys), ANON_KEY_FILE);
  const key = { anonKey: loadAnonKey(keyFile) };
  const internal = (opts.internalPrefix?.length ? opts.internalPrefix : DEFAULT_INTERNAL_PREFIXES).map((p) => parseCidr(p));
  let failed = 0;
  for (const given of values) {
    // as printed: a trailing * (pseudonym) and IPv6 brackets are accepted
    const a = given.trim().replace(/\*$/, '').replace(/^\[(.*)\](\/\d+)?$/, '$1$2');
    let out: string;
    let field: 'address' | 'name';
    try {
      if (isAddressOrCidr(a)) {
        field = 'address';
        const isCidr = a.includes('/');
        out = isCidr ? (inverse ? deanonymizeCidrText : anonymizeCidrText)(key, a) : (inverse ? deanonymizeText : anonymizeText)(key, a);
        if (inverse && !opts.any && !insideAny(out, internal)) throw new NotAPseudonymError(given, out);
      } else {
        field = 'name';
        out = inverse ? deanonymizeNameText(key, a) : anonymizeNameText(key, a, opts.internalSuffix);
      }
    } catch (e) {
      if (!(e instanceof MeerkatError) || values.length === 1) throw e;
      failed++;
      if (opts.json) process.stdout.write(JSON.stringify({ [inverse ? 'pseudonym' : 'value']: given, error: e.message, code: e.code }) + '\n');
      else process.stderr.write(`error: ${e.message} [${e.code}]\n`);
      continue;
    }
    if (opts.json) process.stdout.write(JSON.stringify(inverse ? { pseudonym: given, [field]: out } : { [field]: a, pseudonym: out }) + '\n');
    else process.stdout.write(inverse ? `${given} -> ${out}\n` : `${a} -> ${out}${field === 'address' ? '*' : ''}\n`);
  }
  if (failed > 0) process.exitCode = 1;
}

export function registerPseudonymCommands(program: Command): void {
  const common = (c: Command): Command => refuseRenamedOptions(
    c.option('--owner-keys <dir>', `owner key directory (${settingHelp('ownerKeys')})`)
      .option('--anon-key <file>', 'the anonymization key file itself (instead of --owner-keys)')
      .option('--json', 'one JSON object per value (JSON lines)'),
    { '--keys': '--owner-keys', '--key-file': '--anon-key' });
  common(
    program
      .command('deanon')
      .description('turn pseudonymized addresses, prefixes or domain names (mk-- tokens, pseudonym reverse names) back into real ones, with the owner key')
      .argument('<pseudonym...>', 'pseudonym addresses or CIDR prefixes (as printed, with or without *), or names')
      .option('--internal-prefix <cidr...>', `the agents' internal prefixes (anonymize.internalPrefixes; default ${DEFAULT_INTERNAL_PREFIXES.join(', ')})`)
      .option('--any', 'show the inverse even when it lies outside the internal prefixes'),
  ).action((values: string[], opts: Opts) => run(values, opts, true));
  common(
    program
      .command('anon')
      .description('show the pseudonym an address, prefix or internal domain name gets under the owner key')
      .argument('<value...>', 'real addresses, CIDR prefixes or domain names')
      .option('--internal-suffix <suffix...>', "the agents' internal suffixes (anonymize.internalSuffixes), where a name's tokens split"),
  ).action((values: string[], opts: Opts) => run(values, opts, false));
}
