// What is derived from the owner's 32-byte anonymization key besides the Crypto-PAn
// bijection itself: the public key id, the MAC pseudonym key and the name pseudonym keys. Each derivation is
// domain-separated so no derived value can be mistaken for (or reveal) another.
import { createHash, createHmac } from 'node:crypto';
import { NAME_ENC_DOMAIN, NAME_MAC_DOMAIN } from './name-token-format.js';

const KEY_ID_DOMAIN = 'meerkat anonymization key id v1\0';
const MAC_KEY_DOMAIN = 'meerkat mac pseudonym key v1';

/**
 * 16 hex chars: the first 8 bytes of SHA-256("meerkat anonymization key id v1\0" || key).
 * Written into dump headers so data made with different keys is never mixed up; it names
 * the key without helping anyone guess it (one-way, and the key is 256 random bits).
 */
export function anonKeyId(key: Uint8Array): string {
  return createHash('sha256').update(KEY_ID_DOMAIN).update(key).digest().subarray(0, 8).toString('hex');
}

/** HMAC key for MAC pseudonyms: HMAC-SHA256(anonKey, domain). */
export function deriveMacKey(anonKey: Uint8Array): Uint8Array {
  return Uint8Array.from(createHmac('sha256', anonKey).update(MAC_KEY_DOMAIN).digest());
}


/** Keys for name pseudonyms (name-token.ts): an HMAC key and an AES-128 key, both from the anonymization key. */
export function deriveNameKeys(anonKey: Uint8Array): { mac: Uint8Array; enc: Uint8Array } {
  return {
    mac: Uint8Array.from(createHmac('sha256', anonKey).update(NAME_MAC_DOMAIN).digest()),
    enc: Uint8Array.from(createHmac('sha256', anonKey).update(NAME_ENC_DOMAIN).digest().subarray(0, 16)),
  };
}
