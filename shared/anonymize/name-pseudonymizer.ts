// The privacy policy for domain names in metadata (DNS, TLS server names, HTTP hosts):
// which names leave the agent in the clear and which become keyed pseudonyms that only the
// owner can turn back (docs/privacy.md, "Domain names").
//
// Policies:
//   'internal' (default): names under an owner-declared internal suffix, single-label names
//              (they can only be resolved on the local network) and names whose first label
//              is one of the host's own names become name tokens (name-token.ts); every other
//              name stays in the clear (threat intelligence and analysts need them).
//   'all':     every name becomes tokens.
//   'none':    names stay in the clear (lab use).
// Names that are addresses follow the ADDRESS policy, so they link with the records:
//   reverse lookups (d.c.b.a.in-addr.arpa, nibbles.ip6.arpa, and prefixes of them) of an
//   address the AddressAnonymizer rewrites become the reverse name of its Crypto-PAn
//   pseudonym (prefix-preserving, so a prefix maps to a prefix), and address literals
//   (an HTTP Host "10.1.2.3") become the pseudonym address; either is marked as a pseudonym.
//   Other address names are treated as names.
// A pseudonymized name is "<head token>.<tail token>" (or the tail token alone): the tail is
// the matched internal suffix (else the last two labels, three under a short
// second-level label such as co.uk), the head the labels above it, sealed with the tail as
// context. Names under one suffix thus share a tail token, so the collector can still group
// them without learning the suffix.
import { isIPv4, isIPv6 } from 'node:net';
import { formatIp, parseIp } from '../net/ip-address.js';
import type { AddressAnonymizer } from './address-anonymizer.js';
import { nameKeys, openNamePart, sealNamePart, NAME_TOKEN_PREFIX, type NameKeys } from './name-token.js';
import { nameTokens } from './name-token-format.js';
import { InputError } from '../errors.js';

export type NamePolicy = 'internal' | 'all' | 'none';

/** Suffixes used only inside private networks (RFC 6762, RFC 8375, ICANN name collision reports). */
export const DEFAULT_INTERNAL_SUFFIXES: readonly string[] = [
  'local', 'localdomain', 'lan', 'home.arpa', 'internal', 'intranet', 'corp', 'home', 'private',
];

/** A name as it leaves the agent: the text, and whether it is a pseudonym (tokens or a pseudonym address). */
export interface PolicyName {
  name: string;
  pseudonym: boolean;
}

export interface NamePseudonymizerOptions {
  /** the owner's 32-byte anonymization key */
  key: Uint8Array;
  policy: NamePolicy;
  /** owner-declared internal suffixes, in addition to DEFAULT_INTERNAL_SUFFIXES; "corp.example.com" covers its subdomains */
  internalSuffixes?: readonly string[];
  /** the host's own names (os.hostname(), short or full): a name whose first label is one of them is internal */
  hostNames?: readonly string[];
  /** the address policy, for reverse names and address literals */
  addresses: AddressAnonymizer;
  /** most pseudonymized names remembered (default 4096) */
  cacheSize?: number;
}

export class NamePolicyError extends InputError {
  readonly code = 'MEERKAT_ERR_NAME_POLICY';
  constructor(what: string, expected: string) {
    super(`invalid name policy input ${JSON.stringify(what)}: expected ${expected}`);
    this.name = 'NamePolicyError';
  }
}

/** "Corp.Example.COM." -> "corp.example.com" */
export function normalizeSuffix(s: string): string {
  let t = s.trim().toLowerCase();
  while (t.startsWith('.')) t = t.slice(1);
  while (t.endsWith('.')) t = t.slice(0, -1);
  if (t === '' || /\s/.test(t)) throw new NamePolicyError(s, 'a domain suffix such as corp.example.com');
  return t;
}

/** Index in `name` where the matched suffix starts (0: the name is the suffix), or -1. */
function suffixStart(name: string, suffixes: readonly string[]): number {
  let best = -1;
  for (const s of suffixes) {
    if (name === s) return 0;
    if (name.length > s.length && name.endsWith(s) && name.charCodeAt(name.length - s.length - 1) === 46) {
      const at = name.length - s.length;
      if (best < 0 || at < best) best = at; // the longest matching suffix
    }
  }
  return best;
}

