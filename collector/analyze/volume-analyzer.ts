// Built-in analyzer "volume": exfiltration and volume anomalies, per host. A host is the
// local side of a flow, so an agent is one host and an imported capture of a network has
// many, each judged on its own. Two kinds of rule:
//
// Absolute (`peer-upload`): bytes one host sent to one external peer, over connections
// the host opened, within an hour: the open bucket and the closed ones before it
// (absoluteWindowSec / bucketSec of them). Counted in the bucket's per-peer sums (no state
// per peer beyond them); a closed bucket's peers with at least a 64th of the limit are
// kept for the rest of the window. An upload of `absoluteBytes` (25 MB) or more that
// went mostly one way (pcr >= `absolutePcrMin`, so a video call, which is symmetric, does
// not count) alerts at once, from the host's first minute on: no baseline is needed. A
// peer that crossed the limit stays known for `knownPeerHours`: the same host's next
// crossings for it (a camera's stream, a nightly backup) are not reported again.
//
// Baseline, per time bucket (packet time, default 10 min), the bytes the host sent to /
// received from external addresses. When a bucket closes:
//   outbound bytes: log(1 + bytes) against an EWMA mean and EWMA mean absolute deviation
//     of the host's earlier active buckets; an alert when it is `threshold` deviations
//     above and at least minBytes;
//   producer/consumer ratio (sent - received) / (sent + received): an alert when the host
//     turned producer (pcr >= pcrMin) well above its usual pcr, with at least minBytes out.
// Log scale, because traffic volumes are heavy-tailed. Only buckets with external
// traffic update the baseline (idle nights do not drag it to zero), and an anomalous
// bucket enters the baseline clipped to the alert level, so a long exfiltration does
// not become normal within a few buckets. The baseline needs `warmupBuckets` (12) active
// buckets before it may alert. A bucket whose bytes went mostly to peers the absolute rule
// has just reported raises no second alert for the same upload.
import { z } from 'zod';
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import type { Analyzer, AnalyzerContext } from './analyzer.js';
import { PrefixSet } from './address-scope.js';
import { EwmaBaseline } from './robust-stats.js';

export const volumeConfigSchema = z.object({
  bucketSec: z.number().positive().default(600),
  /** EWMA weight of a new bucket (default 0.05: half-life ~14 buckets) */
  alpha: z.number().min(0.001).max(1).default(0.05),
  /** deviations above the mean (log scale) for an outbound-bytes alert (default 4) */
  threshold: z.number().positive().default(4),
  /** smallest deviation used (log scale, default 0.5 ≈ a factor 1.65) */
  devFloor: z.number().positive().default(0.5),
  /** outbound bytes a bucket needs before it can alert (default 20 MB) */
  minBytes: z.number().min(0).default(20_000_000),
  /** active buckets before a host's baseline is trusted (default 12) */
  warmupBuckets: z.number().int().min(1).default(12),
  /** pcr at or above which a bucket is a "producer" bucket (default 0.6) */
  pcrMin: z.number().min(-1).max(1).default(0.6),
  /** how far above the usual pcr (default 0.8) */
  pcrJump: z.number().positive().default(0.8),
  /** bytes one host sends to one external peer within absoluteWindowSec that alert without a baseline (default 25 MB; 0 turns the rule off) */
  absoluteBytes: z.number().min(0).default(25_000_000),
  /** the window of the absolute rule, in whole buckets (default 3600 s: the open bucket and the five before it) */
  absoluteWindowSec: z.number().positive().default(3600),
  /** the transfer must go mostly one way: pcr of the host's bytes with the peer in the window (default 0.5: 3x more out than in) */
  absolutePcrMin: z.number().min(-1).max(1).default(0.5),
  /**
   * hours a peer stays known after it crossed the absolute limit (default 168): a host's steady or
   * daily bulk transfer to the same peer (a camera's stream, a nightly backup) is reported once,
   * not every hour or every night
   */
  knownPeerHours: z.number().min(0).default(168),
  /** peers never reported (CIDRs as stored: the backup service, the sync service); neither rule counts their bytes */
  ignorePeers: z.array(z.string()).default([]),
  /** count lateral (internal) traffic too (default false: external only) */
  includeLateral: z.boolean().default(false),
  /** hosts followed per agent (default 4096; an import of a large network has many) */
  maxHosts: z.number().int().min(1).default(4096),
}).strict();

type VolumeConfig = z.output<typeof volumeConfigSchema>;

