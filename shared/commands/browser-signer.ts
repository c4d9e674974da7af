// Signing commands where node:crypto is not available - the web console in the operator's
// browser: the operator's op.key (Ed25519 seed + public key, key-file-format.ts) is read from a
// file the operator picks, kept in memory only, and never sent; tweetnacl signs the same bytes
// as the CLI (signed-text.ts), so the agent verifies a browser-signed command exactly as a
// CLI-signed one. The key id is the same hash as operator-keys.ts, through WebCrypto.
import nacl from 'tweetnacl';
import { decodeKeyFile, OPERATOR_KEY_KINDS } from '../keys/key-file-format.js';
import { KeyFileError } from '../keys/key-file-error.js';
import { signedText } from './signed-text.js';

export interface BrowserSigningKey {
  keyId: string;
  name: string;
  publicKey: Uint8Array;
  /** tweetnacl's 64-byte secret key (seed || public key) */
  secretKey: Uint8Array;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

function b64(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s);
}

function b64url(b: Uint8Array): string {
  return b64(b).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** 16 hex characters: SHA-256("meerkat operator key id v1\0" || public key), first 8 bytes (as operatorKeyId). */
export async function operatorKeyIdAsync(publicKey: Uint8Array): Promise<string> {
  const label = new TextEncoder().encode('meerkat operator key id v1\0');
  const data = new Uint8Array(label.length + publicKey.length);
  data.set(label);
  data.set(publicKey, label.length);
  return hex(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', data))).slice(0, 16);
}

/** Reads op.key text. @throws KeyFileError */
export async function parseOperatorKey(fileName: string, text: string): Promise<BrowserSigningKey> {
  const f = decodeKeyFile(fileName, text, OPERATOR_KEY_KINDS.signSecret);
  const kp = nacl.sign.keyPair.fromSeed(f.seed!);
  if (hex(kp.publicKey) !== hex(f.publicKey!)) throw new KeyFileError(fileName, 'operator signing key: the stored public key does not belong to the seed');
  const name = (JSON.parse(text) as { name?: unknown }).name;
  return { keyId: await operatorKeyIdAsync(kp.publicKey), name: typeof name === 'string' && NAME_RE.test(name) ? name : 'operator', publicKey: kp.publicKey, secretKey: kp.secretKey };
}

export interface BrowserCommand {
  agentId: string;
  kind: string;
  params: Record<string, unknown>;
  lifetimeMs: number;
  nowMs?: number;
}

/** A signed command envelope (the collector checks its shape, the agent its signature). */
export function signCommandInBrowser(key: BrowserSigningKey, c: BrowserCommand): Record<string, unknown> {
  const now = c.nowMs ?? Date.now();
  const env = {
    // COMMAND_VERSION of command-schema.ts (not imported: it would bring zod into the page); the agent checks it
    v: 1, agentId: c.agentId, kind: c.kind, params: c.params, issuedAt: now, expiresAt: now + c.lifetimeMs,
    nonce: b64url(nacl.randomBytes(16)), operator: key.name, keyId: key.keyId,
  };
  const sig = nacl.sign.detached(new TextEncoder().encode(signedText(env)), key.secretKey);
  return { ...env, sig: b64(sig) };
}