/** Split a name into head and tail (see header); with a backslash escape the name is one opaque tail. */
export function splitName(name: string, suffixes: readonly string[]): { head: string; tail: string } {
  const at = suffixStart(name, suffixes);
  if (at === 0) return { head: '', tail: name };
  if (at > 0) return { head: name.slice(0, at - 1), tail: name.slice(at) };
  if (name.includes('\\')) return { head: '', tail: name };
  const labels = name.split('.');
  if (labels.length <= 2) return { head: '', tail: name };
  let k = 2;
  // co.uk, com.au, ac.jp: a short second-level label under a two-letter top-level domain
  if (labels[labels.length - 1]!.length === 2 && labels[labels.length - 2]!.length <= 3 && labels.length > 3) k = 3;
  return { head: labels.slice(0, labels.length - k).join('.'), tail: labels.slice(labels.length - k).join('.') };
}

export function sealName(keys: NameKeys, name: string, suffixes: readonly string[]): string {
  const split = splitName(name, suffixes);
  // an empty head that is not the whole name (a leading empty label: "..x", ".corp") would be
  // lost on the way back; such a name is sealed as one opaque tail
  const { head, tail } = split.head === '' && split.tail !== name ? { head: '', tail: name } : split;
  const t = sealNamePart(keys, 't', '', tail);
  return head === '' ? t : `${sealNamePart(keys, 'h', tail, head)}.${t}`;
}

/** The name behind "<head token>.<tail token>" or "<tail token>", or null. */
export function openName(keys: NameKeys, text: string): string | null {
  const t = nameTokens(text);
  if (t === null) return null;
  const tail = openNamePart(keys, 't', '', t.tail);
  if (tail === null) return null;
  if (t.head === null) return tail;
  const head = openNamePart(keys, 'h', tail, t.head);
  return head === null ? null : `${head}.${tail}`;
}

/** Parsed reverse name: the labels before the address part, the address prefix and the family. */
interface ReverseName {
  keep: string[];
  version: 4 | 6;
  /** 16 bytes, IPv4 in 0..3 */
  bytes: Uint8Array;
  /** address labels (octets or nibbles) present */
  count: number;
}

export function parseReverseName(name: string): ReverseName | null {
  let v: 4 | 6;
  let rest: string;
  if (name.endsWith('.in-addr.arpa')) { v = 4; rest = name.slice(0, -'.in-addr.arpa'.length); }
  else if (name.endsWith('.ip6.arpa')) { v = 6; rest = name.slice(0, -'.ip6.arpa'.length); }
  else return null;
  const labels = rest.split('.');
  let n = 0;
  const max = v === 4 ? 4 : 32;
  while (n < labels.length && n < max) {
    const l = labels[labels.length - 1 - n]!;
    const ok = v === 4 ? /^(0|[1-9][0-9]{0,2})$/.test(l) && Number(l) <= 255 : /^[0-9a-f]$/.test(l);
    if (!ok) break;
    n++;
  }
  if (n === 0) return null;
  const bytes = new Uint8Array(16);
  for (let i = 0; i < n; i++) {
    const l = labels[labels.length - 1 - i]!;
    if (v === 4) bytes[i] = Number(l);
    else bytes[i >> 1] |= parseInt(l, 16) << ((i & 1) === 0 ? 4 : 0);
  }
  return { keep: labels.slice(0, labels.length - n), version: v, bytes, count: n };
}

export function formatReverseName(r: ReverseName): string {
  const out: string[] = [];
  for (let i = r.count - 1; i >= 0; i--) {
    out.push(r.version === 4 ? String(r.bytes[i]) : ((r.bytes[i >> 1]! >> ((i & 1) === 0 ? 4 : 0)) & 15).toString(16));
  }
  return [...r.keep, ...out, r.version === 4 ? 'in-addr.arpa' : 'ip6.arpa'].join('.');
}

