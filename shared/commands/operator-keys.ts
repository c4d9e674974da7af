// Operator signing keys (Ed25519, node:crypto): the key that signs commands that change a host.
// It belongs to the operator (the manager console), not to the network owner, so it has files of
// its own beside the owner keys' format (shared/keys/key-file-format.ts):
//   op.key  0600  {"type":"meerkat-operator-sign-key",...,"seed":<32 B>,"publicKey":<32 B>}
//   op.pub  0644  {"type":"meerkat-operator-sign-pub",...,"publicKey":<32 B>}
// Agents pin op.pub files at install time (agent/control/pinned-keys.ts); the collector never
// holds or distributes them, so a compromised collector cannot make a key an agent trusts.
// Read and written with the same checks as every key file (shared/keys/key-file-io.ts).
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { encodeKeyFile, type KeyFileKind } from '../keys/key-file-format.js';
import { KeyFileError } from '../keys/key-file-error.js';
import { readKeyFile, writeKeyFile } from '../keys/key-file-io.js';

export const OPERATOR_KEY_FILE = 'op.key';
export const OPERATOR_PUB_FILE = 'op.pub';

export { OPERATOR_KEY_KINDS } from '../keys/key-file-format.js';
import { OPERATOR_KEY_KINDS } from '../keys/key-file-format.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export interface OperatorSigningKey {
  keyId: string;
  /** operator name recorded in the key file (shown in audits; the key id decides trust) */
  name: string;
  privateKey: KeyObject;
  publicKey: Uint8Array;
}

export interface OperatorPublicKey {
  keyId: string;
  name: string;
  publicKey: Uint8Array;
  key: KeyObject;
}

/** 16 hex characters: SHA-256("meerkat operator key id v1\0" || raw public key), first 8 bytes. */
export function operatorKeyId(publicKey: Uint8Array): string {
  return createHash('sha256').update('meerkat operator key id v1\0').update(publicKey).digest('hex').slice(0, 16);
}

export function isOperatorName(s: string): boolean {
  return NAME_RE.test(s);
}

function b64url(b: Uint8Array): string {
  return Buffer.from(b).toString('base64url');
}

export function ed25519PublicKeyObject(publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(publicKey) }, format: 'jwk' });
}

function ed25519PrivateKeyObject(seed: Uint8Array, publicKey: Uint8Array): KeyObject {
  return createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64url(seed), x: b64url(publicKey) }, format: 'jwk' });
}

function readKind(file: string, kind: KeyFileKind): { fields: Record<string, Uint8Array>; name: string } {
  const { fields, text } = readKeyFile(file, kind);
  const name = (JSON.parse(text) as { name?: unknown }).name;
  return { fields, name: typeof name === 'string' && isOperatorName(name) ? name : 'operator' };
}

/** Reads op.key (the console signs with it). @throws KeyFileError */
export function loadOperatorSigningKey(file: string): OperatorSigningKey {
  const { fields, name } = readKind(file, OPERATOR_KEY_KINDS.signSecret);
  const seed = fields.seed!;
  const publicKey = fields.publicKey!;
  let privateKey: KeyObject;
  try {
    privateKey = ed25519PrivateKeyObject(seed, publicKey);
  } catch (e) {
    throw new KeyFileError(file, `operator signing key: not a valid Ed25519 key (${(e as Error).message})`);
  }
  // the stored public half must belong to the seed, or signatures would name the wrong key id
  const derived = (createPublicKey(privateKey).export({ format: 'jwk' }) as { x?: string }).x;
  if (derived !== b64url(publicKey)) throw new KeyFileError(file, 'operator signing key: its public key does not belong to its secret key (damaged file)');
  return { keyId: operatorKeyId(publicKey), name, privateKey, publicKey };
}

/** Reads an op.pub (what agents pin). @throws KeyFileError */
export function loadOperatorPublicKey(file: string): OperatorPublicKey {
  const { fields, name } = readKind(file, OPERATOR_KEY_KINDS.signPublic);
  const publicKey = fields.publicKey!;
  let key: KeyObject;
  try {
    key = ed25519PublicKeyObject(publicKey);
  } catch (e) {
    throw new KeyFileError(file, `operator public key: not a valid Ed25519 key (${(e as Error).message})`);
  }
  return { keyId: operatorKeyId(publicKey), name, publicKey, key };
}

export interface InitOperatorKeysResult {
  keyId: string;
  files: string[];
  replaced: string[];
}

/**
 * Creates op.key (0600) and op.pub (0644) in `dir` (made 0700 when new). Refuses to replace
 * existing files unless `force` (the old ones are renamed, never deleted: agents pinning the old
 * public key would otherwise be locked out without a trace).
 */
export function initOperatorKeys(dir: string, opts: { name: string; force?: boolean }): InitOperatorKeysResult {
  if (!isOperatorName(opts.name)) throw new KeyFileError(dir, `operator name ${JSON.stringify(opts.name)} must be 1-64 characters of letters, digits, . _ @ -`);
  const keyPath = join(dir, OPERATOR_KEY_FILE);
  const pubPath = join(dir, OPERATOR_PUB_FILE);
  const force = opts.force === true;
  if (!force) {
    for (const p of [keyPath, pubPath]) if (existsSync(p)) throw new KeyFileError(p, 'already exists; refusing to overwrite an operator key (agents pin it); use --force to replace it');
  }
  if (mkdirSync(dir, { recursive: true, mode: 0o700 }) !== undefined) chmodSync(dir, 0o700);
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' }) as { d: string; x: string };
  const seed = Buffer.from(jwk.d, 'base64url');
  const pub = Buffer.from(jwk.x, 'base64url');
  const keyId = operatorKeyId(pub);
  const extra = { keyId, name: opts.name, created: new Date().toISOString() };
  const replaced: string[] = [];
  const r1 = writeKeyFile(keyPath, encodeKeyFile(OPERATOR_KEY_KINDS.signSecret, { seed, publicKey: pub }, extra), 0o600, force);
  const r2 = writeKeyFile(pubPath, encodeKeyFile(OPERATOR_KEY_KINDS.signPublic, { publicKey: pub }, extra), 0o644, force);
  for (const r of [r1, r2]) if (r) replaced.push(r);
  return { keyId, files: [keyPath, pubPath], replaced };
}
