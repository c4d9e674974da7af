// A folder of public keys pinned on this host (operator keys, authorised response keys):
// <keyId>.pub copies, trusted only while neither the folder nor a file in it is writable by
// group/others (a planted key would be remote control). Pinning writes atomically; reading
// reports each bad file as a problem and trusts the rest.
import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadOperatorPublicKey, type OperatorPublicKey } from '../../shared/commands/operator-keys.js';
import { KeyFileError } from '../../shared/keys/key-file-error.js';
import { writeFileAtomic } from '../spool/atomic-file.js';

/** Key ids as file names: 16 hex characters. */
export const KEY_ID_RE = /^[0-9a-f]{16}$/;

/** @param trusting what the folder holds, for the message ("operator keys") @throws KeyFileError */
export function assertNotWritableByOthers(path: string, trusting: string): void {
  if (process.platform === 'win32') return;
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o022) !== 0) {
    throw new KeyFileError(path, `is writable by group/others (mode ${mode.toString(8).padStart(4, '0')}); refusing to trust ${trusting} from it (fix: chmod go-w ${path})`);
  }
}

/** Creates the folder (0755) when missing and checks it may be trusted. @throws KeyFileError */
export function openKeyFolder(dir: string, trusting: string): void {
  if (mkdirSync(dir, { recursive: true, mode: 0o755 }) !== undefined) chmodSync(dir, 0o755);
  assertNotWritableByOthers(dir, trusting);
}

/** Writes one pinned file (0644, atomically). */
export function writePinnedFile(file: string, data: Uint8Array): void {
  writeFileAtomic(file, `${file}.tmp-${process.pid}`, data, 0o644);
  chmodSync(file, 0o644);
}

/**
 * Calls `use` for each <keyId>.pub in the folder whose key id matches its name. Every failure
 * (of the folder, a file, or `use`) is added to `problems`; false when the folder itself is not
 * trusted (nothing was read).
 */
export function forEachPinnedKey(dir: string, trusting: string, problems: string[], use: (key: OperatorPublicKey, file: string) => void): boolean {
  try {
    assertNotWritableByOthers(dir, trusting);
  } catch (e) {
    problems.push((e as Error).message);
    return false;
  }
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.pub')) continue;
    const file = join(dir, name);
    try {
      const k = loadOperatorPublicKey(file);
      if (`${k.keyId}.pub` !== name) throw new KeyFileError(file, `holds key ${k.keyId}, but its name says ${name.slice(0, -4)}`);
      use(k, file);
    } catch (e) {
      problems.push(e instanceof SyntaxError ? `${file}: not JSON (${e.message})` : (e as Error).message);
    }
  }
  return true;
}
