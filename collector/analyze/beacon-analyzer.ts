// Built-in analyzer "beacon": regular outbound connections from a host to the same
// external address, scored on interval and size regularity (beacon-scoring.ts, after
// RITA). Connection times are the flows' first-packet times (packet time); pairs are
// re-scored every `evaluateEverySec` of packet time over the last `windowHours`, and at
// the end of a stream. State is bounded: pairs, and connections kept per pair.
//
// Connections count when they exchanged payload: a string of refused or unanswered attempts
// (a client retrying a dead server, a port scan) is not a beacon, and a TCP flow picked up
// in the middle (an idle long connection's next exchange, conn_state OTH) is not a new one.
//
// Severity follows the highest score the pair reached (rounded as the summary prints it),
// and the summary shows that peak beside the latest score, so the row's severity (the
// store keeps the highest) and its summary agree.
//
// Most destinations are contacted once; a pair seen once is only a slot number in its
// map (its time, bytes and service in shared typed columns) and becomes a Pair object
// on its second connection, so browsing to thousands of servers allocates next to nothing.
import { z } from 'zod';
import { protoName, type FlowRecord } from '../../shared/flow/flow-record.js';
import type { Analyzer, AnalyzerContext } from './analyzer.js';
import { PrefixSet } from './address-scope.js';
import { scoreBeacon, type BeaconScore } from './beacon-scoring.js';
import { isProbe } from './scan-analyzer.js';
import { parsePortSpec, PortIndex } from './port-rules.js';

export const beaconConfigSchema = z.object({
  /** connections a pair needs before it is scored (default 20) */
  minConnections: z.number().int().min(4).default(20),
  /** score at or above which a pair is reported (default 0.8) */
  threshold: z.number().min(0).max(1).default(0.8),
  /**
   * the timing half alone must reach this (default 0.7): constant-size traffic at random
   * times (mail polling, keep-alive sessions) otherwise reaches the threshold on size alone
   */
  minTsScore: z.number().min(0).max(1).default(0.7),
  /** score at or above which the alert is high instead of medium (default 0.95) */
  highThreshold: z.number().min(0).max(1).default(0.95),
  windowHours: z.number().positive().default(24),
  evaluateEverySec: z.number().positive().default(3600),
  /** destinations not scored (CIDRs), e.g. the organisation's update servers */
  ignorePeers: z.array(z.string()).default([]),
  /** service ports not scored (default NTP: clients poll on a fixed interval by design) */
  ignorePorts: z.array(z.string()).default(['udp/123']),
  maxPairs: z.number().int().min(16).default(200_000),
  maxConnectionsPerPair: z.number().int().min(32).default(5000),
}).strict();

/** Connections of one (host, destination) pair, time-ordered. Plain arrays: most pairs stay tiny. */
class Pair {
  readonly ts: number[] = [];
  readonly bytes: number[] = [];
  lastEvalN = -1;
  lastUs = 0;
  /** highest score reported so far (rounded to 2 decimals, as printed) */
  peak = 0;
  /** ip_proto << 16 | port of the first few services used */
  readonly ports: number[] = [];
  uid = '';
  communityId = '';

  add(tSec: number, b: number, cap: number): void {
    const n = this.ts.length;
    if (n > 0 && Math.abs(tSec - this.ts[n - 1]!) < 1) {
      // connections within a second are one beacon (e.g. parallel connections)
      this.bytes[n - 1] = this.bytes[n - 1]! + b;
      return;
    }
    if (n >= cap) this.dropOldest(n >> 1);
    // keep time order (records of longer flows arrive late)
    let i = this.ts.length;
    if (i > 0 && this.ts[i - 1]! > tSec) {
      while (i > 0 && this.ts[i - 1]! > tSec) i--;
      this.ts.splice(i, 0, tSec);
      this.bytes.splice(i, 0, b);
    } else {
      this.ts.push(tSec);
      this.bytes.push(b);
    }
  }

  get n(): number {
    return this.ts.length;
  }

