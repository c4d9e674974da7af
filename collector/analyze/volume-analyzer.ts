// Built-in analyzer "volume": exfiltration and volume anomalies against each host's own
// baseline. Per agent and time bucket (packet time, default 10 min) it sums the bytes
// the host sent to / received from external addresses. When a bucket closes:
//   outbound bytes: log(1 + bytes) against an EWMA mean and EWMA mean absolute deviation
//     of the agent's earlier active buckets; an alert when it is `threshold` deviations
//     above and at least minBytes;
//   producer/consumer ratio (sent - received) / (sent + received): an alert when the host
//     turned producer (pcr >= pcrMin) well above its usual pcr, with at least minBytes out.
// Log scale, because traffic volumes are heavy-tailed. Only buckets with external
// traffic update the baseline (idle nights do not drag it to zero), and an anomalous
// bucket enters the baseline clipped to the alert level, so a long exfiltration does
// not become normal within a few buckets.
import { z } from 'zod';
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import type { Analyzer, AnalyzerContext } from './analyzer.js';
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
  /** active buckets before an agent's baseline is trusted (default 12) */
  warmupBuckets: z.number().int().min(1).default(12),
  /** pcr at or above which a bucket is a "producer" bucket (default 0.6) */
  pcrMin: z.number().min(-1).max(1).default(0.6),
  /** how far above the usual pcr (default 0.8) */
  pcrJump: z.number().positive().default(0.8),
  /** count lateral (internal) traffic too (default false: external only) */
  includeLateral: z.boolean().default(false),
}).strict();

class Bucket {
  index = -1;
  out = 0;
  in = 0;
  flows = 0;
  readonly peers = new Map<string, number>();
}

class AgentVolume {
  readonly bucket = new Bucket();
  readonly bytes: EwmaBaseline;
  readonly pcr: EwmaBaseline;
  constructor(alpha: number) {
    this.bytes = new EwmaBaseline(alpha);
    this.pcr = new EwmaBaseline(alpha);
  }
}

const MAX_PEERS = 2048;

export class VolumeAnalyzer implements Analyzer<z.output<typeof volumeConfigSchema>> {
  name = 'volume';
  private cfg!: z.output<typeof volumeConfigSchema>;
  private bucketUs = 0;
  private readonly agents = new Map<string, AgentVolume>();
  /** buckets evaluated (tests) */
  bucketsClosed = 0;

  readonly configSchema = volumeConfigSchema;

  /** config: validated by the host against configSchema */
  setup(config: z.output<typeof volumeConfigSchema>): void {
    this.cfg = config;
    this.bucketUs = config.bucketSec * 1e6;
  }

  onFlow(rec: FlowRecord, ctx: AnalyzerContext): void {
    const s = ctx.sides(rec);
    if (s.direction !== 'outbound' && s.direction !== 'inbound' && !(this.cfg.includeLateral && s.direction === 'lateral')) return;
    let a = this.agents.get(rec.agent_id);
    if (a === undefined) {
      a = new AgentVolume(this.cfg.alpha);
      this.agents.set(rec.agent_id, a);
    }
    const idx = Math.floor(rec.end / this.bucketUs);
    const b = a.bucket;
    if (b.index < 0) b.index = idx;
    else if (idx > b.index) {
      this.closeBucket(rec.agent_id, a, ctx);
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
  }

  onTick(_nowUs: number, ctx: AnalyzerContext): void {
    for (const [agentId, a] of this.agents) {
      if (a.bucket.index < 0) continue;
      const end = (a.bucket.index + 1) * this.bucketUs;
      if (ctx.finalTick || ctx.agentNowUs(agentId) >= end) {
        this.closeBucket(agentId, a, ctx);
        a.bucket.index = -1;
      }
    }
  }

  private closeBucket(agentId: string, a: AgentVolume, ctx: AnalyzerContext): void {
    const b = a.bucket;
    if (b.flows === 0) return;
    this.bucketsClosed++;
    const cfg = this.cfg;
    const x = Math.log1p(b.out);
    const total = b.out + b.in;
    const pcr = total > 0 ? (b.out - b.in) / total : 0;
    const trusted = a.bytes.samples >= cfg.warmupBuckets;
    const z = a.bytes.score(x, cfg.devFloor);
    const startUs = b.index * this.bucketUs;
    let anomalous = false;
    if (trusted && b.out >= cfg.minBytes && z >= cfg.threshold) {
      anomalous = true;
      this.emit(agentId, 'outbound-bytes', `sent ${fmtBytes(b.out)} to external hosts in ${cfg.bucketSec} s, ` +
        `${z.toFixed(1)} deviations above its usual ${fmtBytes(Math.expm1(a.bytes.mean))}`, b, a, z, pcr, startUs, ctx);
    }
    if (trusted && b.out >= cfg.minBytes && pcr >= cfg.pcrMin && pcr - a.pcr.mean >= cfg.pcrJump) {
      anomalous = true;
      this.emit(agentId, 'pcr-shift', `turned producer: pcr ${pcr.toFixed(2)} (usual ${a.pcr.mean.toFixed(2)}), ` +
        `${fmtBytes(b.out)} out / ${fmtBytes(b.in)} in`, b, a, z, pcr, startUs, ctx);
    }
    // clip anomalies to the alert level before they enter the baseline
    const limit = a.bytes.mean + cfg.threshold * Math.max(a.bytes.dev, cfg.devFloor);
    a.bytes.update(anomalous && trusted ? Math.min(x, limit) : x);
    a.pcr.update(anomalous ? a.pcr.mean : pcr);
    b.out = 0;
    b.in = 0;
    b.flows = 0;
    b.peers.clear();
  }

  private emit(agentId: string, rule: string, what: string, b: Bucket, a: AgentVolume, z: number, pcr: number,
    startUs: number, ctx: AnalyzerContext): void {
    const top = [...b.peers].sort((x, y) => y[1] - x[1]).slice(0, 5);
    const peer = top.length > 0 ? top[0]![0] : undefined;
    ctx.emit({
      severity: rule === 'outbound-bytes' && z >= this.cfg.threshold * 2 ? 'high' : 'medium',
      category: 'volume',
      rule,
      agentId,
      ...(peer !== undefined ? { peer } : {}),
      summary: `${agentId} ${what}`,
      evidence: {
        bucketStartUs: startUs, bucketSec: this.cfg.bucketSec, bytesOut: b.out, bytesIn: b.in, pcr: round3(pcr),
        zScore: round3(z), baselineBytes: Math.round(Math.expm1(a.bytes.mean)), baselineLogDev: round3(a.bytes.dev),
        baselinePcr: round3(a.pcr.mean), baselineBuckets: a.bytes.samples, flows: b.flows,
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

function fmtBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${Math.round(n)} B`;
}
