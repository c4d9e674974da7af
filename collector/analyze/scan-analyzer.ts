// Built-in analyzer "scan": one source probing many ports of one host (port scan) or
// many hosts (sweep), inbound, outbound or lateral, over a sliding window of packet time.
// A probe is a flow that exchanged no payload: a TCP attempt (refused, unanswered, or a
// handshake closed without data), an unanswered UDP datagram, an ICMP echo request.
// Real connections carry data, so ordinary clients talking to many servers do not count.
//
// Detection: state per (agent, source): targets -> {port -> last probe time}. Counts are
// map sizes (may include entries older than the window); when one crosses a threshold the
// entries are pruned and re-counted, and every tick prunes everything, so a check is O(1)
// per flow except at a crossing.
//
// Reporting: a detected scan becomes an episode that counts everything it probes from then
// on (ports in a bitmap, hosts in a set), so alerts report totals, not the window's count
// at some threshold. The first alert goes out at detection; while the scan goes on, each
// tick that saw it grow emits the new totals (the stored row keeps the latest), and the
// episode ends when the source has been quiet for a window.
//
// Host and peer: the host is the local side (the scanner when it is local, else the target),
// the peer the other side; a sweep's remote side is the swept range (the targets' common
// prefix, at most a /24 or /64 wide, fixed at detection so one sweep stays one row).
import { z } from 'zod';
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import type { Analyzer, AnalyzerContext } from './analyzer.js';
import type { Severity } from '../../shared/alerts/alert-record.js';
import { PrefixSet } from './address-scope.js';
import type { FlowDirection } from './flow-sides.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from '../../shared/packet/packet-record.js';
import { AddressRange } from './address-range.js';

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
  /** scans followed at once for their totals (16 kB each for port scans; default 1024); beyond, scans are reported at detection and at each doubling of the window's count */
  maxEpisodes: z.number().int().min(1).default(1024),
  /** distinct hosts a sweep's total counts exactly (beyond: "at least"; default 65536) */
  maxSweepHosts: z.number().int().min(16).default(65_536),
}).strict();

type ScanConfig = z.output<typeof scanConfigSchema>;

/** What the alerts of one detected scan share. */
interface EpisodeBase {
  direction: FlowDirection;
  scanner: string;
  scannerIsLocal: boolean;
  host: string;
  peer: string;
  firstUs: number;
  lastUs: number;
  probes: number;
  /** the total at the last alert, and whether that alert said the scan ended */
  reported: number;
  endReported: boolean;
  uid: string;
  communityId: string;
}

/** A port scan being followed: every port probed since detection (TCP and UDP, one bit each). */
class PortEpisode {
  readonly seen = new Uint8Array(131_072 >> 3);
  total = 0;
  constructor(readonly base: EpisodeBase, readonly target: string) {}

  add(key: number): void {
    const byte = key >> 3;
    const bit = 1 << (key & 7);
    if ((this.seen[byte]! & bit) !== 0) return;
    this.seen[byte]! |= bit;
    this.total++;
  }

  /** The lowest ports probed (for the evidence). */
  sample(n: number): string[] {
    const out: string[] = [];
    for (let k = 0; k < 131_072 && out.length < n; k++) if ((this.seen[k >> 3]! & (1 << (k & 7))) !== 0) out.push(portName(k));
    return out;
  }
}

/** A sweep being followed: every host probed since detection. */
class SweepEpisode {
  readonly hosts = new Set<string>();
  /** hosts beyond maxSweepHosts (counted, not remembered: the total is then a lower bound) */
  overflow = 0;
  constructor(readonly base: EpisodeBase, readonly range: AddressRange) {}

  get total(): number {
    return this.hosts.size + this.overflow;
  }
}

class Target {
  readonly ports = new Map<number, number>();
  lastUs = 0;
  episode: PortEpisode | null = null;
  /** window count at which to check again (raised when a check finds too few, or no episode slot) */
  nextCheck = 0;
}

class Source {
  readonly targets = new Map<string, Target>();
  lastUs = 0;
  sweep: SweepEpisode | null = null;
  nextSweepCheck = 0;
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

/** Port key of the window maps and bitmaps: TCP ports as they are, UDP ports + 65536. */
function portName(key: number): string {
  return key >= 65_536 ? `udp/${key - 65_536}` : `tcp/${key}`;
}

export class ScanAnalyzer implements Analyzer<ScanConfig> {
  name = 'scan';
  private cfg!: ScanConfig;
  private windowUs = 0;
  private ignore: PrefixSet | null = null;
  /** agent -> source address -> state */
  private readonly agents = new Map<string, Map<string, Source>>();
  private episodes = 0;

  readonly configSchema = scanConfigSchema;