  dropOldest(k: number): void {
    if (k <= 0) return;
    this.ts.splice(0, k);
    this.bytes.splice(0, k);
  }

  dropBefore(tSec: number): void {
    let k = 0;
    while (k < this.ts.length && this.ts[k]! < tSec) k++;
    this.dropOldest(k);
  }

  portNames(): string[] {
    return this.ports.map((p) => `${protoName(p >>> 16)}/${p & 0xffff}`);
  }
}

export class BeaconAnalyzer implements Analyzer<z.output<typeof beaconConfigSchema>> {
  name = 'beacon';
  private cfg!: z.output<typeof beaconConfigSchema>;
  private ignorePeers: PrefixSet | null = null;
  private ignorePorts = new PortIndex<true>();
  /** agent -> local -> remote -> pair, or the slot of a destination seen once */
  private readonly agents = new Map<string, Map<string, Map<string, Pair | number>>>();
  private singleTs = new Float64Array(1024);
  private singleBytes = new Float64Array(1024);
  private singleService = new Int32Array(1024);
  private readonly freeSingles: number[] = [];
  private singlesUsed = 0;
  private pairs = 0;
  private lastEvalUs = 0;
  /** pairs not tracked because maxPairs was reached */
  skippedPairs = 0;
  /** scores computed in the last evaluation (tests, tuning) */
  lastScores: Array<{ agentId: string; local: string; remote: string; score: BeaconScore }> = [];

  readonly configSchema = beaconConfigSchema;

  /** config: validated by the host against configSchema */
  setup(config: z.output<typeof beaconConfigSchema>): void {
    this.cfg = config;
    if (config.ignorePeers.length > 0) this.ignorePeers = new PrefixSet(config.ignorePeers);
    for (const p of config.ignorePorts) this.ignorePorts.add(parsePortSpec(p), true);
  }

  onFlow(rec: FlowRecord, ctx: AnalyzerContext): void {
    if (rec.record_seq !== 0 || rec.conn_state === 'OTH' || isProbe(rec)) return;
    const s = ctx.sides(rec);
    if (s.direction !== 'outbound' || !s.localIsOrig) return;
    if (this.ignorePorts.has(rec.ip_proto, rec.resp_port)) return;
    if (this.ignorePeers !== null && this.ignorePeers.has(rec.resp_addr)) return;
    let locals = this.agents.get(rec.agent_id);
    if (locals === undefined) { locals = new Map(); this.agents.set(rec.agent_id, locals); }
    let remotes = locals.get(rec.orig_addr);
    if (remotes === undefined) { remotes = new Map(); locals.set(rec.orig_addr, remotes); }
    const tSec = rec.flow_start / 1e6;
    const service = (rec.ip_proto << 16) | rec.resp_port;
    const seen = remotes.get(rec.resp_addr);
    if (seen === undefined) {
      if (this.pairs >= this.cfg.maxPairs) { this.skippedPairs++; return; }
      remotes.set(rec.resp_addr, this.newSingle(tSec, rec.orig_ip_bytes, service));
      this.pairs++;
      return;
    }
    let pair: Pair;
    if (typeof seen === 'number') {
      // second connection: now it is worth an object
      pair = new Pair();
      pair.add(this.singleTs[seen]!, this.singleBytes[seen]!, this.cfg.maxConnectionsPerPair);
      pair.ports.push(this.singleService[seen]!);
      this.freeSingles.push(seen);
      remotes.set(rec.resp_addr, pair);
    } else {
      pair = seen;
    }
    pair.add(tSec, rec.orig_ip_bytes, this.cfg.maxConnectionsPerPair);
    if (rec.flow_start > pair.lastUs) {
      pair.lastUs = rec.flow_start;
      pair.uid = rec.uid;
      pair.communityId = rec.community_id;
    }
    if (pair.ports.length < 8 && !pair.ports.includes(service)) pair.ports.push(service);
  }