class Bucket {
  index = -1;
  out = 0;
  in = 0;
  flows = 0;
  /** bytes out per peer, every direction (the baseline alerts' top peers) */
  readonly peers = new Map<string, number>();
  /** the absolute rule's counts: bytes out / in per peer over connections the host opened */
  readonly upOut = new Map<string, number>();
  readonly upIn = new Map<string, number>();
}

/** A heavy peer's bytes in the host's recent closed buckets (the absolute window's past part). */
class RecentPeer {
  readonly buckets: number[] = [];
  readonly out: number[] = [];
  readonly in: number[] = [];

  add(index: number, out: number, inb: number): void {
    this.buckets.push(index);
    this.out.push(out);
    this.in.push(inb);
  }

  /** Drops buckets before minIndex; true when none is left. */
  prune(minIndex: number): boolean {
    let k = 0;
    while (k < this.buckets.length && this.buckets[k]! < minIndex) k++;
    if (k > 0) { this.buckets.splice(0, k); this.out.splice(0, k); this.in.splice(0, k); }
    return this.buckets.length === 0;
  }

  sum(of: number[], minIndex: number): number {
    let t = 0;
    for (let i = 0; i < this.buckets.length; i++) if (this.buckets[i]! >= minIndex) t += of[i]!;
    return t;
  }
}

class HostVolume {
  readonly bucket = new Bucket();
  readonly bytes: EwmaBaseline;
  readonly pcr: EwmaBaseline;
  /** peers with at least a 64th of the limit in a recent closed bucket */
  readonly recent = new Map<string, RecentPeer>();
  /** peers reported (or found known) by the absolute rule -> end of their quiet window (µs) */
  readonly quietUntil = new Map<string, number>();
  /** peers that crossed the absolute limit -> when they last did (µs), oldest first */
  readonly known = new Map<string, number>();
  constructor(alpha: number) {
    this.bytes = new EwmaBaseline(alpha);
    this.pcr = new EwmaBaseline(alpha);
  }
}

const MAX_PEERS = 2048;
const MAX_KNOWN_PEERS = 256;

export class VolumeAnalyzer implements Analyzer<VolumeConfig> {
  name = 'volume';
  private cfg!: VolumeConfig;
  private bucketUs = 0;
  /** buckets the absolute window spans (the open one and the closed ones before it) */
  private windowBuckets = 6;
  private ignore: PrefixSet | null = null;
  /** agent -> host (local address) -> state */
  private readonly agents = new Map<string, Map<string, HostVolume>>();
  /** buckets evaluated (tests) */
  bucketsClosed = 0;
  /** absolute-limit crossings not reported because the peer was known (tests) */
  knownPeerRepeats = 0;

  readonly configSchema = volumeConfigSchema;

  /** config: validated by the host against configSchema */
  setup(config: VolumeConfig): void {
    this.cfg = config;
    this.bucketUs = config.bucketSec * 1e6;
    this.windowBuckets = Math.max(1, Math.round(config.absoluteWindowSec / config.bucketSec));
    if (config.ignorePeers.length > 0) this.ignore = new PrefixSet(config.ignorePeers);
  }

  onFlow(rec: FlowRecord, ctx: AnalyzerContext): void {
    const s = ctx.sides(rec);
    if (s.direction !== 'outbound' && s.direction !== 'inbound' && !(this.cfg.includeLateral && s.direction === 'lateral')) return;
    if (this.ignore !== null && this.ignore.has(s.remoteAddr)) return;
    let hosts = this.agents.get(rec.agent_id);
    if (hosts === undefined) {
      hosts = new Map();
      this.agents.set(rec.agent_id, hosts);
    }
    let h = hosts.get(s.localAddr);
    if (h === undefined) {
      if (hosts.size >= this.cfg.maxHosts) return;
      h = new HostVolume(this.cfg.alpha);
      hosts.set(s.localAddr, h);
    }
    const idx = Math.floor(rec.end / this.bucketUs);
    const b = h.bucket;
    if (b.index < 0) b.index = idx;
    else if (idx > b.index) {
      this.closeBucket(rec.agent_id, s.localAddr, h, ctx);
      b.index = idx;
    }
    // a late record (its flow ended in an earlier bucket) counts in the open bucket
    b.out += s.bytesOut;
    b.in += s.bytesIn;
    b.flows++;
    if (s.bytesOut > 0) {
      const p = b.peers.get(s.remoteAddr);
      if (p !== undefined) b.peers.set(s.remoteAddr, p + s.bytesOut);
      else if (b.peers.size < MAX_PEERS) b.peers.set(s.remoteAddr, s.bytesOut);
    }
    // the absolute rule counts the connections the host opened: an upload is made by the uploader
    // (a server's answers to clients that connect in are left to the baseline)
    if (this.cfg.absoluteBytes > 0 && s.localIsOrig) this.countUpload(rec, s.localAddr, s.remoteAddr, h, s.bytesOut, s.bytesIn, s.direction, ctx);
  }

