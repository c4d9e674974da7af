// The collector's threat-intel watchlist, built from the same feeds as the threat-intel
// analyzer (every enabled "threat-intel" of the analyzer plan, config.feeds): one prefix matcher
// per feed for the per-packet check (packet-threat-tap.ts), its domains and JA4/JA4S
// fingerprints for the per-record metadata check (meta-threat-tap.ts), and the compact message pushed to
// every agent (agent/watchlist/watchlist-codec.ts) on connect and whenever a feed file changes
// (checked every pollMs by mtime/size/inode). A feed that fails to reload keeps its old list;
// status() says per feed what is loaded, since when, and the last reload error (API/console).
import { readFileSync } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';
import type { Logger } from '../../shared/log.js';
import type { CollectorMessage } from '../../shared/protocol/agent-protocol.js';
import { parseFeed, type FeedSpec } from '../analyze/threat-intel/feed-formats.js';
import { stampOf } from '../analyze/threat-intel/threat-feed.js';
import { threatIntelConfigSchema } from '../analyze/threat-intel/threat-intel-analyzer.js';
import type { PlannedAnalyzer } from '../analyze/analysis-config.js';
import type { Severity, SuggestedResponse } from '../../shared/alerts/alert-record.js';
import { PrefixMatcher, type PrefixEntry } from '../../shared/watchlist/prefix-matcher.js';
import { encodeWatchlist, MAX_WATCHLIST_BYTES, type WatchlistPayload } from '../../shared/watchlist/watchlist-codec.js';

export interface WatchFeed {
  name: string;
  path: string;
  spec: FeedSpec;
  severity: Severity;
  response: 'capture-peer' | 'block-peer' | 'none';
  durationSec: number;
  matcher: PrefixMatcher;
  entries: PrefixEntry[];
  /** listed domain -> label */
  domains: Map<string, string>;
  /** listed JA4 / JA4S -> label */
  ja4: Map<string, string>;
  stamp: string;
  /** µs since the epoch of the last successful load (0: never loaded) */
  loadedUs: number;
  /** the last reload's error, cleared by a successful load */
  lastError: { message: string; atUs: number } | null;
}

/** One feed as the API shows it (no host path: the file's base name only). */
export interface FeedStatus {
  name: string;
  file: string;
  format: FeedSpec['format'];
  kind: NonNullable<FeedSpec['kind']>;
  severity: Severity;
  response: WatchFeed['response'];
  counts: { prefixes: number; domains: number; ja4: number };
  stamp: string;
  loadedAt: string | null;
  loadedUs: number | null;
  lastError: { message: string; at: string } | null;
}

/** The file's configuration as the constructor takes it (the loaded state is the watchlist's). */
export type WatchFeedConfig = Omit<WatchFeed, 'matcher' | 'entries' | 'domains' | 'ja4' | 'stamp' | 'loadedUs' | 'lastError'>;

const nowUs = (): number => Date.now() * 1000;
const isoOfUs = (us: number): string => new Date(Math.floor(us / 1000)).toISOString();

/** What the agent server needs to push the watchlist (CollectorServerOptions.watchlist). */
export interface WatchlistSource {
  current(): CollectorMessage | null;
  subscribe(fn: () => void): () => void;
}

function loadEntries(path: string, spec: FeedSpec): { prefixes: PrefixEntry[]; domains: Map<string, string>; ja4: Map<string, string> } {
  const out: PrefixEntry[] = [];
  const domains = new Map<string, string>();
  const ja4 = new Map<string, string>();
  parseFeed(readFileSync(path, 'utf8'), spec, {
    cidr: (version, words, prefixLen) => {
      const bytes = new Uint8Array(16);
      const n = version === 4 ? 1 : 4;
      for (let i = 0; i < n; i++) {
        const w = words[i]!;
        bytes[4 * i] = w >>> 24; bytes[4 * i + 1] = (w >>> 16) & 255; bytes[4 * i + 2] = (w >>> 8) & 255; bytes[4 * i + 3] = w & 255;
      }
      out.push({ version, bytes, prefixLen });
    },
    domain: (name, label) => { if (!domains.has(name)) domains.set(name, label); },
    ja4: (fp, label) => { if (!ja4.has(fp)) ja4.set(fp, label); },
  });
  return { prefixes: out, domains, ja4 };
}

export class ThreatWatchlist implements WatchlistSource {
  readonly feeds: WatchFeed[] = [];
  private payload: WatchlistPayload | null = null;
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;

  constructor(feeds: WatchFeedConfig[], private readonly log?: Logger, private readonly maxBytes = MAX_WATCHLIST_BYTES, private readonly clockUs: () => number = nowUs) {
    for (const f of feeds) {
      const wf: WatchFeed = { ...f, matcher: new PrefixMatcher(4), entries: [], domains: new Map(), ja4: new Map(), stamp: '', loadedUs: 0, lastError: null };
      this.feeds.push(wf);
      this.reload(wf);
    }
    this.rebuild();
  }

