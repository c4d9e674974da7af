// The watchlist as it travels from collector to agent: threat-intel IP prefixes, domains and
// TLS fingerprints packed as fixed-size binary records, sorted and de-duplicated, base64 in a
// JSON control message.
//   v4:    5 bytes per prefix (4 address bytes, prefix length)
//   v6:    17 bytes per prefix (16 address bytes, prefix length)
//   ja4:   8 bytes per JA4 / JA4S fingerprint: entryHash(fingerprint)
//   names: 8 bytes per listed domain: entryHash(domain, lower case, no trailing dot); a name
//          matches when it or one of its parents is listed (entryHash of each suffix)
// Domains and fingerprints travel as hashes: 8 bytes whatever their length, and an endpoint
// does not get the feed's text (a hash collision only ships a dump early; the collector
// decides on the clear entry). The version is a content hash, so an agent can tell an
// unchanged list from a new one. Bounded: at most MAX_WATCHLIST_BYTES of packed records in
// all (v4, v6, ja4, names in this order; what does not fit is left out and `truncated` is
// set; those entries still alert, at the normal dump cadence). Pure.
import { createHash } from 'node:crypto';
import type { PrefixEntry } from './prefix-matcher.js';
import { MeerkatError } from '../errors.js';

/** packed record bytes per message (base64 adds a third: ~240 KB of JSON, under the 256 KB limit) */
export const MAX_WATCHLIST_BYTES = 180_000;
const V4_REC = 5;
const V6_REC = 17;
export const HASH_REC = 8;

export interface WatchlistPayload {
  /** content hash (16 hex characters) */
  version: string;
  v4: string;
  v6: string;
  /** packed entry hashes of listed domains (absent: none) */
  names?: string;
  /** packed entry hashes of listed JA4 / JA4S fingerprints (absent: none) */
  ja4?: string;
  /** entries left out for size */
  truncated?: boolean;
}

/** The 8-byte hash a domain or fingerprint travels as: the first 8 bytes of SHA-256 of its text, as 16 hex characters. */
export function entryHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 2 * HASH_REC);
}

/** Domains and fingerprints for the watchlist (text as the feed normalised it). */
export interface NameEntries {
  domains: Iterable<string>;
  ja4: Iterable<string>;
}

function packHashes(texts: Iterable<string>, maxRecords: number): { packed: Buffer; all: number } {
  const hashes = [...new Set([...texts].map(entryHash))].sort();
  const n = Math.min(hashes.length, Math.max(0, maxRecords));
  const out = Buffer.alloc(n * HASH_REC);
  for (let i = 0; i < n; i++) out.write(hashes[i]!, i * HASH_REC, 'hex');
  return { packed: out, all: hashes.length };
}

export class WatchlistFormatError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_WATCHLIST_FORMAT';
  constructor(field: string, expected: string) {
    super(`bad watchlist ${field}: expected ${expected}`);
    this.name = 'WatchlistFormatError';
  }
}

function compare(a: PrefixEntry, b: PrefixEntry): number {
  const n = a.version === 4 ? 4 : 16;
  for (let i = 0; i < n; i++) if (a.bytes[i] !== b.bytes[i]) return a.bytes[i]! - b.bytes[i]!;
  return a.prefixLen - b.prefixLen;
}

