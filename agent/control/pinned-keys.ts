// The operator public keys this agent trusts, pinned on the host at install/enrollment time:
// <stateDir>/operator-keys/<keyId>.pub (copies of op.pub files). Only someone with write access
// to the state dir (root / the service account on this host) can add one; nothing that arrives
// over the network can, so a compromised collector cannot make the agent accept its commands.
// The folder and files must not be writable by group/others (a planted key = remote control).
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, chmodSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { loadOperatorPublicKey, type OperatorPublicKey } from '../../shared/commands/operator-keys.js';
import { KeyFileError } from '../../shared/keys/key-file-error.js';
import { writeFileAtomic } from '../spool/atomic-file.js';

export const PINNED_KEYS_DIR = 'operator-keys';

export function pinnedKeysDir(stateDir: string): string {
  return join(stateDir, PINNED_KEYS_DIR);
}

export interface PinnedKey {
  keyId: string;
  name: string;
  file: string;
}

export interface PinnedKeySet {
  keys: Map<string, KeyObject>;
  pinned: PinnedKey[];
  /** files that were skipped, with why (logged by the caller) */
  problems: string[];
}

function checkNotWritableByOthers(path: string, what: string): void {
  if (process.platform === 'win32') return;
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o022) !== 0) {
    throw new KeyFileError(path, `${what} is writable by group/others (mode ${mode.toString(8).padStart(4, '0')}); refusing to trust operator keys from it (fix: chmod go-w ${path})`);
  }
}

/** Copies op.pub files into the pinned set (validated first). Returns what is pinned. @throws KeyFileError */
export function pinOperatorKeys(stateDir: string, files: readonly string[]): PinnedKey[] {
  const dir = pinnedKeysDir(stateDir);
  const loaded: { key: OperatorPublicKey; text: string }[] = files.map((f) => ({ key: loadOperatorPublicKey(f), text: readFileSync(f, 'utf8') }));
  if (mkdirSync(dir, { recursive: true, mode: 0o755 }) !== undefined) chmodSync(dir, 0o755);
  checkNotWritableByOthers(dir, 'the pinned operator key folder');
  return loaded.map(({ key, text }) => {
    const file = join(dir, `${key.keyId}.pub`);
    writeFileAtomic(file, `${file}.tmp-${process.pid}`, Buffer.from(text, 'utf8'), 0o644);
    chmodSync(file, 0o644);
    return { keyId: key.keyId, name: key.name, file };
  });
}

/** Removes a pinned key (local administration only). */
export function unpinOperatorKey(stateDir: string, keyId: string): boolean {
  const file = join(pinnedKeysDir(stateDir), `${keyId}.pub`);
  if (!/^[0-9a-f]{16}$/.test(keyId) || !existsSync(file)) return false;
  unlinkSync(file);
  return true;
}

/**
 * Reads the pinned set. A missing folder means no key is trusted (every command is refused);
 * a folder writable by others trusts nothing (a problem is reported, no key returned).
 */
export function loadPinnedOperatorKeys(stateDir: string): PinnedKeySet {
  const dir = pinnedKeysDir(stateDir);
  const out: PinnedKeySet = { keys: new Map(), pinned: [], problems: [] };
  if (!existsSync(dir)) return out;
  try {
    checkNotWritableByOthers(dir, 'the pinned operator key folder');
  } catch (e) {
    out.problems.push((e as Error).message);
    return out;
  }
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.pub')) continue;
    const file = join(dir, name);
    try {
      const k = loadOperatorPublicKey(file);
      if (`${k.keyId}.pub` !== name) throw new KeyFileError(file, `holds key ${k.keyId}, but its name says ${name.slice(0, -4)}`);
      out.keys.set(k.keyId, k.key);
      out.pinned.push({ keyId: k.keyId, name: k.name, file });
    } catch (e) {
      out.problems.push((e as Error).message);
    }
  }
  return out;
}
