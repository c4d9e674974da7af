// Pseudonyms <-> real addresses on the agent, for interdiction. Firewall rules need REAL
// addresses, but the operator only knows internal hosts by their pseudonyms, and the collector
// must never learn the real address behind one. So commands carry pseudonyms (PeerRef with
// pseudonym=true) and the agent, which holds the anonymization key, inverts them here
// (Crypto-PAn is a permutation; CIDRs map to CIDRs). In the other direction every address the
// agent reports back (command results, heartbeats) goes through toDisplay(): an address the
// anonymization policy would rewrite is shown as its pseudonym with a "*", exactly as the data
// shows it. Pure (the host addresses come from a callback).
import { AddressAnonymizer, type AnonymizePolicy } from '../../shared/anonymize/address-anonymizer.js';
import { anonymizeCidrText, anonymizeText, deanonymizeCidrText, deanonymizeText } from '../../shared/anonymize/pseudonym-text.js';
import { parseCidr } from '../../shared/net/ip-address.js';
import { canonicalAddressOrCidr, type PeerRef } from '../../shared/commands/peer-ref.js';
import { MeerkatError } from '../../shared/errors.js';

export class PeerResolutionError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_PEER_RESOLUTION';
  constructor(readonly option: string, readonly input: string, detail: string) {
    super(`${option} ${input}: ${detail}`);
    this.name = 'PeerResolutionError';
  }
}

export interface PeerResolverOptions {
  anonKey: Uint8Array;
  policy: AnonymizePolicy;
  internalPrefixes?: string[] | undefined;
  /** the host's current addresses (they are pseudonymized whatever their range) */
  hostAddresses: () => readonly string[];
}

function lastAddressBytes(cidrText: string): { version: 4 | 6; first: Uint8Array; last: Uint8Array } {
  const c = parseCidr(cidrText);
  const last = Uint8Array.from(c.bytes);
  const max = c.version === 4 ? 32 : 128;
  for (let bit = c.prefixLen; bit < max; bit++) last[bit >> 3]! |= 0x80 >> (bit & 7);
  return { version: c.version, first: c.bytes, last };
}

export class PeerResolver {
  private readonly keys: { anonKey: Uint8Array };
  private readonly anon: AddressAnonymizer;
  private hostKey = '';

  constructor(private readonly opts: PeerResolverOptions) {
    this.keys = { anonKey: opts.anonKey };
    this.anon = new AddressAnonymizer({ key: opts.anonKey, policy: opts.policy, ...(opts.internalPrefixes ? { internalPrefixes: opts.internalPrefixes } : {}), cacheSize: 64 });
  }

  private refreshHosts(): void {
    const hosts = this.opts.hostAddresses();
    const k = hosts.join(',');
    if (k !== this.hostKey) {
      this.hostKey = k;
      this.anon.setHostAddresses([...hosts]);
    }
  }

  /** Whether the data carries this real address (or every address of this real CIDR) as a pseudonym. */
  isPseudonymized(realText: string): boolean {
    this.refreshHosts();
    const r = lastAddressBytes(realText);
    return this.anon.wouldAnonymize(r.version, r.first) && this.anon.wouldAnonymize(r.version, r.last);
  }

  /** The real address/CIDR a command means. @throws PeerResolutionError */
  toReal(ref: PeerRef, option: string): string {
    const shown = ref.pseudonym ? `${ref.address}*` : ref.address;
    let canon: string;
    try {
      canon = canonicalAddressOrCidr(ref.address, option);
    } catch (e) {
      throw new PeerResolutionError(option, shown, (e as Error).message);
    }
    if (!ref.pseudonym) return canon;
    if (this.opts.policy === 'none') {
      throw new PeerResolutionError(option, shown, 'this agent does not anonymize addresses (policy "none"); give the real address without "*"');
    }
    const real = canon.includes('/') ? deanonymizeCidrText(this.keys, canon) : deanonymizeText(this.keys, canon);
    const realCanon = canonicalAddressOrCidr(real, option);
    // a "*" on an address that is not one of our pseudonyms is an operator mistake: acting on the
    // meaningless inverse could cut off an unrelated host
    if (!this.isPseudonymized(realCanon)) {
      throw new PeerResolutionError(option, shown, 'is not the pseudonym of an internal address of this network (drop the "*" if it is a real, external address)');
    }
    return realCanon;
  }

  /** How the collector may see a real address: its pseudonym with "*" when the policy hides it. */
  toDisplay(realText: string): string {
    let canon: string;
    try {
      canon = canonicalAddressOrCidr(realText, 'address');
    } catch {
      return '(unparseable address)';
    }
    if (this.opts.policy === 'none' || !this.isPseudonymized(canon)) return canon;
    const p = canon.includes('/') ? anonymizeCidrText(this.keys, canon) : anonymizeText(this.keys, canon);
    return `${canonicalAddressOrCidr(p, 'address')}*`;
  }

  /**
   * Text that may quote real addresses (firewall tool errors, validation messages) made safe for
   * the collector: every address or CIDR in it goes through toDisplay().
   */
  sanitize(text: string): string {
    return text.replace(ADDRESS_TOKEN, (tok) => {
      try {
        canonicalAddressOrCidr(tok, 'address');
      } catch {
        return tok;
      }
      return this.toDisplay(tok);
    });
  }
}

/** IPv4 (optional /len, may be followed by ":port") or IPv6-like text (hex groups with colons, optional /len). */
const ADDRESS_TOKEN = /(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?:\/\d{1,2})?(?![\w.])|(?<![\w.:])(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F.]{0,15}(?:\/\d{1,3})?(?![\w.:])/g;
