// The network owner's key material on disk: creating it (`meerkat keys init`), loading it
// (console), and loading the two parts an agent receives (anonymization key, box public key).
//
// Files in the owner key directory (created 0700):
//   anon.key  0600  32-byte anonymization key (Crypto-PAn key; MAC key and key id derive from it)
//   box.key   0600  NaCl box key pair (secret + public), opens sealed inventory
//   box.pub   0644  NaCl box public key, given to agents to seal inventory to the owner
// Permissions are checked as for every key file (shared/keys/key-file-io.ts): anon.key turns
// every pseudonym back into a real address, and a swapped box.pub would make agents seal
// inventory to someone else.
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { anonKeyId } from '../anonymize/key-derivation.js';
import { KEY_FILE_KINDS, encodeKeyFile } from './key-file-format.js';
import { KeyFileError } from './key-file-error.js';
import { readKeyFile, writeKeyFile } from './key-file-io.js';

export const ANON_KEY_FILE = 'anon.key';
const BOX_SECRET_FILE = 'box.key';
export const BOX_PUBLIC_FILE = 'box.pub';

export interface OwnerKeys {
  /** 32 bytes: Crypto-PAn key (16 AES + 16 pad seed) */
  anonKey: Uint8Array;
  /** NaCl box (X25519) key pair: agents seal inventory to the public key */
  boxPublicKey: Uint8Array;
  boxSecretKey: Uint8Array;
}

export interface InitOwnerKeysResult {
  /** the files written */
  files: string[];
  /** key id of the new anonymization key */
  keyId: string;
  /** with force: where the previous files were moved (never deleted: old data needs them) */
  replaced: string[];
}

/** Reads an anonymization key file (what an agent and the console use). */
export function loadAnonKey(file: string): Uint8Array {
  return readKeyFile(file, KEY_FILE_KINDS.anonKey).fields.key!;
}

/** Reads a box public key file (what an agent gets to seal inventory). */
export function loadBoxPublicKey(file: string): Uint8Array {
  return readKeyFile(file, KEY_FILE_KINDS.boxPublic).fields.publicKey!;
}

function loadBoxSecret(file: string): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const f = readKeyFile(file, KEY_FILE_KINDS.boxSecret).fields;
  const secretKey = f.secretKey!;
  const publicKey = f.publicKey!;
  const derived = nacl.box.keyPair.fromSecretKey(secretKey).publicKey;
  if (!Buffer.from(derived).equals(Buffer.from(publicKey))) {
    throw new KeyFileError(file, 'owner box secret key: its public key does not belong to its secret key (damaged file)');
  }
  return { secretKey, publicKey };
}

/** Loads all owner keys from `dir`; box.pub, when present, must match box.key. */
export function loadOwnerKeys(dir: string): OwnerKeys {
  const anonKey = loadAnonKey(join(dir, ANON_KEY_FILE));
  const box = loadBoxSecret(join(dir, BOX_SECRET_FILE));
  const pubFile = join(dir, BOX_PUBLIC_FILE);
  if (existsSync(pubFile)) {
    const pub = loadBoxPublicKey(pubFile);
    if (!Buffer.from(pub).equals(Buffer.from(box.publicKey))) {
      throw new KeyFileError(pubFile, `does not match ${BOX_SECRET_FILE} (a box public key from another owner key set?)`);
    }
  }
  return { anonKey, boxPublicKey: box.publicKey, boxSecretKey: box.secretKey };
}

/**
 * Creates a fresh owner key set in `dir` (made 0700 if it does not exist).
 * Refuses when any key file is already there unless `force`; with force the old files are
 * renamed to FILE.replaced-TIME, never deleted (data anonymized with the old key needs it).
 */
export function initOwnerKeys(dir: string, opts: { force?: boolean } = {}): InitOwnerKeysResult {
  const names = [ANON_KEY_FILE, BOX_SECRET_FILE, BOX_PUBLIC_FILE];
  const paths = names.map((n) => join(dir, n));
  const existing = paths.filter((p) => existsSync(p));
  if (existing.length > 0 && !opts.force) {
    throw new KeyFileError(dir, `already holds owner keys (${existing.map((p) => p.slice(dir.length + 1)).join(', ')}); refusing to overwrite them, since data anonymized with the old key could no longer be read back. Use force to replace them (the old files are kept as *.replaced-TIME)`);
  }
  if (mkdirSync(dir, { recursive: true, mode: 0o700 }) !== undefined) chmodSync(dir, 0o700);

  const anonKey = Uint8Array.from(randomBytes(32));
  const kp = nacl.box.keyPair();
  const keyId = anonKeyId(anonKey);
  const created = new Date().toISOString();
  const texts = [
    encodeKeyFile(KEY_FILE_KINDS.anonKey, { key: anonKey }, { keyId, created }),
    encodeKeyFile(KEY_FILE_KINDS.boxSecret, { secretKey: kp.secretKey, publicKey: kp.publicKey }, { created }),
    encodeKeyFile(KEY_FILE_KINDS.boxPublic, { publicKey: kp.publicKey }, { created }),
  ];
  const modes = [0o600, 0o600, 0o644];
  const replaced: string[] = [];
  for (let i = 0; i < paths.length; i++) {
    const bak = writeKeyFile(paths[i]!, texts[i]!, modes[i]!, opts.force === true);
    if (bak) replaced.push(bak);
  }
  return { files: paths, keyId, replaced };
}
