// Where the console finds the owner's key material: --keys DIR, else
// $MEERKAT_OWNER_KEYS, else ~/.meerkat/owner-keys.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function ownerKeysDir(flag?: string): string {
  return flag ?? process.env.MEERKAT_OWNER_KEYS ?? join(homedir(), '.meerkat', 'owner-keys');
}