export class NamePseudonymizer {
  readonly policy: NamePolicy;
  private readonly keys: NameKeys;
  private readonly suffixes: readonly string[];
  private readonly hostLabels: Set<string>;
  private readonly addresses: AddressAnonymizer;
  private readonly cacheSize: number;
  private cache = new Map<string, PolicyName>();
  /** names turned into tokens or pseudonym addresses (for status) */
  pseudonymized = 0;

  constructor(opts: NamePseudonymizerOptions) {
    const p = opts.policy;
    if (p !== 'internal' && p !== 'all' && p !== 'none') throw new NamePolicyError(String(p), "'internal', 'all' or 'none'");
    this.policy = p;
    this.keys = nameKeys(opts.key);
    // the special-use suffixes are internal everywhere, so declared ones add to them
    this.suffixes = [...new Set([...DEFAULT_INTERNAL_SUFFIXES, ...(opts.internalSuffixes ?? [])].map(normalizeSuffix))];
    this.hostLabels = new Set((opts.hostNames ?? []).map((h) => h.trim().toLowerCase().split('.')[0]!).filter((h) => h !== '' && h !== 'localhost'));
    this.addresses = opts.addresses;
    this.cacheSize = opts.cacheSize ?? 4096;
  }

  /** Whether the 'internal' policy treats this (normalized) name as internal. */
  isInternal(name: string): boolean {
    if (name === '') return false;
    if (name.indexOf('.') < 0) return true;
    if (suffixStart(name, this.suffixes) >= 0) return true;
    if (this.hostLabels.size > 0 && this.hostLabels.has(name.slice(0, name.indexOf('.')))) return true;
    return false;
  }

  /** The name as it may leave the agent. `name` is lower case without a trailing dot. */
  apply(name: string): PolicyName {
    const hit = this.cache.get(name);
    if (hit !== undefined) return hit;
    const out = this.decide(name);
    if (out.pseudonym) {
      this.pseudonymized++;
      if (this.cache.size >= this.cacheSize) this.cache = new Map(); // generational: simple and bounded
      this.cache.set(name, out);
    }
    return out;
  }

  /**
   * The name as tokens whatever the suffix rules say (policy 'none': in the clear): for names
   * that are internal by where they come from, such as the host name a reverse lookup of an
   * internal address returns.
   */
  seal(name: string): PolicyName {
    if (this.policy === 'none' || name === '') return { name, pseudonym: false };
    const addr = this.addressForm(name);
    if (addr !== null) return addr;
    this.pseudonymized++;
    return { name: sealName(this.keys, name, this.suffixes), pseudonym: true };
  }

  private decide(name: string): PolicyName {
    if (this.policy === 'none' || name === '') return { name, pseudonym: false };
    const addr = this.addressForm(name);
    if (addr !== null) return addr;
    if (this.policy === 'all' || this.isInternal(name)) return { name: sealName(this.keys, name, this.suffixes), pseudonym: true };
    return { name, pseudonym: false };
  }

  /** Reverse names and literals of addresses the address policy rewrites; null otherwise. */
  private addressForm(name: string): PolicyName | null {
    const v = ipLiteralVersion(name);
    if (v === 4 || v === 6) {
      const a = parseIp(name);
      const b = new Uint8Array(16);
      b.set(a.bytes.subarray(0, v === 4 ? 4 : 16));
      if (!this.addresses.wouldAnonymize(v, b)) return null;
      this.addresses.anonymize(v, b);
      return { name: formatIp(v, b), pseudonym: true };
    }
    const r = parseReverseName(name);
    if (r === null) return null;
    if (!this.addresses.wouldAnonymize(r.version, r.bytes)) return null;
    this.addresses.anonymize(r.version, r.bytes);
    return { name: formatReverseName(r), pseudonym: true };
  }
}

/**
 * net.isIP's answer (4, 6 or 0) without running its IPv6 pattern on names: an IPv6 literal
 * always has a colon and an IPv4 one never does. That pattern costs ~6 ms to compile at its
 * first use (every import with DNS names) and is the slower of the two per name.
 */
export function ipLiteralVersion(name: string): 0 | 4 | 6 {
  if (name.includes(':')) return isIPv6(name) ? 6 : 0;
  return isIPv4(name) ? 4 : 0;
}

