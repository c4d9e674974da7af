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
import { createCipheriv, createHmac } from 'node:crypto';
import { deriveNameKeys } from './key-derivation.js';

export const NAME_TOKEN_PREFIX = 'mk--';
const SIV_BYTES = 8;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

export interface NameKeys {
  mac: Uint8Array;
  enc: Uint8Array;
}

export function nameKeys(anonKey: Uint8Array): NameKeys {
  return deriveNameKeys(anonKey);
}

/** RFC 4648 base32, lower case, no padding. */
export function base32(b: Uint8Array): string {
  let s = '';
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < b.length; i++) {
    acc = (acc << 8) | b[i]!;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      s += ALPHABET[(acc >>> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) s += ALPHABET[(acc << (5 - bits)) & 31];
  return s;
}

/** Inverse of base32; null for text that is not canonical base32. */
export function unbase32(s: string): Uint8Array | null {
  const out = new Uint8Array(Math.floor((s.length * 5) / 8));
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const v = ALPHABET.indexOf(s[i]!);
    if (v < 0) return null;
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >>> bits) & 0xff;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits >= 5 || acc !== 0) return null; // leftover bits must be zero padding
  return out;
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
