// The collector's per-packet threat-intel check (DumpIngest's onPacket tap): a packet whose
// clear (not pseudonymized) address is on a watchlist feed raises the threat-intel alert at
// once, instead of when the flow's first record is emitted (at close or timeout). Same
// aggregation key as the flow-level alert of the threat-intel analyzer (agent + host (the
// packet's other, unlisted end) + 'threat-intel' + 'ip:<feed>' + peer), so both land in one alert row. One packet-level occurrence per key per
// repeatSec of packet time, so a long transfer does not inflate the count.
import { formatIp } from '../../shared/net/ip-address.js';
import { RecordFlag, type PacketRecord } from '../../shared/packet/packet-record.js';
import type { EmittedAlert } from '../../shared/alerts/alert-record.js';
import { ThreatWatchlist, type WatchFeed } from './threat-watchlist.js';
import { ipProtocolName } from '../../shared/packet/packet-names.js';


export class PacketThreatTap {
  private readonly lastUs = new Map<string, number>();
  private pendingHits = 0;
  /** packet-level alerts emitted */
  alerts = 0;

  constructor(private readonly watchlist: ThreatWatchlist, private readonly sink: (a: EmittedAlert) => void, private readonly repeatSec = 600) {}

  /** Per packet record; cheap when nothing matches (two trie walks per feed). */
  readonly tap = (rec: PacketRecord, agentId: string): void => {
    const v = rec.ipVersion;
    if (v !== 4 && v !== 6) return;
    const feeds = this.watchlist.feeds;
    for (let i = 0; i < feeds.length; i++) {
      const f = feeds[i]!;
      if ((rec.flags & RecordFlag.DstAnon) === 0 && f.matcher.matches(v, rec.dst)) this.hit(f, rec, agentId, true);
      if ((rec.flags & RecordFlag.SrcAnon) === 0 && f.matcher.matches(v, rec.src)) this.hit(f, rec, agentId, false);
    }
  };

  /** Hits since the last call (the caller flushes alerts at once when > 0). */
  takeHits(): number {
    const n = this.pendingHits;
    this.pendingHits = 0;
    return n;
  }

  private hit(f: WatchFeed, rec: PacketRecord, agentId: string, listedIsDst: boolean): void {
    const peer = formatIp(rec.ipVersion, listedIsDst ? rec.dst : rec.src);
    const key = `${agentId}|${f.name}|${peer}`;
    const last = this.lastUs.get(key);
    if (last !== undefined && rec.tsUs - last < this.repeatSec * 1e6 && rec.tsUs >= last) return;
    if (this.lastUs.size > 100_000) this.lastUs.clear(); // bounded; forgetting only allows one more alert
    this.lastUs.set(key, rec.tsUs);
    this.pendingHits++;
    this.alerts++;
    const src = formatIp(rec.ipVersion, rec.src);
    const dst = formatIp(rec.ipVersion, rec.dst);
    const proto = ipProtocolName(rec.proto) ?? String(rec.proto);
    const port = listedIsDst ? rec.dport : rec.sport;
    const suggestedResponse = ThreatWatchlist.suggestion(f, peer, port);
    this.sink({
      analyzer: 'threat-intel',
      severity: f.severity,
      category: 'threat-intel',
      rule: `ip:${f.name}`,
      agentId,
      // the other end of the packet: the flow-level alert's local host, so both keep one row
      host: listedIsDst ? src : dst,
      peer,
      summary: `${proto} ${src}:${rec.sport} -> ${dst}:${rec.dport}: ${peer} is on ${f.name} (seen on a packet; the flow follows)`,
      evidence: { feed: f.name, stage: 'packet', proto, src, srcPort: rec.sport, dst, dstPort: rec.dport, direction: rec.direction },
      ...(suggestedResponse ? { suggestedResponse } : {}),
      tsUs: rec.tsUs,
    });
  }
}
