// Analysis in the flow workers (docs/scale-out.md "Analyzers and alerts in the workers"): per
// organisation the analyzer plan of the collector config (the keys "analyzers", "analysis",
// "alerts", as the single process reads them), its threat watchlist, its alert outputs and its
// alert store in PostgreSQL; per owned partition an analyzer host of its own with the same
// analyzers and taps the single process wires to its flow side (flow and DNS/TLS/HTTP records,
// DNS names in captured payload, per-packet and per-metadata threat-intel checks). Alerts are
// aggregated in memory and taken by the worker for the transaction that commits the dumps they
// came from; once it committed, the changes go to the outputs and to the automatic responses
// (worker-responses.ts) when the "responses" key has rules.
//
// The analyzers run in the worker's thread (AnalyzerHost, as `meerkat-collector analyze` does),
// not in analyzer worker threads: an alert must be emitted before its batch commits, and the
// host's time budgets disable an analyzer that is too slow.
import type pg from 'pg';
import type { NatsConnection } from 'nats';
import type { Logger } from '../../shared/log.js';
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import type { AppRecord } from '../../shared/flow/app-records.js';
import type { AppMeta } from '../../shared/appmeta/meta-record.js';
import type { PacketRecord } from '../../shared/packet/packet-record.js';
import type { AggregatedAlert, AlertChange } from '../../shared/alerts/alert-types.js';
import { PgAlertStore } from '../../shared/alerts/pg-alert-store.js';
import type { AlertPipeline } from '../alerts/alert-pipeline.js';
import { createOutputs } from '../alerts/outputs/create-outputs.js';
import type { AlertOutput } from '../alerts/outputs/alert-output.js';
import type { AnalyzerHost } from '../analyze/analyzer-host.js';
import { alertPipelineFor, analyzerHostFor } from '../analyze/analysis-runtime.js';
import { analyzerPlan, describePlan, parseAnalysisConfig, type AnalysisConfig, type AnalysisConfigInput, type PlannedAnalyzer } from '../analyze/analysis-config.js';
import { loadAnalyzers } from '../analyze/load-analyzers.js';
import { dnsPayloadTap } from '../analyze/dns-tap.js';
import { ThreatWatchlist } from '../respond/threat-watchlist.js';
import { PacketThreatTap } from '../respond/packet-threat-tap.js';
import { MetaThreatTap } from '../respond/meta-threat-tap.js';
import type { ResponseRule } from '../respond/response-config.js';
import { loadOrCreateResponseKey } from '../respond/response-key.js';
import { WorkerResponder } from './worker-responses.js';

/** What the workers analyze with: the collector config's analysis keys. */
export interface WorkerAnalysisConfig {
  /** the collector config's "analyzers", "analysis" and "alerts" keys */
  config: AnalysisConfigInput;
  /** where it came from (error messages) */
  configSource: string;
  /** the folder relative paths in analyzer configs (feeds, user modules) resolve against */
  baseDir: string;
  /** the "responses" rules (none: no automatic responses) and where each organisation's response key is */
  responses?: { rules: readonly ResponseRule[]; keyDir: (org: string) => string; retryMs?: number };
}

/** One organisation's analysis in a worker: plan, watchlist, outputs, alert store. */
export class OrgAnalysis {
  private constructor(
    readonly org: string,
    readonly store: PgAlertStore,
    readonly config: AnalysisConfig,
    readonly plan: readonly PlannedAnalyzer[],
    private readonly baseDir: string,
    readonly watchlist: ThreatWatchlist,
    readonly outputs: readonly AlertOutput[],
    readonly responder: WorkerResponder | null,
    private readonly log: Logger,
  ) {}

