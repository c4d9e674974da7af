// Built-in analyzer "scan": one source probing many ports of one host (port scan) or
// many hosts (sweep), inbound, outbound or lateral, over a sliding window of packet time.
// A probe is a flow that exchanged no payload: a TCP attempt (refused, unanswered, or a
// handshake closed without data), an unanswered UDP datagram, an ICMP echo request.
// Real connections carry data, so ordinary clients talking to many servers do not count.
//
// State per (agent, source): targets -> {port -> last probe time}. Counts are map sizes
// (may include entries older than the window); when one crosses a threshold the entries
// are pruned and re-counted, and every tick prunes everything, so a check is O(1) per
// flow except at a crossing. An alert is emitted at the threshold and again each time
// the count doubles (with fresh evidence), not once per probe.
import { z } from 'zod';
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import type { Analyzer, AnalyzerContext } from './analyzer.js';
import type { Severity } from '../../shared/alerts/alert-record.js';
import { PrefixSet } from './address-scope.js';
import type { FlowDirection } from './flow-sides.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from '../../shared/packet/packet-record.js';

export const scanConfigSchema = z.object({
  /** sliding window, seconds of packet time (default 300, as Zeek's scan policy) */
  windowSec: z.number().positive().default(300),
  /** distinct ports of one host probed by one source (default 20) */
  portThreshold: z.number().int().min(2).default(20),
  /** distinct hosts probed by one source (default 25) */
  hostThreshold: z.number().int().min(2).default(25),
  /** sources never reported (CIDRs as stored, e.g. the vulnerability scanner) */
  ignoreSources: z.array(z.string()).default([]),
  /** per-target port entries kept (default 4096) and sources tracked per agent (default 65536) */
  maxPortsPerTarget: z.number().int().min(16).default(4096),
  maxSources: z.number().int().min(16).default(65_536),
}).strict();

class Target {
  readonly ports = new Map<number, number>();
  lastUs = 0;
  /** ports count that triggers the next alert */
  nextAlert = 0;
}

class Source {
  readonly targets = new Map<string, Target>();
  lastUs = 0;
  nextSweepAlert = 0;
}

const SEVERITY: Record<FlowDirection, Severity> = { outbound: 'high', lateral: 'high', inbound: 'medium', transit: 'medium' };

/** Is this first record a probe (see header)? */
export function isProbe(rec: FlowRecord): boolean {
  if (rec.ip_proto === IPPROTO_TCP) return rec.orig_payload_bytes === 0 && rec.resp_payload_bytes === 0;
  if (rec.ip_proto === IPPROTO_UDP) return rec.resp_pkts === 0;
  if (rec.ip_proto === IPPROTO_ICMP) return rec.orig_port === 8 && rec.resp_pkts === 0;
  if (rec.ip_proto === IPPROTO_ICMPV6) return rec.orig_port === 128 && rec.resp_pkts === 0;
  return false;
}

export class ScanAnalyzer implements Analyzer<z.output<typeof scanConfigSchema>> {
  name = 'scan';
  private cfg!: z.output<typeof scanConfigSchema>;
  private windowUs = 0;
  private ignore: PrefixSet | null = null;
  /** agent -> source address -> state */
  private readonly agents = new Map<string, Map<string, Source>>();

  readonly configSchema = scanConfigSchema;

  /** config: validated by the host against configSchema */
  setup(config: z.output<typeof scanConfigSchema>): void {
    this.cfg = config;
    this.windowUs = config.windowSec * 1e6;
    if (config.ignoreSources.length > 0) this.ignore = new PrefixSet(config.ignoreSources);
  }

  onFlow(rec: FlowRecord, ctx: AnalyzerContext): void {
    if (rec.record_seq !== 0 || !isProbe(rec)) return;
    if (this.ignore !== null && this.ignore.has(rec.orig_addr)) return;
    let sources = this.agents.get(rec.agent_id);
    if (sources === undefined) {
      sources = new Map();
      this.agents.set(rec.agent_id, sources);
    }
    let src = sources.get(rec.orig_addr);
    if (src === undefined) {
      if (sources.size >= this.cfg.maxSources) return;
      src = new Source();
      src.nextSweepAlert = this.cfg.hostThreshold;
      sources.set(rec.orig_addr, src);
    }
    const t = rec.start;
    if (t > src.lastUs) src.lastUs = t;
    let target = src.targets.get(rec.resp_addr);
    if (target === undefined) {
      target = new Target();
      target.nextAlert = this.cfg.portThreshold;
      target.lastUs = t;
      src.targets.set(rec.resp_addr, target);
      if (src.targets.size >= src.nextSweepAlert) this.checkSweep(rec, src, ctx);
    } else if (t > target.lastUs) {
      target.lastUs = t;
    }
    // ICMP "ports" are message types: sweeps only
    if (rec.ip_proto === IPPROTO_ICMP || rec.ip_proto === IPPROTO_ICMPV6) return;
    const key = rec.ip_proto === IPPROTO_UDP ? rec.resp_port + 65536 : rec.resp_port;
    if (target.ports.size < this.cfg.maxPortsPerTarget || target.ports.has(key)) {
      const prev = target.ports.get(key);
      if (prev === undefined || t > prev) target.ports.set(key, t);
      if (prev === undefined && target.ports.size >= target.nextAlert) this.checkPorts(rec, src, target, ctx);
    }
  }

