// The agent's near-real-time trigger: holds the watchlist the collector pushed (threat-intel
// prefixes, domains, JA4/JA4S fingerprints) and, when a packet to or from a listed address is
// seen, or a metadata record of a packet names a listed domain (DNS question or answer
// target, TLS server name, HTTP Host; a parent listed covers its names) or carries a listed
// fingerprint, has the open dump emitted at once (spooled and shipped) instead of at the end
// of its period.
//
// Addresses are checked AFTER anonymization and only when the record carries them in the
// clear: exactly what the collector's threat-intel check looks at. A pseudonym never matches,
// so a collector cannot learn "this host talks to internal address X" by listing X. Names
// likewise: they are checked as shipped, after the name policy, and a pseudonymized
// (internal) name never matches, so listing an internal name teaches the collector nothing.
//
// Only the FIRST packet of a listed address (or the first record of a listed name or
// fingerprint) within peerQuietMs triggers a flush (that packet is what raises the alert); the rest of a long connection ships with the normal dumps. A
// small fixed table remembers the recently flushed addresses (no allocation per hit).
//
// The watchlist is not signed: it changes nothing on the host, and the worst a hostile
// collector can do with it is make the agent ship early. Early flushes are therefore rate
// limited (at most one per minIntervalMs, and maxPerMinute in any minute); a hit inside the
// interval schedules one deferred flush, so the matching packet still ships promptly.
import { RecordFlag, type PacketRecord } from '../../shared/packet/packet-record.js';
import type { Logger } from '../../shared/log.js';
import { PrefixMatcher } from '../../shared/watchlist/prefix-matcher.js';
import { decodeNameHashes, decodeWatchlist, entryHash, matchNameHash, type WatchlistPayload } from '../../shared/watchlist/watchlist-codec.js';
import type { AppMeta, MetaName } from '../../shared/appmeta/meta-record.js';

export interface WatchlistTriggerOptions {
  /** emits the open dump (AgentPipeline.flush; the agent's onDump spools and notifies the shipper) */
  flush: () => void;
  /** installs / removes the per-packet hook (AgentPipeline.setPacketWatch) */
  install: (w: WatchlistTrigger | null) => void;
  /** default 1000: at most one early flush per second */
  minIntervalMs?: number;
  /** default 60 */
  maxPerMinute?: number;
  /** an address that triggered a flush does not trigger another for this long (default 300 s) */
  peerQuietMs?: number;
  now?: () => number;
  log?: Logger;
}

export interface WatchlistTriggerStats {
  version: string | null;
  /** prefixes, domains and fingerprints held */
  entries: number;
  names: number;
  ja4: number;
  truncated: boolean;
  hits: number;
  earlyFlushes: number;
  /** hits that found the rate limit exhausted (their packets ship with a later dump) */
  limited: number;
  /** hits of an address that triggered a flush within peerQuietMs */
  quiet: number;
}

const RECENT = 64;

export class WatchlistTrigger {
  private matcher = new PrefixMatcher(4);
  private names: ReadonlySet<string> = new Set();
  private ja4: ReadonlySet<string> = new Set();
  /** the entry hash matchesMeta() found (null: the hit was an address) */
  private metaKey: string | null = null;
  /** recently flushed names / fingerprints: entry hash -> time (bounded) */
  private readonly recentMeta = new Map<string, number>();
  private readonly s: WatchlistTriggerStats = { version: null, entries: 0, names: 0, ja4: 0, truncated: false, hits: 0, earlyFlushes: 0, limited: 0, quiet: 0 };
  /** the address matches() found (copied: the record is reused) */
  private readonly hitAddr = new Uint8Array(16);
  private hitVersion = 0;
  /** recently flushed addresses: 16 bytes + version + time each, replaced oldest first */
  private readonly recentAddr = new Uint8Array(RECENT * 16);
  private readonly recentVersion = new Uint8Array(RECENT);
  private readonly recentMs = new Float64Array(RECENT).fill(-Infinity);
  private readonly peerQuietMs: number;
  private lastFlushMs = -Infinity;
  private minuteStartMs = 0;
  private minuteCount = 0;
  private deferred: NodeJS.Timeout | null = null;
  private readonly minIntervalMs: number;
  private readonly maxPerMinute: number;
  private readonly now: () => number;

  constructor(private readonly o: WatchlistTriggerOptions) {
    this.minIntervalMs = o.minIntervalMs ?? 1000;
    this.maxPerMinute = o.maxPerMinute ?? 60;
    this.peerQuietMs = o.peerQuietMs ?? 300_000;
    this.now = o.now ?? Date.now;
  }

  /** A watchlist message from the collector. Returns false (and keeps the old list) when it does not decode. */
  update(p: WatchlistPayload): boolean {
    if (p.version === this.s.version) return true;
    let m: PrefixMatcher;
    let named: { names: Set<string>; ja4: Set<string> };
    try {
      m = PrefixMatcher.from(decodeWatchlist(p));
      named = decodeNameHashes(p);
    } catch (e) {
      this.o.log?.warn({ err: (e as Error).message }, 'watchlist from the collector not understood; keeping the previous one');
      return false;
    }
    this.matcher = m;
    this.names = named.names;
    this.ja4 = named.ja4;
    this.s.version = p.version;
    this.s.entries = m.size + named.names.size + named.ja4.size;
    this.s.names = named.names.size;
    this.s.ja4 = named.ja4.size;
    this.s.truncated = p.truncated === true;
    // an empty list removes the hook: the pipeline is back to one null check per packet
    this.o.install(this.s.entries > 0 ? this : null);
    this.o.log?.info({ version: p.version, prefixes: m.size, names: named.names.size, ja4: named.ja4.size, truncated: this.s.truncated }, 'watchlist installed');
    return true;
  }

