// The text form of name tokens and the labels their keys are derived under, without Node's
// APIs, shared by the agent's sealing (name-token.ts, key-derivation.ts) and the web console's
// opening (name-token-web.ts).
export const NAME_TOKEN_PREFIX = 'mk--';
/** Bytes of the synthetic IV at the head of a token's body. */
export const NAME_TOKEN_SIV_BYTES = 8;
/** HMAC-SHA256(anonKey, label): the name tokens' MAC key, and (first 16 bytes) their AES-128 key. */
export const NAME_MAC_DOMAIN = 'meerkat name pseudonym mac key v1';
export const NAME_ENC_DOMAIN = 'meerkat name pseudonym enc key v1';
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

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

/** The tokens of "<head token>.<tail token>" or "<tail token>", or null when the text is not such a name. */
export function nameTokens(text: string): { head: string | null; tail: string } | null {
  const parts = text.split('.');
  if (parts.length > 2 || !parts.every((p) => p.startsWith(NAME_TOKEN_PREFIX))) return null;
  return { head: parts.length === 2 ? parts[0]! : null, tail: parts[parts.length - 1]! };
}
