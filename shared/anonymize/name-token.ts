// Keyed, deterministic, invertible pseudonyms for parts of domain names (name tokens):
//   token = "mk--" + base32(siv || AES-128-CTR(enc, siv || 0^8, part))
//   siv   = HMAC-SHA256(mac, role || context || 0x00 || part)[0..8]
// a synthetic-IV construction (as AES-SIV, RFC 5297, with HMAC for the MAC): the same part
// always gives the same token (the collector can count and link names), only the holder of
// the anonymization key can turn a token back, and opening checks the siv, so a token not
// made with this key is refused. `context` binds a head to its tail (the same host label
// under two domains gives two tokens). Keys: key-derivation.ts deriveNameKeys.
// The "mk--" prefix is a reserved-LDH label form (RFC 5890: "--" in positions 3-4, only
// "xn--" is in use), so a token cannot be mistaken for a label of a real public name.
// The web console opens tokens with WebCrypto (name-token-web.ts).
import { createCipheriv, createHmac } from 'node:crypto';
import { deriveNameKeys } from './key-derivation.js';
import { base32, unbase32, NAME_TOKEN_PREFIX, NAME_TOKEN_SIV_BYTES } from './name-token-format.js';

export { base32, unbase32, NAME_TOKEN_PREFIX } from './name-token-format.js';

const SIV_BYTES = NAME_TOKEN_SIV_BYTES;

export interface NameKeys {
  mac: Uint8Array;
  enc: Uint8Array;
}

export function nameKeys(anonKey: Uint8Array): NameKeys {
  return deriveNameKeys(anonKey);
}

function siv(keys: NameKeys, role: string, context: string, part: Buffer): Buffer {
  return createHmac('sha256', keys.mac).update(role).update(context, 'utf8').update('\0').update(part).digest().subarray(0, SIV_BYTES);
}

function ctr(keys: NameKeys, iv8: Uint8Array, data: Uint8Array): Buffer {
  const iv = Buffer.alloc(16);
  iv.set(iv8, 0);
  const c = createCipheriv('aes-128-ctr', keys.enc, iv);
  return Buffer.concat([c.update(data), c.final()]);
}

/** The token of one name part ('h' head or 't' tail role) under `context` (the tail for a head, '' for a tail). */
export function sealNamePart(keys: NameKeys, role: 'h' | 't', context: string, part: string): string {
  const p = Buffer.from(part, 'utf8');
  const s = siv(keys, role, context, p);
  const body = Buffer.concat([s, ctr(keys, s, p)]);
  return NAME_TOKEN_PREFIX + base32(body);
}

/** The part a token stands for, or null when the token was not made with these keys (or is not a token). */
export function openNamePart(keys: NameKeys, role: 'h' | 't', context: string, token: string): string | null {
  if (!token.startsWith(NAME_TOKEN_PREFIX)) return null;
  const body = unbase32(token.slice(NAME_TOKEN_PREFIX.length));
  if (body === null || body.length < SIV_BYTES) return null;
  const s = body.subarray(0, SIV_BYTES);
  const p = ctr(keys, s, body.subarray(SIV_BYTES));
  const check = siv(keys, role, context, p);
  if (!check.equals(Buffer.from(s))) return null;
  return p.toString('utf8');
}
