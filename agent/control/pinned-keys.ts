// The operator public keys this agent trusts, pinned on the host at install/enrollment time:
// <stateDir>/operator-keys/<keyId>.pub (copies of op.pub files). Only someone with write access
// to the state dir (root / the service account on this host) can add one; nothing that arrives
// over the network can, so a compromised collector cannot make the agent accept its commands.
// The folder and files must not be writable by group/others (a planted key = remote control).
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { loadOperatorPublicKey, type OperatorPublicKey } from '../../shared/commands/operator-keys.js';
import { forEachPinnedKey, KEY_ID_RE, openKeyFolder, writePinnedFile } from './key-folder.js';

const PINNED_KEYS_DIR = 'operator-keys';

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

const TRUSTING = 'operator keys';

/** Copies op.pub files into the pinned set (validated first). Returns what is pinned. @throws KeyFileError */
export function pinOperatorKeys(stateDir: string, files: readonly string[]): PinnedKey[] {
  const dir = pinnedKeysDir(stateDir);
  const loaded: { key: OperatorPublicKey; text: string }[] = files.map((f) => ({ key: loadOperatorPublicKey(f), text: readFileSync(f, 'utf8') }));
  openKeyFolder(dir, TRUSTING);
  return loaded.map(({ key, text }) => {
    const file = join(dir, `${key.keyId}.pub`);
    writePinnedFile(file, Buffer.from(text, 'utf8'));
    return { keyId: key.keyId, name: key.name, file };
  });
}

/** Removes a pinned key (local administration only). */
export function unpinOperatorKey(stateDir: string, keyId: string): boolean {
  const file = join(pinnedKeysDir(stateDir), `${keyId}.pub`);
  if (!KEY_ID_RE.test(keyId) || !existsSync(file)) return false;
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
  forEachPinnedKey(dir, TRUSTING, out.problems, (k, file) => {
    out.keys.set(k.keyId, k.key);
    out.pinned.push({ keyId: k.keyId, name: k.name, file });
  });
  return out;
}
