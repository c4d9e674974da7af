// The watchlist as it travels from collector to agent: threat-intel IP prefixes packed as
// fixed-size binary records, sorted and de-duplicated, base64 in a JSON control message.
//   v4: 5 bytes per prefix (4 address bytes, prefix length)
//   v6: 17 bytes per prefix (16 address bytes, prefix length)
// The version is a content hash, so an agent can tell an unchanged list from a new one.
// Bounded: at most MAX_WATCHLIST_BYTES of packed records (what does not fit is left out and
// `truncated` is set; those entries still alert, at the normal dump cadence). Pure.
import { createHash } from 'node:crypto';
import type { PrefixEntry } from './prefix-matcher.js';
import { MeerkatError } from '../errors.js';

/** packed record bytes per message (base64 adds a third: ~240 KB of JSON, under the 256 KB limit) */
export const MAX_WATCHLIST_BYTES = 180_000;
const V4_REC = 5;
const V6_REC = 17;

export interface WatchlistPayload {
  /** content hash (16 hex characters) */
  version: string;
  v4: string;
  v6: string;
  /** entries left out for size */
  truncated?: boolean;
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

/** Packs prefixes (any order, duplicates allowed) into a payload. */
export function encodeWatchlist(entries: Iterable<PrefixEntry>, maxBytes = MAX_WATCHLIST_BYTES): WatchlistPayload {
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
  const version = createHash('sha256').update(p4).update('|').update(p6).digest('hex').slice(0, 16);
  return { version, v4: p4.toString('base64'), v6: p6.toString('base64'), ...(n4 < a.length || n6 < b.length ? { truncated: true } : {}) };
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
