// The per-packet anonymization policy: decides which addresses become pseudonyms, rewrites
// them in place through a bounded cache in front of Crypto-PAn, and marks the record.
//
// Policies:
//   'internal' (default on agents): owner-declared internal prefixes and the host's own
//              addresses become pseudonyms; other (external) addresses stay in the clear.
//   'all':     every IPv4/IPv6 address becomes a pseudonym.
//   'none':    nothing is rewritten (lab use; the dump header still names the key id).
// Loopback (127/8, ::1) is not in the default internal set and is ignored in hostAddresses:
// every host has the same loopback addresses, so they identify nobody, and analysts need to
// recognise host-local traffic. 'all' rewrites loopback too.
// IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged and rewritten as the IPv4 address it carries,
// keeping the ::ffff: prefix, so a dual-stack socket's peer gets the same pseudonym either way.
import { RecordFlag, type PacketRecord } from '../packet/packet-record.js';
import { parseCidr, parseIp } from '../net/ip-address.js';
import { CryptoPan } from './cryptopan.js';
import { PseudonymCache } from './pseudonym-cache.js';
import { anonKeyId } from './key-derivation.js';

export { MacPseudonymizer, type MacMode } from './mac-pseudonymizer.js';

export type AnonymizePolicy = 'internal' | 'all' | 'none';

/**
 * RFC 1918, CGNAT (RFC 6598), IPv4 link-local, ULA, IPv6 link-local, and IPv6 solicited-node
 * multicast: ff02::1:ffXX:XXXX carries the low 24 bits of a unicast address (often an
 * internal one or the host's own), so it is treated as internal too.
 */
export const DEFAULT_INTERNAL_PREFIXES: string[] = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '169.254.0.0/16',
  'fc00::/7',
  'fe80::/10',
  'ff02::1:ff00:0/104',
];

export interface AddressAnonymizerOptions {
  /** the owner's 32-byte anonymization key */
  key: Uint8Array;
  policy: AnonymizePolicy;
  /** CIDR text; default DEFAULT_INTERNAL_PREFIXES */
  internalPrefixes?: string[];
  /** the host's own addresses: anonymized under 'internal' even when not internal */
  hostAddresses?: string[];
  /** most cached pseudonyms per address family (default 16384) */
  cacheSize?: number;
}

export interface AnonymizerStats {
  /** addresses that the policy sent to the pseudonym cache */
  lookups: number;
  /** of those, the ones computed with AES */
  misses: number;
}

const DEFAULT_CACHE_SIZE = 16384;

const enum PolicyCode { None = 0, Internal = 1, All = 2 }

function isLoopbackOrUnspecified(version: number, b: Uint8Array): boolean {
  if (version === 4) return b[0] === 127 || (b[0] === 0 && b[1] === 0 && b[2] === 0 && b[3] === 0);
  for (let i = 0; i < 15; i++) if (b[i] !== 0) return false;
  return b[15] === 0 || b[15] === 1;
}

/** ::ffff:0:0/96 */
function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

function word(b: Uint8Array, off: number): number {
  return (b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!;
}

/** Prefix length bits as a big-endian mask word for word index w (0..3) of 128 (or 0 of 32). */
function maskWord(prefixLen: number, w: number): number {
  const bits = Math.min(32, Math.max(0, prefixLen - 32 * w));
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) | 0;
}

export class AddressAnonymizer {
  readonly policy: AnonymizePolicy;
  /** 16 hex chars naming the key (see key-derivation.ts); goes into dump headers */
  readonly keyId: string;
  readonly stats: AnonymizerStats = { lookups: 0, misses: 0 };
  private readonly code: PolicyCode;
  private readonly pan: CryptoPan;
  private readonly cache4: PseudonymCache;
  private readonly cache6: PseudonymCache;
  /** IPv4 prefixes as (net, mask) int32 pairs */
  private readonly nets4: Int32Array;
  /** IPv6 prefixes as 4 net words then 4 mask words each */
  private readonly nets6: Int32Array;
  private host4 = new Int32Array(0);
  private host6 = new Int32Array(0);
  /**
   * The last two IPv4 addresses seen and their outcome, as [address, pseudonym, state] x 2
   * (state 0 empty, 1 left alone, 2 rewritten). Consecutive packets mostly belong to one
   * conversation, so both addresses of a record usually repeat those of the previous one:
   * this skips the prefix test and the cache's hashing for them.
   */
  private readonly memo4 = new Int32Array(6);
  /** memo4 slot (0 or 3) the next new address replaces */
  private memoNext = 0;

