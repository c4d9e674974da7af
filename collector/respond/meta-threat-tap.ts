// The collector's per-record threat-intel check of metadata (DumpIngest's onMeta tap): a DNS
// question or answer target, TLS server name or HTTP Host on a watchlist domain feed (the name
// or a parent listed), or a JA4 / JA4S on a fingerprint feed, raises the threat-intel alert as
// soon as the dump carrying it is stored, instead of when the DNS transaction or TLS handshake
// completes (an answer may come with the next dump). The agents ship such a dump at once
// (agent/watchlist), so the alert follows the packet within seconds. Same aggregation key as
// the analyzer's alert (name-hits.ts). Pseudonymized names are never looked up: internal names
// are pseudonymized on the agent, and a token is no name. One alert per key per repeatSec of
// packet time.
import type { AppMeta, MetaName } from '../../shared/appmeta/meta-record.js';
import type { EmittedAlert } from '../../shared/alerts/alert-record.js';
import type { PacketRecord } from '../../shared/packet/packet-record.js';
import { formatIp } from '../../shared/net/ip-address.js';
import { matchDomainIn } from '../analyze/threat-intel/threat-feed.js';
import { domainHitAlert, ja4HitAlert } from '../analyze/threat-intel/name-hits.js';
import type { ThreatWatchlist, WatchFeed } from './threat-watchlist.js';

export class MetaThreatTap {
  private readonly lastUs = new Map<string, number>();
  private pendingHits = 0;
  /** alerts emitted */
  alerts = 0;

  constructor(private readonly watchlist: ThreatWatchlist, private readonly sink: (a: EmittedAlert) => void, private readonly repeatSec = 600) {}

  /** Per metadata record, with the packet it came from. */
  readonly tap = (m: AppMeta, rec: PacketRecord, agentId: string): void => {
    const feeds = this.watchlist.feeds;
    for (let i = 0; i < feeds.length; i++) {
      const f = feeds[i]!;
      if (f.domains.size === 0 && f.ja4.size === 0) continue;
      switch (m.kind) {
        case 'dns':
          this.name(f, m.query, m.response ? 'DNS answer to' : 'DNS query', rec, agentId);
          for (const a of m.answers) if (a.name !== undefined) this.name(f, a.name, 'DNS answer target', rec, agentId);
          break;
        case 'tls-client':
          this.name(f, m.serverName, m.transport === 'quic' ? 'QUIC server name' : 'TLS server name', rec, agentId);
          this.fingerprint(f, m.ja4, 'client', rec, agentId);
          break;
        case 'tls-server':
          this.fingerprint(f, m.ja4s, 'server', rec, agentId);
          break;
        case 'http':
          this.name(f, m.host, 'HTTP Host', rec, agentId);
          break;
      }
    }
  };

  /** Hits since the last call (the caller writes alerts at once when > 0). */
  takeHits(): number {
    const n = this.pendingHits;
    this.pendingHits = 0;
    return n;
  }

  private fresh(key: string, tsUs: number): boolean {
    const last = this.lastUs.get(key);
    if (last !== undefined && tsUs - last < this.repeatSec * 1e6 && tsUs >= last) return false;
    if (this.lastUs.size > 100_000) this.lastUs.clear(); // bounded; forgetting only allows one more alert
    this.lastUs.set(key, tsUs);
    this.pendingHits++;
    this.alerts++;
    return true;
  }

  private name(f: WatchFeed, n: MetaName | null, source: string, rec: PacketRecord, agentId: string): void {
    if (n === null || n.pseudonym) return;
    const m = matchDomainIn(f.domains, n.name);
    if (m === null || !this.fresh(`${agentId}|${f.name}|d|${m.entry}`, rec.tsUs)) return;
    this.sink({
      analyzer: 'threat-intel',
      ...domainHitAlert({
        feed: f.name, severity: f.severity, entry: m.entry, label: m.id, name: n.name, agentId, tsUs: rec.tsUs, source, stage: 'metadata',
        client: formatIp(rec.ipVersion, rec.src), server: formatIp(rec.ipVersion, rec.dst),
      }),
    });
  }

  private fingerprint(f: WatchFeed, fp: string, side: 'client' | 'server', rec: PacketRecord, agentId: string): void {
    const label = f.ja4.get(fp);
    if (label === undefined || !this.fresh(`${agentId}|${f.name}|j|${fp}`, rec.tsUs)) return;
    const src = formatIp(rec.ipVersion, rec.src);
    const dst = formatIp(rec.ipVersion, rec.dst);
    this.sink({
      analyzer: 'threat-intel',
      ...ja4HitAlert({
        feed: f.name, severity: f.severity, fingerprint: fp, side, label, agentId, tsUs: rec.tsUs,
        client: side === 'client' ? src : dst, server: side === 'client' ? dst : src, serverName: null,
      }),
    });
  }
}
