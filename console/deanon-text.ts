// Console output for the owner: every pseudonym the agents report ("10.77.3.9*",
// "10.77.0.0/16*", as the collector's data shows them) followed by the real address, when the
// owner's anonymization key is at hand (`--deanon`). The collector never sees the result.
import type { Command } from 'commander';
import { join } from 'node:path';
import { ANON_KEY_FILE, loadAnonKey } from '../shared/keys/owner-keys.js';
import { deanonymizeCidrText, deanonymizeText } from '../shared/anonymize/pseudonym-text.js';
import { refuseRenamedOptions } from '../shared/cli/renamed-options.js';
import { ownerKeysDir, settingHelp } from './settings.js';

const STARRED = /(?<![\w.:])((?:\d{1,3}\.){3}\d{1,3}(?:\/\d{1,2})?|[0-9a-fA-F:]*:[0-9a-fA-F:.]+(?:\/\d{1,3})?)\*/g;

/** Replaces "X*" with "X* (= real)" wherever X is a parseable address or CIDR. */
export function deanonymizeStarred(text: string, anonKey: Uint8Array): string {
  const keys = { anonKey };
  return text.replace(STARRED, (whole, addr: string) => {
    try {
      const real = addr.includes('/') ? deanonymizeCidrText(keys, addr) : deanonymizeText(keys, addr);
      return `${whole} (= ${real})`;
    } catch {
      return whole;
    }
  });
}

/** A text filter for --deanon (identity without it). */
export function deanonFilter(enabled: boolean | undefined, keysDir: string | undefined): (text: string) => string {
  if (!enabled) return (t) => t;
  const key = loadAnonKey(join(ownerKeysDir(keysDir), ANON_KEY_FILE));
  return (t) => deanonymizeStarred(t, key);
}

/** --owner-keys DIR (the old --keys refused with its new name). */
export function ownerKeysOption(c: Command, what = 'for --deanon'): Command {
  c.option('--owner-keys <dir>', `owner key directory ${what} (${settingHelp('ownerKeys')})`);
  return refuseRenamedOptions(c, { '--keys': '--owner-keys' });
}

/** --deanon and --owner-keys, as every command that shows pseudonyms takes them. */
export function deanonOptions(c: Command): Command {
  c.option('--deanon', "show the real address behind each pseudonym (needs the owner's anon.key; stays on this machine)");
  return ownerKeysOption(c);
}