  constructor(opts: AddressAnonymizerOptions) {
    const p = opts.policy;
    if (p !== 'internal' && p !== 'all' && p !== 'none') throw new RangeError(`anonymization policy must be 'internal', 'all' or 'none', got ${String(p)}`);
    this.policy = p;
    this.code = p === 'none' ? PolicyCode.None : p === 'all' ? PolicyCode.All : PolicyCode.Internal;
    this.pan = new CryptoPan(opts.key);
    this.keyId = anonKeyId(opts.key);
    const cacheSize = opts.cacheSize ?? DEFAULT_CACHE_SIZE;
    this.cache4 = new PseudonymCache(1, cacheSize);
    this.cache6 = new PseudonymCache(4, cacheSize);

    const v4: number[] = [];
    const v6: number[] = [];
    for (const text of opts.internalPrefixes ?? DEFAULT_INTERNAL_PREFIXES) {
      const c = parseCidr(text);
      if (c.version === 6 && c.prefixLen >= 96 && isV4Mapped(c.bytes)) {
        // ::ffff:a.b.c.d/n is judged on the IPv4 path
        v4.push(word(c.bytes, 12), maskWord(c.prefixLen - 96, 0));
      } else if (c.version === 4) {
        v4.push(word(c.bytes, 0), maskWord(c.prefixLen, 0));
      } else {
        for (let w = 0; w < 4; w++) v6.push(word(c.bytes, 4 * w));
        for (let w = 0; w < 4; w++) v6.push(maskWord(c.prefixLen, w));
      }
    }
    this.nets4 = Int32Array.from(v4);
    this.nets6 = Int32Array.from(v6);
    this.setHostAddresses(opts.hostAddresses ?? []);
  }

  /**
   * Replaces the host's own addresses (call when interfaces change: DHCP, roaming).
   * Loopback and unspecified addresses are ignored (see header).
   */
  setHostAddresses(addresses: string[]): void {
    const h4: number[] = [];
    const h6: number[] = [];
    for (const text of addresses) {
      const a = parseIp(text);
      if (isLoopbackOrUnspecified(a.version, a.bytes)) continue;
      if (a.version === 4) h4.push(word(a.bytes, 0));
      else if (isV4Mapped(a.bytes)) {
        const w = word(a.bytes, 12);
        if ((w >>> 24) !== 127 && w !== 0) h4.push(w);
      } else for (let w = 0; w < 4; w++) h6.push(word(a.bytes, 4 * w));
    }
    this.host4 = Int32Array.from(h4);
    this.host6 = Int32Array.from(h6);
    this.memo4.fill(0); // outcomes may change with the host set
  }

  /** Pseudonymized entries currently cached (IPv4 + IPv6). */
  get cachedEntries(): number {
    return this.cache4.size + this.cache6.size;
  }

  /** Upper bound of the cache tables' memory in bytes (fixed at construction; they grow up to it with use). */
  get cacheBytes(): number {
    return this.cache4.maxTableBytes + this.cache6.maxTableBytes;
  }

  /** Rewrites addr (16 bytes, IPv4 in 0..3) in place when the policy says so; true if it did. */
  anonymize(version: number, addr: Uint8Array): boolean {
    if (this.code === PolicyCode.None) return false;
    if (version === 4) return this.anonymize4(addr, 0);
    if (version === 6) {
      if (isV4Mapped(addr)) return this.anonymize4(addr, 12);
      return this.anonymize6(addr);
    }
    return false;
  }

