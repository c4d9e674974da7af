// Everything the collector needs to analyze a flow stream, built from the config: the
// alert store (in the flow database), the outputs, the alert pipeline, and the analyzers,
// either in this thread (createAnalysisRuntime: offline import, tests) or in worker threads
// (startIsolatedAnalysis: the live collector, where an analyzer must never stall ingest).
// Both are a FlowAnalysis: give `onRecord` to DumpIngest's onRecord and `onPacket` to its
// onPacket, pass `flushEveryMs` (alerts are never written from inside onRecord, which runs
// in the flow store's transaction), call `advanceAgent()` with an agent's packet-time
// watermark, and `close()` at shutdown.
import { dirname } from 'node:path';
import { ConfigError } from '../../shared/config/load-config.js';
import { logger, type Logger } from '../../shared/log.js';
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import type { PacketRecord } from '../../shared/packet/packet-record.js';
import type { AppRecord } from '../../shared/flow/app-records.js';
import { AlertPipeline, type AlertPipelineOptions } from '../alerts/alert-pipeline.js';
import { createOutputs } from '../alerts/outputs/create-outputs.js';
import type { AlertOutput, OutputStats } from '../alerts/outputs/alert-output.js';
import { SqliteAlertStore } from '../../shared/alerts/sqlite-alert-store.js';
import { AnalyzerHost, type AnalyzerHostOptions, type AnalyzerStatus } from './analyzer-host.js';
import { analyzerPlan, describePlan, parseAnalysisConfig, type AnalysisConfig, type AnalysisConfigInput, type PlannedAnalyzer } from './analysis-config.js';
import { loadAnalyzers, type LoadResult } from './load-analyzers.js';
import { dnsPayloadTap } from './dns-tap.js';
import { AnalyzerPool } from './analyzer-pool.js';
import type { AnalysisMetrics } from './analysis-metrics.js';

export interface AnalysisRuntimeOptions {
  /** the flow database path (alerts go into the same file) */
  db: string;
  /** the analysis part of the collector config ("analyzers", "analysis", "alerts"); default: all built-ins */
  config?: AnalysisConfigInput;
  /** where the config came from (error messages) and the folder relative paths resolve against */
  configSource?: string;
  baseDir?: string;
  /** any analyzer that fails to load or set up is a ConfigError instead of a reported, skipped analyzer */
  strict?: boolean;
  /** 'normal' trades the last alert batch on power loss for speed (bulk imports) */
  synchronous?: 'full' | 'normal';
  /** flush pending alerts every this many ms of wall clock (live collector; delivery latency only) */
  flushEveryMs?: number;
  log?: Logger;
}

/** The flow stream's analysis, wherever the analyzers run. */
export interface FlowAnalysis {
  readonly config: AnalysisConfig;
  /** the analyzers the config asks for (resolved over the defaults) */
  readonly plan: PlannedAnalyzer[];
  /** folder relative paths in analyzer configs resolve against */
  readonly baseDir: string;
  readonly pipeline: AlertPipeline;
  readonly store: SqliteAlertStore;
  readonly outputs: readonly AlertOutput[];
  /** the importer's / DumpIngest's onRecord (never writes: it runs inside the flow transaction) */
  readonly onRecord: (rec: FlowRecord) => void;
  /** every packet record before the flow engine (DNS names of captured payload) */
  readonly onPacket: (rec: PacketRecord, agentId: string, hasMeta?: boolean) => void;
  /** DNS transactions, TLS handshakes and HTTP requests (DumpIngest's onAppRecord) */
  readonly onAppRecord: (app: AppRecord) => void;
  /** an agent's packet time moved forward without records (its windows may close) */
  advanceAgent(agentId: string, tUs: number): void;
  /** writes pending alerts (call from a safe point: not inside another write transaction) */
  flush(): void;
  /** final tick, flush, close analyzers and outputs and the alert store */
  close(): Promise<void>;
  status(): { analyzers: AnalyzerStatus[]; outputs: Array<{ name: string } & OutputStats> };
  /** problems that make the collector degraded (reasons) and standing facts worth knowing (notes) */
  health(): { reasons: string[]; notes: string[] };
  /** analyzers that could not be loaded or set up at start */
  loadFailures(): ReadonlyArray<{ name: string; error: string }>;
}

/** The in-process analysis (its host is reachable: offline import, tests). */
export interface AnalysisRuntime extends FlowAnalysis {
  readonly host: AnalyzerHost;
  readonly load: LoadResult;
}

/** Says at start which analyzers run, with which feeds or model, and what is configured but idle. */
function logPlan(plan: readonly PlannedAnalyzer[], log: Logger): void {
  const d = describePlan(plan);
  log.info({ analyzers: d.running, disabled: d.disabled }, `analyzers: ${d.running.map((r) => r.name).join(', ') || 'none'}`);
  for (const w of d.warnings) log.warn(w);
}

/** Config, plan and the alert side (store, outputs, pipeline): what both runtimes share. */
function openAlertSide(opts: AnalysisRuntimeOptions): { config: AnalysisConfig; plan: PlannedAnalyzer[]; baseDir: string; log: Logger; store: SqliteAlertStore; outputs: AlertOutput[]; pipeline: AlertPipeline } {
  const config = parseAnalysisConfig(opts.config, opts.configSource);
  const plan = analyzerPlan(config, opts.configSource);
  const log = opts.log ?? logger('analyze');
  logPlan(plan, log);
  const baseDir = opts.baseDir ?? (opts.configSource ? dirname(opts.configSource) : process.cwd());
  const store = new SqliteAlertStore(opts.db, { synchronous: opts.synchronous ?? 'full' });
  const outputs = createOutputs(config.alerts?.outputs ?? []);
  const pipeline = alertPipelineFor(config, store, outputs);
  return { config, plan, baseDir, log, store, outputs, pipeline };
}