  /** config: validated by the host against configSchema */
  setup(config: ScanConfig): void {
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
      sources.set(rec.orig_addr, src);
    }
    const t = rec.start;
    if (t > src.lastUs) src.lastUs = t;
    let target = src.targets.get(rec.resp_addr);
    const sweep = src.sweep;
    if (sweep !== null) this.addSweepHost(sweep, rec);
    if (target === undefined) {
      target = new Target();
      target.lastUs = t;
      src.targets.set(rec.resp_addr, target);
      if (sweep === null && src.targets.size >= Math.max(this.cfg.hostThreshold, src.nextSweepCheck)) this.checkSweep(rec, src, ctx);
    } else if (t > target.lastUs) {
      target.lastUs = t;
    }
    // ICMP "ports" are message types: sweeps only
    if (rec.ip_proto === IPPROTO_ICMP || rec.ip_proto === IPPROTO_ICMPV6) return;
    const key = rec.ip_proto === IPPROTO_UDP ? rec.resp_port + 65_536 : rec.resp_port;
    const ep = target.episode;
    if (ep !== null) {
      ep.add(key);
      touch(ep.base, rec);
      return;
    }
    if (target.ports.size < this.cfg.maxPortsPerTarget || target.ports.has(key)) {
      const prev = target.ports.get(key);
      if (prev === undefined || t > prev) target.ports.set(key, t);
      if (prev === undefined && target.ports.size >= Math.max(this.cfg.portThreshold, target.nextCheck)) this.checkPorts(rec, target, ctx);
    }
  }

  private addSweepHost(sw: SweepEpisode, rec: FlowRecord): void {
    touch(sw.base, rec);
    const addr = rec.resp_addr;
    if (sw.hosts.has(addr)) return;
    if (sw.hosts.size < this.cfg.maxSweepHosts) sw.hosts.add(addr); else sw.overflow++;
    sw.range.add(addr);
  }

  private newBase(rec: FlowRecord, ctx: AnalyzerContext, remoteOfLocalScanner: string, firstUs: number): EpisodeBase {
    const s = ctx.sides(rec);
    const scannerIsLocal = s.localIsOrig;
    return {
      direction: s.direction, scanner: rec.orig_addr, scannerIsLocal,
      host: scannerIsLocal ? rec.orig_addr : remoteOfLocalScanner,
      peer: scannerIsLocal ? remoteOfLocalScanner : rec.orig_addr,
      firstUs, lastUs: rec.start, probes: 0, reported: 0, endReported: false, uid: rec.uid, communityId: rec.community_id,
    };
  }

  private checkPorts(rec: FlowRecord, target: Target, ctx: AnalyzerContext): void {
    const cutoff = target.lastUs - this.windowUs;
    let firstUs = Infinity;
    for (const [p, ts] of target.ports) {
      if (ts < cutoff) target.ports.delete(p);
      else if (ts < firstUs) firstUs = ts;
    }
    // too few once the old entries are gone, or no room to follow one more scan: look again later
    target.nextCheck = target.ports.size + 1;
    if (target.ports.size < this.cfg.portThreshold) return;
    // for a port scan the local side is the scanner or its target: `remote` is the target here
    const base = this.newBase(rec, ctx, rec.resp_addr, firstUs);
    base.probes = target.ports.size;
    const ep = new PortEpisode(base, rec.resp_addr);
    for (const p of target.ports.keys()) ep.add(p);
    if (this.episodes >= this.cfg.maxEpisodes) {
      // no room to follow one more scan: report what the window shows, again when it doubles
      target.nextCheck = target.ports.size * 2;
      this.emitPorts(rec.agent_id, ep, false, ctx);
      return;
    }
    this.episodes++;
    target.ports.clear();
    target.episode = ep;
    this.emitPorts(rec.agent_id, ep, false, ctx);
  }

  private checkSweep(rec: FlowRecord, src: Source, ctx: AnalyzerContext): void {
    const cutoff = src.lastUs - this.windowUs;
    let firstUs = Infinity;
    for (const [addr, t] of src.targets) {
      if (t.lastUs < cutoff) src.targets.delete(addr);
      else if (t.lastUs < firstUs) firstUs = t.lastUs;
    }
    src.nextSweepCheck = src.targets.size + 1;
    if (src.targets.size < this.cfg.hostThreshold) return;
    const range = new AddressRange();
    for (const addr of src.targets.keys()) range.add(addr);
    const base = this.newBase(rec, ctx, range.text(true), firstUs);
    base.probes = src.targets.size;
    const sw = new SweepEpisode(base, range);
    for (const addr of src.targets.keys()) sw.hosts.add(addr);
    if (this.episodes >= this.cfg.maxEpisodes) {
      src.nextSweepCheck = src.targets.size * 2;
      this.emitSweep(rec.agent_id, src, sw, false, ctx);
      return;
    }
    this.episodes++;
    src.sweep = sw;
    this.emitSweep(rec.agent_id, src, sw, false, ctx);
  }

