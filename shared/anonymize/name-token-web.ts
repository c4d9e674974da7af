// Name tokens (name-token.ts) turned back into names with WebCrypto, for the web console: the
// owner's anon.key, loaded in the page, gives the tokens' HMAC-SHA256 and AES-128-CTR keys
// (key-derivation.ts deriveNameKeys, computed here as non-extractable WebCrypto keys), and a
// token opens only when its synthetic IV checks, as on the CLI.
import { nameTokens, unbase32, NAME_ENC_DOMAIN, NAME_MAC_DOMAIN, NAME_TOKEN_PREFIX, NAME_TOKEN_SIV_BYTES } from './name-token-format.js';

/** A WebCrypto key as this module holds it (the node and DOM typings name the type apart). */
type SubtleKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

export interface WebNameKeys {
  mac: SubtleKey;
  enc: SubtleKey;
}

const utf8 = new TextEncoder();

async function hmacKey(raw: Uint8Array): Promise<SubtleKey> {
  return crypto.subtle.importKey('raw', Uint8Array.from(raw), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
}

/** The name token keys of an anonymization key (the bytes are not kept). */
export async function webNameKeys(anonKey: Uint8Array): Promise<WebNameKeys> {
  const master = await hmacKey(anonKey);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', master, utf8.encode(NAME_MAC_DOMAIN)));
  const enc = new Uint8Array(await crypto.subtle.sign('HMAC', master, utf8.encode(NAME_ENC_DOMAIN))).subarray(0, 16);
  const keys = { mac: await hmacKey(mac), enc: await crypto.subtle.importKey('raw', enc, { name: 'AES-CTR' }, false, ['decrypt']) };
  mac.fill(0);
  enc.fill(0);
  return keys;
}

/** The part a token stands for, or null when the token was not made with these keys (or is not a token). */
export async function openNamePartWeb(keys: WebNameKeys, role: 'h' | 't', context: string, token: string): Promise<string | null> {
  if (!token.startsWith(NAME_TOKEN_PREFIX)) return null;
  const body = unbase32(token.slice(NAME_TOKEN_PREFIX.length));
  if (body === null || body.length < NAME_TOKEN_SIV_BYTES) return null;
  const siv = body.subarray(0, NAME_TOKEN_SIV_BYTES);
  const counter = new Uint8Array(16);
  counter.set(siv);
  // the low 64 bits count blocks (they start at 0, as Node's aes-128-ctr runs them)
  const part = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-CTR', counter, length: 64 }, keys.enc, body.slice(NAME_TOKEN_SIV_BYTES)));
  const head = utf8.encode(`${role}${context}\0`);
  const signed = new Uint8Array(head.length + part.length);
  signed.set(head);
  signed.set(part, head.length);
  const check = new Uint8Array(await crypto.subtle.sign('HMAC', keys.mac, signed)).subarray(0, NAME_TOKEN_SIV_BYTES);
  if (!check.every((b, i) => b === siv[i])) return null;
  return new TextDecoder().decode(part);
}

/** The name behind "<head token>.<tail token>" or "<tail token>", or null. */
export async function openNameWeb(keys: WebNameKeys, text: string): Promise<string | null> {
  const t = nameTokens(text);
  if (t === null) return null;
  const tail = await openNamePartWeb(keys, 't', '', t.tail);
  if (tail === null || t.head === null) return tail;
  const head = await openNamePartWeb(keys, 'h', tail, t.head);
  return head === null ? null : `${head}.${tail}`;
}