  /** The feeds of every enabled threat-intel analyzer of a plan (paths resolved as the analyzer resolves them). */
  static fromPlan(plan: readonly PlannedAnalyzer[], baseDir: string, log?: Logger): ThreatWatchlist {
    const feeds: WatchFeedConfig[] = [];
    for (const e of plan) {
      if (e.kind !== 'builtin' || e.builtin !== 'threat-intel' || !e.enabled) continue;
      const r = threatIntelConfigSchema.safeParse(e.config ?? {});
      if (!r.success) continue; // the analyzer reports its own config problem
      for (const f of r.data.feeds) {
        feeds.push({
          name: f.name ?? basename(f.path),
          path: isAbsolute(f.path) ? f.path : resolve(baseDir, f.path),
          spec: {
            format: f.format, kind: f.kind,
            ...(f.column !== undefined ? { column: f.column } : {}),
            ...(f.labelColumn !== undefined ? { labelColumn: f.labelColumn } : {}),
            ...(f.delimiter !== undefined ? { delimiter: f.delimiter } : {}),
          },
          severity: f.severity, response: f.response, durationSec: f.responseDurationSec,
        });
      }
    }
    return new ThreatWatchlist(feeds, log);
  }

  private reload(f: WatchFeed): boolean {
    const stamp = stampOf(f.path);
    if (stamp === f.stamp) return false;
    f.stamp = stamp;
    try {
      const loaded = loadEntries(f.path, f.spec);
      f.entries = loaded.prefixes;
      f.domains = loaded.domains;
      f.ja4 = loaded.ja4;
      f.matcher = PrefixMatcher.from(loaded.prefixes);
      f.loadedUs = this.clockUs();
      f.lastError = null;
      return true;
    } catch (e) {
      // node's messages name the full path: the status shows the file's base name only
      f.lastError = { message: (e as Error).message.split(f.path).join(basename(f.path)), atUs: this.clockUs() };
      this.log?.warn({ feed: f.name, err: (e as Error).message }, 'watchlist: feed unreadable; keeping its previous entries');
      return false;
    }
  }

  private rebuild(): void {
    const all: PrefixEntry[] = [];
    const domains: string[] = [];
    const ja4: string[] = [];
    for (const f of this.feeds) {
      for (const e of f.entries) all.push(e);
      for (const d of f.domains.keys()) domains.push(d);
      for (const j of f.ja4.keys()) ja4.push(j);
    }
    const p = all.length + domains.length + ja4.length > 0 ? encodeWatchlist(all, this.maxBytes, { domains, ja4 }) : null;
    if (p?.truncated) this.log?.warn({ entries: all.length + domains.length + ja4.length, maxBytes: this.maxBytes }, 'watchlist too large for one message: agents get part of it (the rest alerts at the normal dump cadence)');
    const changed = (p?.version ?? null) !== (this.payload?.version ?? null);
    this.payload = p;
    if (changed) {
      this.log?.info({ version: p?.version ?? null, prefixes: all.length, domains: domains.length, ja4: ja4.length }, 'watchlist changed');
      for (const fn of this.listeners) fn();
    }
  }

  /** Re-reads changed feed files; listeners hear about a changed list. */
  check(): void {
    let any = false;
    for (const f of this.feeds) if (this.reload(f)) any = true;
    if (any) this.rebuild();
  }

  start(pollMs = 2000): this {
    if (this.timer === null && this.feeds.length > 0) {
      this.timer = setInterval(() => this.check(), pollMs);
      this.timer.unref();
    }
    return this;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Each feed's file, counts, last load and last error (pure: reads nothing from disk). */
  status(): FeedStatus[] {
    return this.feeds.map((f) => ({
      name: f.name,
      file: basename(f.path),
      format: f.spec.format,
      kind: f.spec.kind ?? 'auto',
      severity: f.severity,
      response: f.response,
      counts: { prefixes: f.entries.length, domains: f.domains.size, ja4: f.ja4.size },
      stamp: f.stamp,
      loadedAt: f.loadedUs > 0 ? isoOfUs(f.loadedUs) : null,
      loadedUs: f.loadedUs > 0 ? f.loadedUs : null,
      lastError: f.lastError ? { message: f.lastError.message, at: isoOfUs(f.lastError.atUs) } : null,
    }));
  }

  current(): CollectorMessage | null {
    // an empty list is sent too, so an agent drops a list that was emptied
    const p = this.payload ?? { version: 'empty', v4: '', v6: '' };
    return { type: 'watchlist', ...p };
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The suggested response of a feed, as the threat-intel analyzer would suggest it. */
  static suggestion(f: WatchFeed, peer: string, port: number): SuggestedResponse | undefined {
    if (f.response === 'none') return undefined;
    const r: SuggestedResponse = { action: f.response, peer, reason: `listed on ${f.name}` };
    if (f.response === 'capture-peer') { r.durationSec = f.durationSec; r.port = port; }
    return r;
  }
}
