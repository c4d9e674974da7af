// Is an address inside the owner's network? A pseudonym always is (the agent only
// pseudonymizes internal addresses under the default policy); a clear address is
// internal when it falls in the internal prefixes (the anonymizer's defaults plus
// loopback, multicast and broadcast, which are never "external destinations").
import { DEFAULT_INTERNAL_PREFIXES } from '../../shared/anonymize/address-anonymizer.js';
import { parseCidr } from '../../shared/net/ip-address.js';
import { parseAddressWords } from './address-words.js';
import { PrefixTrie } from './prefix-trie.js';

export const NON_EXTERNAL_PREFIXES: readonly string[] = [
  ...DEFAULT_INTERNAL_PREFIXES,
  '0.0.0.0/8', '127.0.0.0/8', '224.0.0.0/4', '255.255.255.255/32', '::1/128', '::/128', 'ff00::/8',
];

/** Copies a Cidr's 16 bytes into 32-bit words. */
export function cidrWords(bytes: Uint8Array, out: Uint32Array): Uint32Array {
  for (let i = 0; i < 4; i++) {
    out[i] = ((bytes[4 * i]! << 24) | (bytes[4 * i + 1]! << 16) | (bytes[4 * i + 2]! << 8) | bytes[4 * i + 3]!) >>> 0;
  }
  return out;
}

/** A set of CIDR prefixes (both families) with a membership test on address text. */
export class PrefixSet {
  private readonly v4 = new PrefixTrie(32);
  private readonly v6 = new PrefixTrie(128);
  private readonly words = new Uint32Array(4);

  constructor(prefixes: readonly string[]) {
    const w = new Uint32Array(4);
    for (const p of prefixes) {
      const c = parseCidr(p);
      cidrWords(c.bytes, w);
      if (c.version === 4) this.v4.insert(w, c.prefixLen, 0); else this.v6.insert(w, c.prefixLen, 0);
    }
  }

  /** address text (as records carry it) is inside one of the prefixes; false for non-addresses */
  has(addr: string): boolean {
    const v = parseAddressWords(addr, this.words);
    if (v === 4) return this.v4.lookup(this.words) >= 0;
    if (v === 6) return this.v6.lookup(this.words) >= 0;
    return false;
  }
}

export class AddressScope {
  private readonly internal: PrefixSet;

  constructor(internalPrefixes: readonly string[] = NON_EXTERNAL_PREFIXES) {
    this.internal = new PrefixSet(internalPrefixes);
  }

  isInternal(addr: string, anon: boolean): boolean {
    return anon || this.internal.has(addr);
  }
}
