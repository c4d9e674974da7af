// One threat-intelligence feed file: loaded into prefix tries (IPv4, IPv6), a domain table
// and a JA4/JA4S table, and reloaded when the file changes, without a restart. Change detection is
// twofold: fs.watch on the file's folder (editors and feed updaters replace files by
// rename, which a watch on the file itself would lose) schedules a reload shortly after
// the event, and check() compares mtime/size/inode (called on packet-time ticks) for
// file systems where watch events do not arrive. A reload that fails keeps the old data.
import { readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '../../../shared/log.js';
import { formatIpv6 } from '../../../shared/net/ip-address.js';
import { parseAddressWords } from '../address-words.js';
import { PrefixTrie } from '../prefix-trie.js';
import { parseFeed, type FeedParseStats, type FeedSpec } from './feed-formats.js';

/** The loaded contents of a feed (swapped as a whole on reload). */
export class FeedData {
  readonly v4 = new PrefixTrie(32, 1024);
  readonly v6 = new PrefixTrie(128, 64);
  /** domain -> label id */
  readonly domains = new Map<string, number>();
  /** JA4 / JA4S fingerprint -> label id */
  readonly ja4 = new Map<string, number>();
  /** interned labels; id 0 is "no label" */
  readonly labels: string[] = [''];
  private readonly labelIds = new Map<string, number>([['', 0]]);
  stats: FeedParseStats = { lines: 0, ips: 0, domains: 0, ja4: 0, invalid: 0, invalidSamples: [] };

  labelId(label: string): number {
    let id = this.labelIds.get(label);
    if (id === undefined) {
      id = this.labels.length;
      this.labels.push(label);
      this.labelIds.set(label, id);
    }
    return id;
  }

  static fromText(text: string, spec: FeedSpec): FeedData {
    const d = new FeedData();
    d.stats = parseFeed(text, spec, {
      cidr: (version, words, len, label) => {
        (version === 4 ? d.v4 : d.v6).insert(words, len, d.labelId(label));
      },
      domain: (name, label) => {
        if (!d.domains.has(name)) d.domains.set(name, d.labelId(label));
      },
      ja4: (fp, label) => {
        if (!d.ja4.has(fp)) d.ja4.set(fp, d.labelId(label));
      },
    });
    // the lookup index is part of loading, not of the first flow's lookup
    d.v4.prepare();
    d.v6.prepare();
    return d;
  }

  get size(): number {
    return this.v4.size + this.v6.size + this.domains.size + this.ja4.size;
  }
}

export interface FeedMatch {
  /** the matching entry: CIDR text, or the listed domain */
  entry: string;
  label: string;
}

/** What changes when a feed file is replaced or rewritten (mtime, size, inode); 'missing' when absent. */
export function stampOf(path: string): string {
  try {
    const s = statSync(path);
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  } catch {
    return 'missing';
  }
}

export interface ThreatFeedOptions extends FeedSpec {
  name: string;
  path: string;
  /** watch the file (default true) */
  watch?: boolean;
  /** delay between a watch event and the reload, ms (default 200: let the writer finish) */
  debounceMs?: number;
  log?: Logger;
}

export class ThreatFeed {
  readonly name: string;
  readonly path: string;
  data = new FeedData();
  /** 1 after the first load, +1 per reload */
  version = 0;
  lastError: string | null = null;
  private stamp = '';
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly words = new Uint32Array(4);

  constructor(private readonly opts: ThreatFeedOptions) {
    this.name = opts.name;
    this.path = opts.path;
  }

  /** Loads the file (throws on the first load when it cannot be read: a config error). */
  start(): void {
    this.reload(true);
    if (this.opts.watch !== false) this.startWatch();
  }

  private startWatch(): void {
    const file = basename(this.path);
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, name) => {
        if (name !== null && String(name) !== file) return;
        if (this.timer !== null) clearTimeout(this.timer);
        this.timer = setTimeout(() => {
          this.timer = null;
          this.check();
        }, this.opts.debounceMs ?? 200);
        this.timer.unref();
      });
      this.watcher.on('error', (e) => {
        this.opts.log?.warn({ feed: this.name, err: String(e) }, 'feed watch failed; relying on tick checks');
        this.watcher?.close();
        this.watcher = null;
      });
    } catch (e) {
      this.opts.log?.warn({ feed: this.name, err: String(e) }, 'cannot watch feed folder; relying on tick checks');
    }
  }

  /** Reloads when the file changed since the last load; true when it did reload. */
  check(): boolean {
    if (stampOf(this.path) === this.stamp) return false;
    return this.reload(false);
  }

  /** Reads and parses the file now. */
  reload(first: boolean): boolean {
    const stamp = stampOf(this.path);
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      const msg = `cannot read feed ${this.name} at ${this.path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
      this.stamp = stamp;
      this.lastError = msg;
      if (first) throw new Error(msg);
      this.opts.log?.warn({ feed: this.name }, `${msg}; keeping the previous contents`);
      return false;
    }
    const data = FeedData.fromText(text, this.opts);
    this.data = data;
    this.stamp = stamp;
    this.version++;
    this.lastError = null;
    const st = data.stats;
    this.opts.log?.info({ feed: this.name, version: this.version, ips: st.ips, domains: st.domains, ja4: st.ja4, invalid: st.invalid,
      ...(st.invalid > 0 ? { invalidSamples: st.invalidSamples } : {}) }, first ? 'feed loaded' : 'feed reloaded');
    return true;
  }

  /** Looks up address words already parsed (version 4/6); label id or -1. */
  lookupWords(version: 4 | 6, words: Uint32Array): number {
    return version === 4 ? this.data.v4.lookup(words) : this.data.v6.lookup(words);
  }

  /** The matching entry for an address (for evidence; allocates). */
  describeIp(addr: string): FeedMatch | null {
    const v = parseAddressWords(addr, this.words);
    if (v === 0) return null;
    const trie = v === 4 ? this.data.v4 : this.data.v6;
    const id = trie.lookup(this.words);
    if (id < 0) return null;
    const len = trie.matchLength(this.words);
    return { entry: len === trie.bits ? addr : maskedCidr(addr, v, len), label: this.data.labels[id] ?? '' };
  }

  /** The listed domain covering name (itself or a parent), or null. */
  matchDomain(name: string): FeedMatch | null {
    const m = matchDomainIn(this.data.domains, name);
    return m === null ? null : { entry: m.entry, label: this.data.labels[m.id] ?? '' };
  }

  /** The listed JA4 / JA4S fingerprint, or null. */
  matchJa4(fp: string): FeedMatch | null {
    const id = this.data.ja4.get(fp);
    return id === undefined ? null : { entry: fp, label: this.data.labels[id] ?? '' };
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

/** The entry of a domain table covering name (itself or a parent, case-insensitive), or null. */
export function matchDomainIn<V>(d: ReadonlyMap<string, V>, name: string): { entry: string; id: V } | null {
  if (d.size === 0) return null;
  let n = name.endsWith('.') ? name.slice(0, -1).toLowerCase() : name.toLowerCase();
  for (;;) {
    const id = d.get(n);
    if (id !== undefined) return { entry: n, id };
    const dot = n.indexOf('.');
    if (dot < 0) return null;
    n = n.slice(dot + 1);
  }
}

/** "10.1.2.3", 4, 16 -> "10.1.0.0/16" */
function maskedCidr(addr: string, version: 4 | 6, len: number): string {
  const w = new Uint32Array(4);
  parseAddressWords(addr, w);
  for (let i = 0; i < 4; i++) {
    const bits = len - i * 32;
    const mask = bits >= 32 ? 0xffffffff : bits <= 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    w[i] = (w[i]! & mask) >>> 0;
  }
  if (version === 4) return `${w[0]! >>> 24}.${(w[0]! >>> 16) & 255}.${(w[0]! >>> 8) & 255}.${w[0]! & 255}/${len}`;
  const b = new Uint8Array(16);
  for (let i = 0; i < 4; i++) {
    b[4 * i] = w[i]! >>> 24; b[4 * i + 1] = (w[i]! >>> 16) & 255; b[4 * i + 2] = (w[i]! >>> 8) & 255; b[4 * i + 3] = w[i]! & 255;
  }
  return `${formatIpv6(b)}/${len}`;
}
