// Address text <-> pseudonym text for the owner's console (not on the packet path): the same
// mapping the agent applies (Crypto-PAn; IPv4-mapped IPv6 through its IPv4 part), without the
// policy. Whether an address in the data IS a pseudonym is told by the record's
// SrcAnon/DstAnon flags; deanonymizing a clear address yields a meaningless address.
import { formatCidr, formatIp, parseCidr, parseIp, type Cidr } from '../net/ip-address.js';
import { CryptoPan } from './cryptopan.js';

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