/** The alert pipeline with the "alerts" settings (notify, maxPending). */
export function alertPipelineFor(config: AnalysisConfig, store: SqliteAlertStore | null, outputs: readonly AlertOutput[], opts: AlertPipelineOptions = {}): AlertPipeline {
  return new AlertPipeline(store, outputs, {
    notify: config.alerts?.notify ?? 'new-and-escalated',
    maxPending: config.alerts?.maxPending ?? 50_000,
    ...opts,
  });
}

/** An in-thread analyzer host with the "analysis" settings (tick, budgets, internal prefixes, host addresses). */
export function analyzerHostFor(config: AnalysisConfig, sink: AnalyzerHostOptions['sink'], baseDir: string, log: Logger): AnalyzerHost {
  const a = config.analysis;
  return new AnalyzerHost({
    sink,
    tickIntervalUs: a.tickIntervalSec * 1e6,
    budget: a.budget,
    ...(a.internalPrefixes ? { internalPrefixes: a.internalPrefixes } : {}),
    hosts: { pinned: a.hostAddresses },
    baseDir,
    log,
  });
}

function strictCheck(opts: AnalysisRuntimeOptions, failed: ReadonlyArray<{ name: string; error: string }>): void {
  if (opts.strict && failed.length > 0) {
    throw new ConfigError(`${opts.configSource ?? 'analysis config'}: ` + failed.map((f) => `analyzer ${f.name}: ${f.error}`).join('; '));
  }
}

/** Analyzers in this thread. */
export async function createAnalysisRuntime(opts: AnalysisRuntimeOptions): Promise<AnalysisRuntime> {
  const { config, plan, baseDir, log, store, outputs, pipeline } = openAlertSide(opts);
  const host = analyzerHostFor(config, pipeline.add, baseDir, log);
  let load: LoadResult;
  try {
    load = await loadAnalyzers(host, plan);
    strictCheck(opts, load.failed);
  } catch (e) {
    host.close();
    await pipeline.close(1000);
    store.close();
    throw e;
  }
  if (opts.flushEveryMs !== undefined) pipeline.startTimer(opts.flushEveryMs);
  let closed = false;
  return {
    host, pipeline, store, outputs, load, config, plan, baseDir,
    onRecord: (rec) => host.onFlow(rec),
    onPacket: dnsPayloadTap(host),
    onAppRecord: (app) => host.onApp(app),
    advanceAgent: (agentId, tUs) => host.advanceAgent(agentId, tUs),
    flush: () => { pipeline.flush(); },
    close: async () => {
      if (closed) return;
      closed = true;
      host.finish();
      host.close();
      await pipeline.close();
      store.close();
    },
    status: () => ({
      analyzers: host.status(),
      outputs: outputs.map((o) => ({ name: o.name, ...o.stats() })),
    }),
    health: () => ({ reasons: [], notes: host.status().filter((s) => !s.enabled).map((s) => `analyzer ${s.name} disabled: ${s.disabledReason ?? ''}`) }),
    loadFailures: () => load.failed,
  };
}

/** The analysis in worker threads (analyzer-pool.ts), with its metrics. */
export interface IsolatedAnalysis extends FlowAnalysis {
  readonly pool: AnalyzerPool;
  readonly metrics: AnalysisMetrics;
}

/** Analyzers in worker threads, watched: a stalled analyzer is stopped while ingest goes on. */
export async function startIsolatedAnalysis(opts: AnalysisRuntimeOptions & { batchFlows?: number; maxQueuedFlows?: number }): Promise<IsolatedAnalysis> {
  const { config, plan, baseDir, log, store, outputs, pipeline } = openAlertSide(opts);
  const a = config.analysis;
  let pool: AnalyzerPool | null = null;
  // prom-client loads with the worker pool only: in-process analysis (import) has no /metrics
  const { AnalysisMetrics } = await import('./analysis-metrics.js');
  const metrics = new AnalysisMetrics({ status: () => pool?.status() ?? [], queuedFlows: () => pool?.queuedFlows() ?? new Map() });
  try {
    pool = await AnalyzerPool.start({
      plan, baseDir, log, metrics,
      sink: pipeline.add,
      tickIntervalUs: a.tickIntervalSec * 1e6,
      budget: a.budget,
      ...(a.internalPrefixes ? { internalPrefixes: a.internalPrefixes } : {}),
      hostAddresses: a.hostAddresses,
      ...(opts.batchFlows !== undefined ? { batchFlows: opts.batchFlows } : {}),
      ...(opts.maxQueuedFlows !== undefined ? { maxQueuedFlows: opts.maxQueuedFlows } : {}),
    });
    strictCheck(opts, pool.startFailures);
  } catch (e) {
    await pool?.close();
    await pipeline.close(1000);
    store.close();
    throw e;
  }
  const p = pool;
  if (opts.flushEveryMs !== undefined) pipeline.startTimer(opts.flushEveryMs);
  let closed = false;
  return {
    pool: p, metrics, pipeline, store, outputs, config, plan, baseDir,
    onRecord: p.onRecord,
    onPacket: dnsPayloadTap(p),
    onAppRecord: p.onAppRecord,
    advanceAgent: (agentId, tUs) => p.advanceAgent(agentId, tUs),
    flush: () => { pipeline.flush(); },
    close: async () => {
      if (closed) return;
      closed = true;
      await p.close();
      await pipeline.close();
      store.close();
    },
    status: () => ({
      analyzers: p.status(),
      outputs: outputs.map((o) => ({ name: o.name, ...o.stats() })),
    }),
    health: () => p.health(),
    loadFailures: () => p.startFailures,
  };
}
