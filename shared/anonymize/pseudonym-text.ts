// Address and name text <-> pseudonym text for the owner's console (not on the packet path):
// the same mappings the agent applies (Crypto-PAn, IPv4-mapped IPv6 through its IPv4 part;
// name tokens and pseudonym reverse names, name-pseudonymizer.ts), without the policy.
// Whether an address in the data IS a pseudonym is told by the record's SrcAnon/DstAnon
// flags (a name's by its pseudonym mark); deanonymizing a clear address yields a meaningless
// address.
import { isIP } from 'node:net';
import { formatCidr, formatIp, parseCidr, parseIp, type Cidr } from '../net/ip-address.js';
import { CryptoPan } from './cryptopan.js';
import { nameKeys, NAME_TOKEN_PREFIX } from './name-token.js';
import { DEFAULT_INTERNAL_SUFFIXES, formatReverseName, normalizeSuffix, openName, parseReverseName, sealName } from './name-pseudonymizer.js';
import { MeerkatError } from '../errors.js';

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** Rewrites an address in place (16 bytes, IPv4 in bytes 0..3): to its pseudonym, or back with `inverse`. */
export function rewriteAddress(pan: CryptoPan, version: 4 | 6, b: Uint8Array, inverse: boolean): void {
  const off = version === 4 ? 0 : isV4Mapped(b) ? 12 : -1;
  if (off >= 0) {
    const a = ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
    const r = inverse ? pan.deanonymizeV4(a) : pan.anonymizeV4(a);
    b[off] = r >>> 24;
    b[off + 1] = (r >>> 16) & 0xff;
    b[off + 2] = (r >>> 8) & 0xff;
    b[off + 3] = r & 0xff;
  } else if (inverse) {
    pan.deanonymizeV6(b, 0, b, 0);
  } else {
    pan.anonymizeV6(b, 0, b, 0);
  }
}

/** "10.1.2.3" -> its pseudonym under the key. Throws AddressParseError on bad text. */
export function anonymizeText(keys: { anonKey: Uint8Array }, address: string): string {
  const a = parseIp(address);
  rewriteAddress(new CryptoPan(keys.anonKey), a.version, a.bytes, false);
  return formatIp(a.version, a.bytes);
}

/** Pseudonym text -> the real address. Throws AddressParseError on bad text. */
export function deanonymizeText(keys: { anonKey: Uint8Array }, address: string): string {
  const a = parseIp(address);
  rewriteAddress(new CryptoPan(keys.anonKey), a.version, a.bytes, true);
  return formatIp(a.version, a.bytes);
}

function mapCidr(keys: { anonKey: Uint8Array }, text: string, inverse: boolean): string {
  const c: Cidr = parseCidr(text);
  // output bit i depends only on input bits 0..i, so a prefix maps to a prefix
  rewriteAddress(new CryptoPan(keys.anonKey), c.version, c.bytes, inverse);
  return formatCidr(parseCidr(`${formatIp(c.version, c.bytes)}/${c.prefixLen}`));
}

/** "10.1.0.0/16" -> the pseudonym prefix that all its addresses map into. */
export function anonymizeCidrText(keys: { anonKey: Uint8Array }, cidr: string): string {
  return mapCidr(keys, cidr, false);
}

/** Pseudonym prefix -> the real prefix. */
export function deanonymizeCidrText(keys: { anonKey: Uint8Array }, cidr: string): string {
  return mapCidr(keys, cidr, true);
}

export class NamePseudonymError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_NAME_PSEUDONYM';
  constructor(text: string, why: string) {
    super(`cannot turn ${JSON.stringify(text)} back into a name: ${why}`);
    this.name = 'NamePseudonymError';
  }
}

/** Whether text is a name pseudonym (tokens) or a reverse name, i.e. something deanonymizeNameText reads. */
export function looksLikeNamePseudonym(text: string): boolean {
  return text.includes(NAME_TOKEN_PREFIX) || parseReverseName(text.toLowerCase()) !== null;
}

/**
 * A pseudonymized name -> the real name: tokens are opened (refused when not made with this
 * key), a reverse name is inverted through Crypto-PAn, an address literal like an address.
 * Throws NamePseudonymError.
 */
export function deanonymizeNameText(keys: { anonKey: Uint8Array }, text: string): string {
  const t = text.trim().toLowerCase().replace(/\.$/, '');
  if (isIP(t)) return deanonymizeText(keys, t);
  const r = parseReverseName(t);
  if (r !== null) {
    rewriteAddress(new CryptoPan(keys.anonKey), r.version, r.bytes, true);
    return formatReverseName(r);
  }
  if (!t.includes(NAME_TOKEN_PREFIX)) throw new NamePseudonymError(text, `not a name pseudonym (no ${NAME_TOKEN_PREFIX} token, not a reverse name)`);
  const name = openName(nameKeys(keys.anonKey), t);
  if (name === null) throw new NamePseudonymError(text, 'its tokens were not made with this anonymization key (or are damaged)');
  return name;
}

/**
 * The pseudonym the agent gives a name it pseudonymizes (to look a known name up in the
 * data): tokens split at the matched suffix (the agent's defaults plus the declared `suffixes`).
 * Reverse names and address literals map through Crypto-PAn (the agent does so for the
 * addresses its address policy rewrites; under name policy 'all' it seals a literal of an
 * address left clear, such as '::' or a public address, as tokens instead).
 */
export function anonymizeNameText(keys: { anonKey: Uint8Array }, name: string, suffixes: readonly string[] = []): string {
  const t = name.trim().toLowerCase().replace(/\.$/, '');
  if (isIP(t)) return anonymizeText(keys, t);
  const r = parseReverseName(t);
  if (r !== null) {
    rewriteAddress(new CryptoPan(keys.anonKey), r.version, r.bytes, false);
    return formatReverseName(r);
  }
  return sealName(nameKeys(keys.anonKey), t, [...new Set([...DEFAULT_INTERNAL_SUFFIXES, ...suffixes].map(normalizeSuffix))]);
}