  /** Checks the config (ConfigError naming the key), opens the alert table and the outputs, starts the watchlist. */
  static async open(pool: pg.Pool, nc: NatsConnection, org: string, c: WorkerAnalysisConfig, log: Logger): Promise<OrgAnalysis> {
    const config = parseAnalysisConfig(c.config, c.configSource);
    const plan = analyzerPlan(config, c.configSource);
    const d = describePlan(plan);
    log.info({ org, analyzers: d.running, disabled: d.disabled }, `analyzers: ${d.running.map((r) => r.name).join(', ') || 'none'}`);
    for (const w of d.warnings) log.warn({ org }, w);
    const store = await PgAlertStore.open(pool, org);
    const watchlist = ThreatWatchlist.fromPlan(plan, c.baseDir, log.child({ org, part: 'watchlist' })).start();
    const outputs = createOutputs(config.alerts?.outputs ?? []);
    let responder: WorkerResponder | null = null;
    const r = c.responses;
    if (r !== undefined && r.rules.length > 0) {
      // every worker must sign with the same key, the one the agents authorised: copy the directory to each worker host
      const rk = loadOrCreateResponseKey(r.keyDir(org));
      (rk.created ? log.warn.bind(log) : log.info.bind(log))({ org, keyId: rk.key.keyId, pub: rk.pubFile, created: rk.created, rules: r.rules.length },
        rk.created ? 'automatic responses: a NEW response key was created; every worker needs this same key (copy its directory) and the agents must authorise it'
          : 'automatic responses on');
      responder = await WorkerResponder.open({
        org, schema: store.schema, pool, nc, rules: r.rules, key: rk.key, log: log.child({ org, role: 'responses' }),
        ...(r.retryMs !== undefined ? { retryMs: r.retryMs } : {}),
      });
    }
    return new OrgAnalysis(org, store, config, plan, c.baseDir, watchlist, outputs, responder, log);
  }

  /** A partition's analyzers: a host of its own (its state is the partition's, dropped with it). */
  async forPartition(part: number): Promise<PartitionAnalysis> {
    const log = this.log.child({ org: this.org, part, role: 'analyze' });
    const pipeline = alertPipelineFor(this.config, null, this.outputs, { autoFlush: false });
    if (this.responder !== null) pipeline.onChanges = this.responder.onChanges;
    const host = analyzerHostFor(this.config, pipeline.add, this.baseDir, log);
    try {
      const load = await loadAnalyzers(host, this.plan);
      for (const f of load.failed) log.error({ analyzer: f.name, err: f.error }, 'analyzer not loaded');
    } catch (e) {
      host.close();
      throw e;
    }
    return new PartitionAnalysis(host, pipeline, new PacketThreatTap(this.watchlist, pipeline.add), new MetaThreatTap(this.watchlist, pipeline.add));
  }

  /** Stops the watchlist and the responses, waits for the outputs to deliver (bounded) and closes them. */
  async close(timeoutMs = 10_000): Promise<void> {
    this.watchlist.stop();
    await this.responder?.close();
    await Promise.all(this.outputs.map((o) => o.drain(timeoutMs)));
    await Promise.all(this.outputs.map((o) => o.close()));
  }
}

/** One partition's analyzers and taps; alerts wait in its pipeline until the worker takes them for a commit. */
export class PartitionAnalysis {
  private readonly dnsTap: (rec: PacketRecord, agentId: string, hasMeta?: boolean) => number;
  private closed = false;

  constructor(readonly host: AnalyzerHost, readonly pipeline: AlertPipeline, private readonly packetTap: PacketThreatTap, private readonly metaTap: MetaThreatTap) {
    this.dnsTap = dnsPayloadTap(host);
  }

  readonly onRecord = (rec: FlowRecord): void => { this.host.onFlow(rec); };
  readonly onApp = (a: AppRecord): void => { this.host.onApp(a); };
  /** every packet record before the flow engine (feedDump's tap) */
  readonly onPacket = (rec: PacketRecord, agentId: string, hasMeta: boolean): void => {
    this.dnsTap(rec, agentId, hasMeta);
    this.packetTap.tap(rec, agentId);
  };

  /** every metadata record with its packet (feedDump's onMeta) */
  readonly onMeta = (m: AppMeta, rec: PacketRecord, agentId: string): void => { this.metaTap.tap(m, rec, agentId); };

  advanceAgent(agentId: string, tUs: number): void {
    this.host.advanceAgent(agentId, tUs);
  }

  /** The alerts aggregated since the last call, for the next commit. */
  takeBatch(): AggregatedAlert[] {
    return this.pipeline.takeBatch();
  }

  /** After the commit: the stored changes to the outputs. */
  deliver(changes: readonly AlertChange[]): void {
    if (changes.length > 0) this.pipeline.deliver(changes);
  }

  /** The last tick (partial windows evaluated), as the single process does at stop. */
  finish(): void {
    this.host.finish();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.close();
  }
}
