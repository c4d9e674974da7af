// The pseudonym notation, the same everywhere (tables, commands, filters, the agents' reports):
// an address the data carries as a pseudonym is written with a "*" right after it -
// "10.77.3.9*", "10.77.0.0/16*", "[fd12::3]*:443" and "10.77.3.9*:443" as endpoints - and a
// clear address without one. Commands that name a peer take the same text: the operator sees
// internal addresses only as pseudonyms, external ones in the clear, and firewall rules need
// REAL addresses, so a PeerRef says which of the two was given and the agent (which holds the
// anonymization key) de-anonymizes the pseudonyms. Brackets around an IPv6 address are
// accepted as printed. Pure.
import { AddressParseError, formatCidr, parseCidr, parseIp } from '../net/ip-address.js';
import { InputError } from '../errors.js';

export interface PeerRef {
  /** canonical address ("203.0.113.5") or CIDR ("198.51.100.0/24") */
  address: string;
  /** true: `address` is a pseudonym from the collector's data; the agent de-anonymizes it */
  pseudonym: boolean;
}

export class PeerRefError extends InputError {
  readonly code = 'MEERKAT_ERR_PEER_REF';
  constructor(readonly option: string, readonly input: string, expected: string) {
    super(`${option}: expected ${expected}; got ${JSON.stringify(input)}`);
    this.name = 'PeerRefError';
  }
}

const ADDRESS_OR_CIDR = 'an IPv4/IPv6 address or CIDR, e.g. 203.0.113.5, 198.51.100.0/24, 2001:db8::/32';
const PEER_REF = 'an IPv4/IPv6 address or CIDR, with a trailing * when it is a pseudonym (e.g. 203.0.113.5, 10.77.3.9*, 198.51.100.0/24)';

/**
 * Canonical text of an address or CIDR: a bare address for a full-length prefix, else
 * "network/len". A CIDR with host bits set is refused rather than silently narrowed. The one
 * canonical form of a peer: console, collector and agent (its interdiction policy) all use it.
 * @throws PeerRefError naming the option; `expected` describes what the option takes
 */
export function canonicalAddressOrCidr(text: string, option: string, expected = ADDRESS_OR_CIDR): string {
  const t = typeof text === 'string' ? text.trim() : '';
  if (t === '' || t.length > 64) throw new PeerRefError(option, String(text), expected);
  let c;
  try {
    c = parseCidr(t);
  } catch (e) {
    if (e instanceof AddressParseError) throw new PeerRefError(option, text, expected);
    throw e;
  }
  const max = c.version === 4 ? 32 : 128;
  const slash = t.indexOf('/');
  if (slash >= 0) {
    const given = parseIp(t.slice(0, slash));
    for (let i = 0; i < 16; i++) {
      if (given.bytes[i] !== c.bytes[i]) throw new PeerRefError(option, text, `a CIDR without host bits set (did you mean ${formatCidr(c)}?)`);
    }
  }
  const cidr = formatCidr(c);
  return c.prefixLen === max ? cidr.slice(0, cidr.lastIndexOf('/')) : cidr;
}

/** "[fd12::3]" -> "fd12::3" (as endpoints print an IPv6 address). */
function unbracket(t: string): string {
  return /^\[[^\]]*\](\/\d+)?$/.test(t) ? t.replace(/^\[([^\]]*)\]/, '$1') : t;
}

/** "10.77.3.9*" -> {address: "10.77.3.9", pseudonym: true}. @throws PeerRefError */
export function parsePeerRef(text: string, option = '--peer'): PeerRef {
  const t = String(text).trim();
  const pseudonym = t.endsWith('*');
  return { address: canonicalAddressOrCidr(unbracket(pseudonym ? t.slice(0, -1) : t), option, PEER_REF), pseudonym };
}

/** An address or CIDR in the notation: "10.77.3.9*" for a pseudonym, "198.51.100.7" for a clear one. */
export function addressText(address: string, pseudonym: boolean): string {
  return pseudonym ? `${address}*` : address;
}

/** An endpoint in the notation: "10.77.3.9*:443", "[fd12::3]*:443", "198.51.100.7:53". */
export function endpointText(address: string, port: number, pseudonym: boolean): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return `${host}${pseudonym ? '*' : ''}:${port}`;
}

/**
 * An address or CIDR as records carry it (pseudonyms are prefix-preserving, so a pseudonym
 * CIDR covers exactly the pseudonyms of the real CIDR); a trailing "*" is accepted and dropped.
 */
export function parseRecordAddress(text: string, option = '--peer'): string {
  const t = String(text).trim();
  return canonicalAddressOrCidr(unbracket(t.endsWith('*') ? t.slice(0, -1) : t), option, PEER_REF);
}