  /** Per packet (after anonymization): is a clear address on the list? */
  matches(d: PacketRecord): boolean {
    const v = d.ipVersion;
    if (v !== 4 && v !== 6) return false;
    const f = d.flags;
    let a: Uint8Array | null = null;
    if ((f & RecordFlag.DstAnon) === 0 && this.matcher.matches(v, d.dst)) a = d.dst;
    else if ((f & RecordFlag.SrcAnon) === 0 && this.matcher.matches(v, d.src)) a = d.src;
    if (a === null) return false;
    this.hitAddr.set(a);
    this.hitVersion = v;
    this.metaKey = null;
    return true;
  }

  /** A metadata record of the packet (names as shipped): does it name a listed domain or carry a listed fingerprint? */
  matchesMeta(m: AppMeta): boolean {
    let key: string | null = null;
    switch (m.kind) {
      case 'dns':
        key = this.name(m.query);
        for (let i = 0; key === null && i < m.answers.length; i++) key = this.name(m.answers[i]!.name ?? null);
        break;
      case 'tls-client':
        key = this.name(m.serverName) ?? this.fingerprint(m.ja4);
        break;
      case 'tls-server':
        key = this.fingerprint(m.ja4s);
        break;
      case 'http':
        key = this.name(m.host);
        break;
    }
    if (key === null) return false;
    this.metaKey = key;
    return true;
  }

  private name(n: MetaName | null): string | null {
    if (n === null || n.pseudonym || this.names.size === 0) return null;
    return matchNameHash(n.name, this.names);
  }

  private fingerprint(fp: string): string | null {
    if (this.ja4.size === 0 || fp === '') return null;
    const h = entryHash(fp);
    return this.ja4.has(h) ? h : null;
  }

  /** Index of the matched address in the recent table, or -1. */
  private recentIndex(): number {
    const r = this.recentAddr;
    const h = this.hitAddr;
    const n = this.hitVersion === 4 ? 4 : 16;
    for (let i = 0; i < RECENT; i++) {
      if (this.recentVersion[i] !== this.hitVersion) continue;
      let same = true;
      for (let j = 0; j < n; j++) if (r[i * 16 + j] !== h[j]) { same = false; break; }
      if (same) return i;
    }
    return -1;
  }

  private remember(now: number): void {
    let slot = this.recentIndex();
    if (slot < 0) {
      slot = 0;
      for (let i = 1; i < RECENT; i++) if (this.recentMs[i]! < this.recentMs[slot]!) slot = i;
    }
    this.recentAddr.set(this.hitAddr, slot * 16);
    this.recentVersion[slot] = this.hitVersion;
    this.recentMs[slot] = now;
  }

  /** Remembers the matched name / fingerprint (bounded: the oldest is forgotten). */
  private rememberMeta(key: string, now: number): void {
    this.recentMeta.delete(key);
    if (this.recentMeta.size >= RECENT) this.recentMeta.delete(this.recentMeta.keys().next().value as string);
    this.recentMeta.set(key, now);
  }

  /** A matching packet was added to the open dump: emit it now, within the rate limit. */
  hit(): void {
    this.s.hits++;
    const now = this.now();
    const key = this.metaKey;
    const last = key !== null ? this.recentMeta.get(key) : undefined;
    const seen = key === null ? this.recentIndex() : -1;
    if ((key !== null && last !== undefined && now - last < this.peerQuietMs) || (seen >= 0 && now - this.recentMs[seen]! < this.peerQuietMs)) {
      this.s.quiet++;
      return;
    }
    const remember = (): void => { if (key !== null) this.rememberMeta(key, now); else this.remember(now); };
    if (this.deferred !== null) { remember(); return; } // a flush is already on its way
    if (now - this.minuteStartMs >= 60_000) { this.minuteStartMs = now; this.minuteCount = 0; }
    if (this.minuteCount >= this.maxPerMinute) { this.s.limited++; return; }
    remember();
    const wait = this.lastFlushMs + this.minIntervalMs - now;
    if (wait <= 0) {
      this.flushNow(now);
      return;
    }
    this.deferred = setTimeout(() => { this.deferred = null; this.flushNow(this.now()); }, wait);
    this.deferred.unref();
  }

  private flushNow(now: number): void {
    this.lastFlushMs = now;
    this.minuteCount++;
    this.s.earlyFlushes++;
    try {
      this.o.flush();
    } catch (e) {
      this.o.log?.error({ err: (e as Error).message }, 'early dump flush failed');
    }
  }

  stats(): WatchlistTriggerStats {
    return { ...this.s };
  }

  stop(): void {
    if (this.deferred !== null) clearTimeout(this.deferred);
    this.deferred = null;
  }
}
