// Retrospective analysis: import captures or dump files (importFiles) with every flow
// record fed to the analyzers, and the alerts stored in the same database. Packet time
// drives everything, so a six-hour capture imported in seconds gives the alerts live
// capture would have given.
import type { Logger } from '../../shared/log.js';
import { importFiles, type ImportOptions, type ImportSummary } from '../import/import-files.js';
import type { OutputStats } from '../alerts/outputs/alert-output.js';
import type { AnalyzerStatus } from './analyzer-host.js';
import type { AnalysisConfigInput } from './analysis-config.js';
import { createAnalysisRuntime, startIsolatedAnalysis, type FlowAnalysis } from './analysis-runtime.js';

export interface AnalyzeImportOptions extends Omit<ImportOptions, 'db' | 'onRecord' | 'onPacket' | 'onAppRecord'> {
  /** SQLite database (flows and alerts) */
  db: string;
  /** "analyzers" / "analysis" / "alerts" parts of the collector config (default: every built-in) */
  analyzersConfig?: AnalysisConfigInput;
  /** config file path: error messages and the base for relative paths */
  configSource?: string;
  baseDir?: string;
  /** analyzer load/setup failures are ConfigErrors (default false: reported as alerts, skipped) */
  strict?: boolean;
  /**
   * Where the analyzers run: 'in-process' (default: the cheapest per record, see
   * docs/analyzers.md) or 'worker' (as the live collector runs them: a stalled analyzer is
   * stopped; the import waits for the workers, it never drops records).
   */
  analyzers?: 'in-process' | 'worker';
  log?: Logger;
}

export interface AnalyzeImportResult {
  /** alert rows created or updated by this run */
  alerts: number;
  /** of which new rows */
  newAlerts: number;
  /** hits: occurrences the analyzers reported (each goes into an alert row; several into one) */
  hits: number;
  /** hits per category */
  hitsByCategory: Record<string, number>;
  /** flow records analyzed */
  records: number;
  analyzers: AnalyzerStatus[];
  loadFailures: Array<{ name: string; error: string }>;
  outputs: Array<{ name: string } & OutputStats>;
  import: ImportSummary;
}

export async function analyzeImport(files: string[], opts: AnalyzeImportOptions): Promise<AnalyzeImportResult> {
  const { analyzersConfig, configSource, baseDir, strict, db, log, analyzers: where, ...importOpts } = opts;
  const runtimeOpts = {
    db,
    ...(analyzersConfig !== undefined ? { config: analyzersConfig } : {}),
    ...(configSource !== undefined ? { configSource } : {}),
    ...(baseDir !== undefined ? { baseDir } : {}),
    ...(strict !== undefined ? { strict } : {}),
    ...(log !== undefined ? { log } : {}),
    synchronous: 'normal' as const,
  };
  let rt: FlowAnalysis;
  if (where === 'worker') {
    const iso = await startIsolatedAnalysis(runtimeOpts);
    iso.pool.blockWhenBusy = true;
    rt = iso;
  } else {
    rt = await createAnalysisRuntime(runtimeOpts);
  }
  const rowIds = new Set<number>();
  let newAlerts = 0;
  rt.pipeline.onChanges = (changes) => {
    for (const c of changes) {
      rowIds.add(c.alert.id);
      if (c.kind === 'new') newAlerts++;
    }
  };
  let records = 0;
  const onRecord = rt.onRecord;
  let summary: ImportSummary;
  try {
    summary = await importFiles(files, { ...importOpts, db, onRecord: (r) => { records++; onRecord(r); }, onPacket: rt.onPacket, onAppRecord: rt.onAppRecord });
  } finally {
    await rt.close();
  }
  const status = rt.status();
  return {
    alerts: rowIds.size,
    newAlerts,
    hits: rt.pipeline.stats.received,
    hitsByCategory: { ...rt.pipeline.stats.byCategory },
    records,
    analyzers: status.analyzers,
    loadFailures: [...rt.loadFailures()],
    outputs: status.outputs,
    import: summary,
  };
}