  /** Rewrites rec.src/rec.dst per policy and sets SrcAnon/DstAnon; an address already marked is left alone. */
  anonymizeRecord(rec: PacketRecord): void {
    const v = rec.ipVersion;
    if (v !== 4 && v !== 6) return;
    if ((rec.flags & RecordFlag.SrcAnon) === 0 && this.anonymize(v, rec.src)) rec.flags |= RecordFlag.SrcAnon;
    if ((rec.flags & RecordFlag.DstAnon) === 0 && this.anonymize(v, rec.dst)) rec.flags |= RecordFlag.DstAnon;
  }

  /** Whether the policy would rewrite this address (no side effects). */
  wouldAnonymize(version: number, addr: Uint8Array): boolean {
    if (this.code === PolicyCode.None) return false;
    if (this.code === PolicyCode.All) return version === 4 || version === 6;
    if (version === 4) return this.selects4(word(addr, 0));
    if (version !== 6) return false;
    if (isV4Mapped(addr)) return this.selects4(word(addr, 12));
    const k = this.cache6.key;
    for (let w = 0; w < 4; w++) k[w] = word(addr, 4 * w);
    return this.selects6(k);
  }

  private selects4(a: number): boolean {
    const n = this.nets4;
    for (let i = 0; i < n.length; i += 2) if ((a & n[i + 1]!) === n[i]) return true;
    const h = this.host4;
    for (let i = 0; i < h.length; i++) if (h[i] === a) return true;
    return false;
  }

  private selects6(k: Int32Array): boolean {
    const k0 = k[0]!, k1 = k[1]!, k2 = k[2]!, k3 = k[3]!;
    const n = this.nets6;
    for (let i = 0; i < n.length; i += 8) {
      if ((k0 & n[i + 4]!) === n[i] && (k1 & n[i + 5]!) === n[i + 1] && (k2 & n[i + 6]!) === n[i + 2] && (k3 & n[i + 7]!) === n[i + 3]) return true;
    }
    const h = this.host6;
    for (let i = 0; i < h.length; i += 4) {
      if (h[i] === k0 && h[i + 1] === k1 && h[i + 2] === k2 && h[i + 3] === k3) return true;
    }
    return false;
  }

  private anonymize4(b: Uint8Array, off: number): boolean {
    const a = word(b, off);
    const m = this.memo4;
    let p: number;
    const slot = m[2] !== 0 && m[0] === a ? 0 : m[5] !== 0 && m[3] === a ? 3 : -1;
    if (slot >= 0) {
      if (m[slot + 2] === 1) return false;
      this.stats.lookups++;
      p = m[slot + 1]!;
    } else {
      const s = this.memoNext;
      this.memoNext = 3 - s;
      m[s] = a;
      if (this.code === PolicyCode.Internal && !this.selects4(a)) {
        m[s + 2] = 1;
        return false;
      }
      this.stats.lookups++;
      const c = this.cache4;
      c.key[0] = a;
      if (!c.get()) {
        this.stats.misses++;
        c.value[0] = this.pan.anonymizeV4(a >>> 0);
        c.put();
      }
      p = c.value[0]!;
      m[s + 1] = p;
      m[s + 2] = 2;
    }
    b[off] = p >>> 24;
    b[off + 1] = (p >>> 16) & 0xff;
    b[off + 2] = (p >>> 8) & 0xff;
    b[off + 3] = p & 0xff;
    return true;
  }

  private anonymize6(b: Uint8Array): boolean {
    const c = this.cache6;
    const k = c.key;
    for (let w = 0; w < 4; w++) k[w] = word(b, 4 * w);
    if (this.code === PolicyCode.Internal && !this.selects6(k)) return false;
    this.stats.lookups++;
    const v = c.value;
    if (c.get()) {
      for (let w = 0; w < 4; w++) {
        const x = v[w]!;
        const o = 4 * w;
        b[o] = x >>> 24;
        b[o + 1] = (x >>> 16) & 0xff;
        b[o + 2] = (x >>> 8) & 0xff;
        b[o + 3] = x & 0xff;
      }
      return true;
    }
    this.stats.misses++;
    this.pan.anonymizeV6(b, 0, b, 0);
    for (let w = 0; w < 4; w++) v[w] = word(b, 4 * w);
    c.put();
    return true;
  }
}
