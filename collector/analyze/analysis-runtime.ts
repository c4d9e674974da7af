// Everything the collector needs to analyze a flow stream, built from the config:
// the alert store (in the flow database), the outputs, the alert pipeline and the
// analyzer host with its analyzers loaded. Used by analyzeImport and meant for the live
// collector: give `onRecord` to DumpIngest's onRecord, pass `flushEveryMs` (alerts are
// never written from inside onRecord, which runs in the flow store's transaction), call
// `host.advanceAgent()` with an agent's packet-time watermark, and `close()` at shutdown.
import { dirname } from 'node:path';
import { ConfigError } from '../../shared/config/load-config.js';
import { logger, type Logger } from '../../shared/log.js';
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import { AlertPipeline } from '../alerts/alert-pipeline.js';
import { createOutputs } from '../alerts/outputs/create-outputs.js';
import type { AlertOutput, OutputStats } from '../alerts/outputs/alert-output.js';
import { SqliteAlertStore } from '../../shared/alerts/sqlite-alert-store.js';
import { AnalyzerHost, type AnalyzerStatus } from './analyzer-host.js';
import { analyzerPlan, describePlan, parseAnalysisConfig, type AnalysisConfig, type AnalysisConfigInput, type PlannedAnalyzer } from './analysis-config.js';
import { loadAnalyzers, type LoadResult } from './load-analyzers.js';

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

export interface AnalysisRuntime {
  host: AnalyzerHost;
  pipeline: AlertPipeline;
  store: SqliteAlertStore;
  outputs: readonly AlertOutput[];
  load: LoadResult;
  config: AnalysisConfig;
  /** the analyzers the config asks for (resolved over the defaults) */
  plan: PlannedAnalyzer[];
  /** the importer's / DumpIngest's onRecord */
  onRecord: (rec: FlowRecord) => void;
  /** writes pending alerts (call from a safe point: not inside another write transaction) */
  flush(): void;
  /** final tick, flush, close analyzers and outputs and the alert store */
  close(): Promise<void>;
  status(): { analyzers: AnalyzerStatus[]; outputs: Array<{ name: string } & OutputStats> };
}

/** Says at start which analyzers run, with which feeds or model, and what is configured but idle. */
export function logPlan(plan: readonly PlannedAnalyzer[], log: Logger): void {
  const d = describePlan(plan);
  log.info({ analyzers: d.running, disabled: d.disabled }, `analyzers: ${d.running.map((r) => r.name).join(', ') || 'none'}`);
  for (const w of d.warnings) log.warn(w);
}

export async function createAnalysisRuntime(opts: AnalysisRuntimeOptions): Promise<AnalysisRuntime> {
  const config = parseAnalysisConfig(opts.config, opts.configSource);
  const plan = analyzerPlan(config, opts.configSource);
  logPlan(plan, opts.log ?? logger('analyze'));
  const baseDir = opts.baseDir ?? (opts.configSource ? dirname(opts.configSource) : process.cwd());
  const store = new SqliteAlertStore(opts.db, { synchronous: opts.synchronous ?? 'full' });
  const outputs = createOutputs(config.alerts?.outputs ?? []);
  const pipeline = new AlertPipeline(store, outputs, {
    notify: config.alerts?.notify ?? 'new-and-escalated',
    maxPending: config.alerts?.maxPending ?? 50_000,
  });
  const a = config.analysis;
  const host = new AnalyzerHost({
    sink: pipeline.add,
    tickIntervalUs: a.tickIntervalSec * 1e6,
    budget: a.budget,
    ...(a.internalPrefixes ? { internalPrefixes: a.internalPrefixes } : {}),
    hosts: { pinned: a.hostAddresses },
    baseDir,
    ...(opts.log ? { log: opts.log } : {}),
  });
  let load: LoadResult;
  try {
    load = await loadAnalyzers(host, plan);
    if (opts.strict && load.failed.length > 0) {
      throw new ConfigError(`${opts.configSource ?? 'analysis config'}: ` +
        load.failed.map((f) => `analyzer ${f.name}: ${f.error}`).join('; '));
    }
  } catch (e) {
    host.close();
    await pipeline.close(1000);
    store.close();
    throw e;
  }
  if (opts.flushEveryMs !== undefined) pipeline.startTimer(opts.flushEveryMs);
  let closed = false;
  return {
    host, pipeline, store, outputs, load, config, plan,
    onRecord: (rec) => host.onFlow(rec),
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
  };
}