  private countUpload(rec: FlowRecord, host: string, peer: string, h: HostVolume, out: number, inb: number, direction: string, ctx: AnalyzerContext): void {
    const b = h.bucket;
    let up = b.upOut.get(peer);
    if (up === undefined) {
      if (out === 0 || b.upOut.size >= MAX_PEERS) return;
      up = 0;
    }
    up += out;
    b.upOut.set(peer, up);
    if (inb > 0) b.upIn.set(peer, (b.upIn.get(peer) ?? 0) + inb);
    const past = h.recent.get(peer);
    const minIndex = b.index - this.windowBuckets + 1;
    const total = past === undefined ? up : up + past.sum(past.out, minIndex);
    if (total < this.cfg.absoluteBytes) return;
    if ((h.quietUntil.get(peer) ?? 0) > rec.end) return;
    const totalIn = (b.upIn.get(peer) ?? 0) + (past === undefined ? 0 : past.sum(past.in, minIndex));
    const pcr = (total - totalIn) / (total + totalIn);
    if (pcr < this.cfg.absolutePcrMin) return;
    h.quietUntil.set(peer, rec.end + this.cfg.absoluteWindowSec * 1e6);
    const knownSince = h.known.get(peer);
    h.known.delete(peer);
    h.known.set(peer, rec.end);
    if (h.known.size > MAX_KNOWN_PEERS) h.known.delete(h.known.keys().next().value!);
    if (knownSince !== undefined && rec.end - knownSince <= this.cfg.knownPeerHours * 3600e6) {
      this.knownPeerRepeats++;
      return;
    }
    const windowStartUs = Math.max(0, minIndex) * this.bucketUs;
    ctx.emit({
      severity: total >= this.cfg.absoluteBytes * 4 ? 'high' : 'medium',
      category: 'volume',
      rule: 'peer-upload',
      agentId: rec.agent_id,
      host,
      flowUid: rec.uid,
      communityId: rec.community_id,
      peer,
      summary: `${host} sent ${fmtBytes(total)} to ${peer} within ${fmtSec(this.windowBuckets * this.cfg.bucketSec)} ` +
        `(received ${fmtBytes(totalIn)}; limit ${fmtBytes(this.cfg.absoluteBytes)})`,
      evidence: {
        direction, bytesOut: total, bytesIn: totalIn, pcr: round3(pcr), windowSec: this.windowBuckets * this.cfg.bucketSec,
        windowStartUs, limitBytes: this.cfg.absoluteBytes, service: `${rec.proto}/${rec.resp_port}`,
      },
      suggestedResponse: { action: 'capture-peer', peer, durationSec: 1800, reason: 'large upload' },
      tsUs: rec.end,
    });
  }

  onTick(_nowUs: number, ctx: AnalyzerContext): void {
    for (const [agentId, hosts] of this.agents) {
      const agentNow = ctx.agentNowUs(agentId);
      for (const [host, h] of hosts) {
        if (h.bucket.index < 0) continue;
        const end = (h.bucket.index + 1) * this.bucketUs;
        if (ctx.finalTick || agentNow >= end) {
          this.closeBucket(agentId, host, h, ctx);
          h.bucket.index = -1;
        }
      }
    }
  }