  private emitPorts(agentId: string, ep: PortEpisode, ended: boolean, ctx: AnalyzerContext): void {
    const b = ep.base;
    b.reported = ep.total;
    b.endReported = ended;
    const spanSec = Math.max(0, (b.lastUs - b.firstUs) / 1e6);
    ctx.emit({
      severity: SEVERITY[b.direction],
      category: 'scan',
      rule: 'port-scan',
      agentId,
      host: b.host,
      flowUid: b.uid,
      communityId: b.communityId,
      peer: b.peer,
      summary: `${b.direction} port scan: ${b.scanner} probed ${ep.total} ports of ${ep.target} in ${fmtSpan(spanSec)}` +
        (ended ? '' : ' (going on)'),
      evidence: {
        direction: b.direction, scanner: b.scanner, target: ep.target, distinctPorts: ep.total, probes: b.probes,
        samplePorts: ep.sample(25), firstUs: b.firstUs, lastUs: b.lastUs, durationSec: Math.round(spanSec * 10) / 10,
        ended, windowSec: this.cfg.windowSec, scannerIsLocal: b.scannerIsLocal,
      },
      ...(b.scannerIsLocal ? {} : { suggestedResponse: { action: 'block-peer' as const, peer: b.scanner, reason: 'port scan source' } }),
      tsUs: b.lastUs,
    });
  }

  private emitSweep(agentId: string, src: Source, sw: SweepEpisode, ended: boolean, ctx: AnalyzerContext): void {
    const b = sw.base;
    b.reported = sw.total;
    b.endReported = ended;
    // the port most probed across the targets still in the window names the sweep (e.g. 445 for a worm)
    const perPort = new Map<number, number>();
    for (const t of src.targets.values()) for (const p of t.ports.keys()) perPort.set(p, (perPort.get(p) ?? 0) + 1);
    let topPort = -1;
    let topCount = 0;
    for (const [p, c] of perPort) if (c > topCount) { topPort = p; topCount = c; }
    const spanSec = Math.max(0, (b.lastUs - b.firstUs) / 1e6);
    const total = `${sw.overflow > 0 ? 'at least ' : ''}${sw.total}`;
    const range = sw.range.text(false);
    ctx.emit({
      severity: SEVERITY[b.direction],
      category: 'scan',
      rule: 'sweep',
      agentId,
      host: b.host,
      flowUid: b.uid,
      communityId: b.communityId,
      peer: b.peer,
      summary: `${b.direction} sweep: ${b.scanner} probed ${total} hosts in ${range} in ${fmtSpan(spanSec)}` +
        (topPort >= 0 ? ` (most on ${portName(topPort)})` : '') + (ended ? '' : ' (going on)'),
      evidence: {
        direction: b.direction, scanner: b.scanner, range, distinctHosts: sw.total, exact: sw.overflow === 0, probes: b.probes,
        sampleTargets: [...sw.hosts].slice(0, 25), firstUs: b.firstUs, lastUs: b.lastUs, durationSec: Math.round(spanSec * 10) / 10,
        ended, windowSec: this.cfg.windowSec, topPort: topPort < 0 ? null : portName(topPort), topPortHosts: topCount,
        scannerIsLocal: b.scannerIsLocal,
      },
      ...(b.scannerIsLocal ? {} : { suggestedResponse: { action: 'block-peer' as const, peer: b.scanner, reason: 'sweep source' } }),
      tsUs: b.lastUs,
    });
  }

  onTick(_nowUs: number, ctx: AnalyzerContext): void {
    // report grown and ended scans, drop what fell out of the window (per agent clock, so a
    // lagging agent keeps its state)
    for (const [agent, sources] of this.agents) {
      const cutoff = ctx.agentNowUs(agent) - this.windowUs;
      for (const [addr, src] of sources) {
        const quiet = src.lastUs < cutoff;
        // the sweep first: its alert names the port most probed across the targets still held
        const sw = src.sweep;
        if (sw !== null && needsReport(sw.base, sw.total, quiet || ctx.finalTick)) this.emitSweep(agent, src, sw, quiet || ctx.finalTick, ctx);
        for (const [dst, t] of src.targets) {
          const gone = quiet || t.lastUs < cutoff;
          const ep = t.episode;
          if (ep !== null && needsReport(ep.base, ep.total, gone || ctx.finalTick)) this.emitPorts(agent, ep, gone || ctx.finalTick, ctx);
          if (gone) {
            if (ep !== null) this.episodes--;
            src.targets.delete(dst);
            continue;
          }
          for (const [p, ts] of t.ports) if (ts < cutoff) t.ports.delete(p);
          t.nextCheck = 0;
        }
        src.nextSweepCheck = 0;
        if (quiet) {
          if (sw !== null) this.episodes--;
          sources.delete(addr);
        }
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

/** The scan grew since its last alert, or it ended and no alert said so yet. */
function needsReport(b: EpisodeBase, total: number, ended: boolean): boolean {
  return total > b.reported || (ended && !b.endReported);
}

/** Updates an episode's latest probe (time, flow). */
function touch(b: EpisodeBase, rec: FlowRecord): void {
  b.probes++;
  if (rec.start >= b.lastUs) {
    b.lastUs = rec.start;
    b.uid = rec.uid;
    b.communityId = rec.community_id;
  }
}

function fmtSpan(sec: number): string {
  if (sec < 120) return `${Math.round(sec)} s`;
  if (sec < 7200) return `${(sec / 60).toFixed(1)} min`;
  return `${(sec / 3600).toFixed(1)} h`;
}
