// The owner's keys on an endpoint: anon.key (0600; every address the agent pseudonymizes) and
// box.pub (0644; the inventory's sensitive half is sealed to it), installed into the state
// directory from files the owner handed over (`meerkat-agent enroll --anon-key --box-pub`), as
// the packages install them. Checked before anything is written, so a wrong file fails before
// the enrollment token is spent. The agent never fetches them over the network.
import { copyFileSync, chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BOX_PUBLIC_FILE, loadAnonKey, loadBoxPublicKey } from '../shared/keys/owner-keys.js';

export interface OwnerKeyFiles {
  anonKey?: string;
  boxPub?: string;
}

/** Reads and checks the given files (KeyFileError naming the file when one is not what it should be). */
export function checkOwnerKeyFiles(f: OwnerKeyFiles): void {
  if (f.anonKey !== undefined) loadAnonKey(f.anonKey);
  if (f.boxPub !== undefined) loadBoxPublicKey(f.boxPub);
}

/** Copies the given files into the state directory (anon.key to `anonKeyPath`), with their modes. Returns what was written. */
export function installOwnerKeys(stateDir: string, anonKeyPath: string, f: OwnerKeyFiles): string[] {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const written: string[] = [];
  const put = (from: string, to: string, mode: number): void => {
    copyFileSync(from, to);
    chmodSync(to, mode);
    written.push(to);
  };
  if (f.anonKey !== undefined) put(f.anonKey, anonKeyPath, 0o600);
  if (f.boxPub !== undefined) put(f.boxPub, join(stateDir, BOX_PUBLIC_FILE), 0o644);
  return written;
}