  private newSingle(tSec: number, bytes: number, service: number): number {
    let slot = this.freeSingles.pop();
    if (slot === undefined) {
      slot = this.singlesUsed++;
      if (slot === this.singleTs.length) {
        const n = slot * 2;
        const t = new Float64Array(n); t.set(this.singleTs); this.singleTs = t;
        const b = new Float64Array(n); b.set(this.singleBytes); this.singleBytes = b;
        const v = new Int32Array(n); v.set(this.singleService); this.singleService = v;
      }
    }
    this.singleTs[slot] = tSec;
    this.singleBytes[slot] = bytes;
    this.singleService[slot] = service;
    return slot;
  }

  onTick(nowUs: number, ctx: AnalyzerContext): void {
    if (!ctx.finalTick && nowUs - this.lastEvalUs < this.cfg.evaluateEverySec * 1e6) return;
    this.lastEvalUs = nowUs;
    this.lastScores = [];
    const windowUs = this.cfg.windowHours * 3600e6;
    for (const [agentId, locals] of this.agents) {
      const cutoffSec = (ctx.agentNowUs(agentId) - windowUs) / 1e6;
      for (const [local, remotes] of locals) {
        for (const [remote, pair] of remotes) {
          if (typeof pair === 'number') {
            if (this.singleTs[pair]! < cutoffSec) { remotes.delete(remote); this.freeSingles.push(pair); this.pairs--; }
            continue;
          }
          pair.dropBefore(cutoffSec);
          if (pair.n === 0) { remotes.delete(remote); this.pairs--; continue; }
          if (pair.n < this.cfg.minConnections || pair.n === pair.lastEvalN) continue;
          pair.lastEvalN = pair.n;
          const score = scoreBeacon(pair.ts, pair.bytes, pair.n);
          this.lastScores.push({ agentId, local, remote, score });
          if (score.score >= this.cfg.threshold && score.tsScore >= this.cfg.minTsScore) this.alert(agentId, local, remote, pair, score, ctx);
        }
        if (remotes.size === 0) locals.delete(local);
      }
      if (locals.size === 0) this.agents.delete(agentId);
    }
  }

  private alert(agentId: string, local: string, remote: string, pair: Pair, sc: BeaconScore, ctx: AnalyzerContext): void {
    const r2 = (x: number): number => Math.round(x * 1000) / 1000;
    // judged on the score as printed (0.949 prints 0.95 and is high), and on the best the pair reached
    const shown = Math.round(sc.score * 100) / 100;
    if (shown > pair.peak) pair.peak = shown;
    ctx.emit({
      severity: pair.peak >= this.cfg.highThreshold ? 'high' : 'medium',
      category: 'beacon',
      rule: 'interval',
      agentId,
      host: local,
      flowUid: pair.uid,
      communityId: pair.communityId,
      peer: remote,
      summary: `${local} connects to ${remote} every ~${sc.intervalSec.toFixed(1)} s (${sc.connections} connections, ` +
        `score ${shown.toFixed(2)}${pair.peak > shown ? `, peak ${pair.peak.toFixed(2)}` : ''}, ${pair.portNames().join(' ')})`,
      evidence: {
        local, remote, ports: pair.portNames(), score: r2(sc.score), peakScore: pair.peak, tsScore: r2(sc.tsScore), dsScore: r2(sc.dsScore),
        tsSkewScore: r2(sc.tsSkewScore), tsMadmScore: r2(sc.tsMadmScore), tsConnCountScore: r2(sc.tsConnCountScore),
        dsSkewScore: r2(sc.dsSkewScore), dsMadmScore: r2(sc.dsMadmScore), dsSmallnessScore: r2(sc.dsSmallnessScore),
        intervalSec: r2(sc.intervalSec), intervalMadmSec: r2(sc.intervalMadmSec), connections: sc.connections,
        gaps: sc.gaps, medianBytes: sc.medianBytes, firstUs: Math.round(pair.ts[0]! * 1e6), lastUs: pair.lastUs,
      },
      suggestedResponse: { action: 'capture-peer', peer: remote, durationSec: Math.max(600, Math.ceil(sc.intervalSec * 5)), reason: 'beaconing' },
      tsUs: pair.lastUs,
    });
  }
}