function masked(e: PrefixEntry): PrefixEntry {
  const max = e.version === 4 ? 32 : 128;
  const len = Math.max(0, Math.min(max, e.prefixLen));
  const b = new Uint8Array(16);
  b.set(e.bytes.subarray(0, e.version === 4 ? 4 : 16));
  for (let bit = len; bit < max; bit++) b[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return { version: e.version, bytes: b, prefixLen: len };
}

/** Packs prefixes (any order, duplicates allowed) and optionally domains and fingerprints into a payload. */
export function encodeWatchlist(entries: Iterable<PrefixEntry>, maxBytes = MAX_WATCHLIST_BYTES, named?: NameEntries): WatchlistPayload {
  const v4: PrefixEntry[] = [];
  const v6: PrefixEntry[] = [];
  for (const e of entries) (e.version === 4 ? v4 : v6).push(masked(e));
  v4.sort(compare);
  v6.sort(compare);
  const dedupe = (l: PrefixEntry[]): PrefixEntry[] => l.filter((e, i) => i === 0 || compare(l[i - 1]!, e) !== 0);
  const a = dedupe(v4);
  const b = dedupe(v6);
  // v4 first: most feeds are IPv4, and a v4 record is a third of a v6 one
  const n4 = Math.min(a.length, Math.floor(maxBytes / V4_REC));
  const n6 = Math.min(b.length, Math.floor((maxBytes - n4 * V4_REC) / V6_REC));
  const p4 = Buffer.alloc(n4 * V4_REC);
  for (let i = 0; i < n4; i++) { p4.set(a[i]!.bytes.subarray(0, 4), i * V4_REC); p4[i * V4_REC + 4] = a[i]!.prefixLen; }
  const p6 = Buffer.alloc(n6 * V6_REC);
  for (let i = 0; i < n6; i++) { p6.set(b[i]!.bytes.subarray(0, 16), i * V6_REC); p6[i * V6_REC + 16] = b[i]!.prefixLen; }
  let left = maxBytes - n4 * V4_REC - n6 * V6_REC;
  const j = packHashes(named?.ja4 ?? [], Math.floor(left / HASH_REC));
  left -= j.packed.length;
  const d = packHashes(named?.domains ?? [], Math.floor(left / HASH_REC));
  const h = createHash('sha256').update(p4).update('|').update(p6);
  // a list without domains and fingerprints keeps the version it had before they existed
  if (j.all + d.all > 0) h.update('|').update(j.packed).update('|').update(d.packed);
  const version = h.digest('hex').slice(0, 16);
  const truncated = n4 < a.length || n6 < b.length || j.packed.length < j.all * HASH_REC || d.packed.length < d.all * HASH_REC;
  return {
    version, v4: p4.toString('base64'), v6: p6.toString('base64'),
    ...(d.all > 0 ? { names: d.packed.toString('base64') } : {}),
    ...(j.all > 0 ? { ja4: j.packed.toString('base64') } : {}),
    ...(truncated ? { truncated: true } : {}),
  };
}

/**
 * The hash of the listed domain covering name (the name itself or a parent of two labels or
 * more), or null. Case-insensitive; a trailing dot is ignored.
 */
export function matchNameHash(name: string, hashes: ReadonlySet<string>): string | null {
  if (hashes.size === 0) return null;
  let n = name.endsWith('.') ? name.slice(0, -1).toLowerCase() : name.toLowerCase();
  for (;;) {
    const dot = n.indexOf('.');
    if (dot < 0) return null; // listed domains have two labels or more
    const h = entryHash(n);
    if (hashes.has(h)) return h;
    n = n.slice(dot + 1);
  }
}

/** The entry hashes of a payload's names and ja4 sections (hex). @throws WatchlistFormatError */
export function decodeNameHashes(p: WatchlistPayload): { names: Set<string>; ja4: Set<string> } {
  const read = (field: 'names' | 'ja4', text: string | undefined): Set<string> => {
    const out = new Set<string>();
    if (text === undefined) return out;
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new WatchlistFormatError(field, 'base64');
    const buf = Buffer.from(text, 'base64');
    if (buf.length % HASH_REC !== 0) throw new WatchlistFormatError(field, `a multiple of ${HASH_REC} bytes, got ${buf.length}`);
    for (let off = 0; off < buf.length; off += HASH_REC) out.add(buf.toString('hex', off, off + HASH_REC));
    return out;
  };
  return { names: read('names', p.names), ja4: read('ja4', p.ja4) };
}

/** Unpacks a payload. @throws WatchlistFormatError */
export function decodeWatchlist(p: WatchlistPayload): PrefixEntry[] {
  const out: PrefixEntry[] = [];
  const read = (field: 'v4' | 'v6', text: string, rec: number, max: number): void => {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new WatchlistFormatError(field, 'base64');
    const buf = Buffer.from(text, 'base64');
    if (buf.length % rec !== 0) throw new WatchlistFormatError(field, `a multiple of ${rec} bytes, got ${buf.length}`);
    for (let off = 0; off < buf.length; off += rec) {
      const len = buf[off + rec - 1]!;
      if (len > max) throw new WatchlistFormatError(field, `prefix lengths up to ${max}, got ${len}`);
      const bytes = new Uint8Array(16);
      bytes.set(buf.subarray(off, off + rec - 1));
      out.push({ version: max === 32 ? 4 : 6, bytes, prefixLen: len });
    }
  };
  read('v4', p.v4, V4_REC, 32);
  read('v6', p.v6, V6_REC, 128);
  return out;
}