  private closeBucket(agentId: string, host: string, h: HostVolume, ctx: AnalyzerContext): void {
    const b = h.bucket;
    if (b.flows === 0) return;
    this.bucketsClosed++;
    const cfg = this.cfg;
    const x = Math.log1p(b.out);
    const total = b.out + b.in;
    const pcr = total > 0 ? (b.out - b.in) / total : 0;
    const trusted = h.bytes.samples >= cfg.warmupBuckets;
    const z = h.bytes.score(x, cfg.devFloor);
    const startUs = b.index * this.bucketUs;
    // most of the bucket went to peers the absolute rule just reported: the same upload, not a second alert
    const reported = this.reportedShare(h, b, startUs) >= 0.5;
    let anomalous = false;
    if (trusted && b.out >= cfg.minBytes && z >= cfg.threshold) {
      anomalous = true;
      if (!reported) this.emit(agentId, host, 'outbound-bytes', `sent ${fmtBytes(b.out)} to external hosts in ${cfg.bucketSec} s, ` +
        `${z.toFixed(1)} deviations above its usual ${fmtBytes(Math.expm1(h.bytes.mean))}`, b, h, z, pcr, startUs, ctx);
    }
    if (trusted && b.out >= cfg.minBytes && pcr >= cfg.pcrMin && pcr - h.pcr.mean >= cfg.pcrJump) {
      anomalous = true;
      if (!reported) this.emit(agentId, host, 'pcr-shift', `turned producer: pcr ${pcr.toFixed(2)} (usual ${h.pcr.mean.toFixed(2)}), ` +
        `${fmtBytes(b.out)} out / ${fmtBytes(b.in)} in`, b, h, z, pcr, startUs, ctx);
    }
    // clip anomalies to the alert level before they enter the baseline
    const limit = h.bytes.mean + cfg.threshold * Math.max(h.bytes.dev, cfg.devFloor);
    h.bytes.update(anomalous && trusted ? Math.min(x, limit) : x);
    h.pcr.update(anomalous ? h.pcr.mean : pcr);
    this.keepHeavyPeers(h, b);
    b.out = 0;
    b.in = 0;
    b.flows = 0;
    b.peers.clear();
    b.upOut.clear();
    b.upIn.clear();
  }

  /** The closing bucket's heavy uploads join the absolute window's past; what left the window goes. */
  private keepHeavyPeers(h: HostVolume, b: Bucket): void {
    const minIndex = b.index - this.windowBuckets + 2;
    for (const [peer, r] of h.recent) if (r.prune(minIndex)) h.recent.delete(peer);
    const floor = this.cfg.absoluteBytes / 64;
    if (this.windowBuckets > 1 && floor > 0) {
      for (const [peer, out] of b.upOut) {
        if (out < floor) continue;
        let r = h.recent.get(peer);
        if (r === undefined) { r = new RecentPeer(); h.recent.set(peer, r); }
        r.add(b.index, out, b.upIn.get(peer) ?? 0);
      }
    }
    const endUs = (b.index + 1) * this.bucketUs;
    for (const [peer, until] of h.quietUntil) if (until <= endUs) h.quietUntil.delete(peer);
  }

  /** Share of the bucket's outbound bytes that went to peers with a peer-upload alert since the bucket began. */
  private reportedShare(h: HostVolume, b: Bucket, startUs: number): number {
    if (b.out <= 0 || h.quietUntil.size === 0) return 0;
    let bytes = 0;
    for (const [peer, n] of b.peers) if ((h.quietUntil.get(peer) ?? 0) > startUs) bytes += n;
    return bytes / b.out;
  }

  private emit(agentId: string, host: string, rule: string, what: string, b: Bucket, h: HostVolume, z: number, pcr: number,
    startUs: number, ctx: AnalyzerContext): void {
    const top = [...b.peers].sort((x, y) => y[1] - x[1]).slice(0, 5);
    const peer = top.length > 0 ? top[0]![0] : undefined;
    ctx.emit({
      severity: rule === 'outbound-bytes' && z >= this.cfg.threshold * 2 ? 'high' : 'medium',
      category: 'volume',
      rule,
      agentId,
      host,
      ...(peer !== undefined ? { peer } : {}),
      summary: `${host} ${what}${peer !== undefined ? `, most to ${peer} (${fmtBytes(top[0]![1])})` : ''}`,
      evidence: {
        bucketStartUs: startUs, bucketSec: this.cfg.bucketSec, bytesOut: b.out, bytesIn: b.in, pcr: round3(pcr),
        zScore: round3(z), baselineBytes: Math.round(Math.expm1(h.bytes.mean)), baselineLogDev: round3(h.bytes.dev),
        baselinePcr: round3(h.pcr.mean), baselineBuckets: h.bytes.samples, flows: b.flows,
        topPeers: top.map(([addr, bytes]) => ({ addr, bytes })),
      },
      ...(peer !== undefined ? { suggestedResponse: { action: 'capture-peer' as const, peer, durationSec: 1800, reason: 'volume anomaly' } } : {}),
      tsUs: startUs,
    });
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function fmtSec(s: number): string {
  return s % 3600 === 0 ? `${s / 3600} h` : s % 60 === 0 ? `${s / 60} min` : `${s} s`;
}

function fmtBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${Math.round(n)} B`;
}