  private checkPorts(rec: FlowRecord, src: Source, target: Target, ctx: AnalyzerContext): void {
    const cutoff = target.lastUs - this.windowUs;
    for (const [p, ts] of target.ports) if (ts < cutoff) target.ports.delete(p);
    const n = target.ports.size;
    if (n < target.nextAlert) return;
    target.nextAlert = n * 2;
    const s = ctx.sides(rec);
    const scannerIsLocal = s.localIsOrig;
    const ports = [...target.ports.keys()].sort((a, b) => a - b);
    const sample = ports.slice(0, 25).map((p) => (p >= 65536 ? `udp/${p - 65536}` : `tcp/${p}`));
    ctx.emit({
      severity: SEVERITY[s.direction],
      category: 'scan',
      rule: 'port-scan',
      agentId: rec.agent_id,
      flowUid: rec.uid,
      communityId: rec.community_id,
      peer: scannerIsLocal ? rec.resp_addr : rec.orig_addr,
      summary: `${s.direction} port scan: ${rec.orig_addr} probed ${n} ports of ${rec.resp_addr} within ${this.cfg.windowSec} s`,
      evidence: {
        direction: s.direction, scanner: rec.orig_addr, target: rec.resp_addr, distinctPorts: n, samplePorts: sample,
        windowSec: this.cfg.windowSec, scannerIsLocal,
      },
      ...(scannerIsLocal ? {} : { suggestedResponse: { action: 'block-peer' as const, peer: rec.orig_addr, reason: 'port scan source' } }),
      tsUs: rec.start,
    });
  }

  private checkSweep(rec: FlowRecord, src: Source, ctx: AnalyzerContext): void {
    const cutoff = src.lastUs - this.windowUs;
    for (const [addr, t] of src.targets) if (t.lastUs < cutoff) src.targets.delete(addr);
    const n = src.targets.size;
    if (n < src.nextSweepAlert) return;
    src.nextSweepAlert = n * 2;
    const s = ctx.sides(rec);
    // the port most probed across the targets names the sweep (e.g. 445 for a worm)
    const perPort = new Map<number, number>();
    for (const t of src.targets.values()) for (const p of t.ports.keys()) perPort.set(p, (perPort.get(p) ?? 0) + 1);
    let topPort = -1;
    let topCount = 0;
    for (const [p, c] of perPort) if (c > topCount) { topPort = p; topCount = c; }
    const targets = [...src.targets.keys()].slice(0, 25);
    ctx.emit({
      severity: SEVERITY[s.direction],
      category: 'scan',
      rule: 'sweep',
      agentId: rec.agent_id,
      flowUid: rec.uid,
      communityId: rec.community_id,
      peer: rec.orig_addr,
      summary: `${s.direction} sweep: ${rec.orig_addr} probed ${n} hosts within ${this.cfg.windowSec} s` +
        (topPort >= 0 ? ` (most on ${topPort >= 65536 ? `udp/${topPort - 65536}` : `tcp/${topPort}`})` : ''),
      evidence: {
        direction: s.direction, scanner: rec.orig_addr, distinctHosts: n, sampleTargets: targets, windowSec: this.cfg.windowSec,
        topPort: topPort < 0 ? null : topPort >= 65536 ? `udp/${topPort - 65536}` : `tcp/${topPort}`, topPortHosts: topCount,
      },
      tsUs: rec.start,
    });
  }

  onTick(_nowUs: number, ctx: AnalyzerContext): void {
    // drop what fell out of the window (per agent clock, so a lagging agent keeps its state)
    for (const [agent, sources] of this.agents) {
      const cutoff = ctx.agentNowUs(agent) - this.windowUs;
      for (const [addr, src] of sources) {
        if (src.lastUs < cutoff) { sources.delete(addr); continue; }
        for (const [dst, t] of src.targets) {
          if (t.lastUs < cutoff) { src.targets.delete(dst); continue; }
          for (const [p, ts] of t.ports) if (ts < cutoff) t.ports.delete(p);
          if (t.ports.size < this.cfg.portThreshold) t.nextAlert = this.cfg.portThreshold;
        }
        if (src.targets.size < this.cfg.hostThreshold) src.nextSweepAlert = this.cfg.hostThreshold;
      }
      if (sources.size === 0) this.agents.delete(agent);
    }
  }

  /** Sources tracked (tests). */
  trackedSources(): number {
    let n = 0;
    for (const s of this.agents.values()) n += s.size;
    return n;
  }
}
