// Retrospective analysis: import captures or dump files (importFiles) with every flow
// record fed to the analyzers, and the alerts stored in the same database. Packet time
// drives everything, so a six-hour capture imported in seconds gives the alerts live
// capture would have given.
import type { Logger } from '../../shared/log.js';
import { importFiles, type ImportOptions, type ImportSummary } from '../import/import-files.js';
import type { OutputStats } from '../alerts/outputs/alert-output.js';
import type { AnalyzerStatus } from './analyzer-host.js';
import type { AnalysisConfigInput } from './analysis-config.js';
import { createAnalysisRuntime } from './analysis-runtime.js';
import { dnsPayloadTap } from './dns-tap.js';

export interface AnalyzeImportOptions extends Omit<ImportOptions, 'db' | 'onRecord' | 'onPacket'> {
  /** SQLite database (flows and alerts) */
  db: string;
  /** "analyzers" / "analysis" / "alerts" parts of the collector config (default: every built-in) */
  analyzersConfig?: AnalysisConfigInput;
  /** config file path: error messages and the base for relative paths */
  configSource?: string;
  baseDir?: string;
  /** analyzer load/setup failures are ConfigErrors (default false: reported as alerts, skipped) */
  strict?: boolean;
  log?: Logger;
}

export interface AnalyzeImportResult {
  /** alert rows created or updated by this run */
  alerts: number;
  /** of which new rows */
  newAlerts: number;
  /** alerts the analyzers emitted (before aggregation) */
  alertEvents: number;
  /** emitted alerts per category */
  byCategory: Record<string, number>;
  /** flow records analyzed */
  records: number;
  analyzers: AnalyzerStatus[];
  loadFailures: Array<{ name: string; error: string }>;
  outputs: Array<{ name: string } & OutputStats>;
  import: ImportSummary;
}

export async function analyzeImport(files: string[], opts: AnalyzeImportOptions): Promise<AnalyzeImportResult> {
  const { analyzersConfig, configSource, baseDir, strict, db, log, ...importOpts } = opts;
  const rt = await createAnalysisRuntime({
    db,
    ...(analyzersConfig !== undefined ? { config: analyzersConfig } : {}),
    ...(configSource !== undefined ? { configSource } : {}),
    ...(baseDir !== undefined ? { baseDir } : {}),
    ...(strict !== undefined ? { strict } : {}),
    ...(log !== undefined ? { log } : {}),
    synchronous: 'normal',
  });
  const rowIds = new Set<number>();
  let newAlerts = 0;
  rt.pipeline.onChanges = (changes) => {
    for (const c of changes) {
      rowIds.add(c.alert.id);
      if (c.kind === 'new') newAlerts++;
    }
  };
  let summary: ImportSummary;
  try {
    summary = await importFiles(files, { ...importOpts, db, onRecord: rt.onRecord, onPacket: dnsPayloadTap(rt.host) });
  } finally {
    await rt.close();
  }
  const status = rt.status();
  return {
    alerts: rowIds.size,
    newAlerts,
    alertEvents: rt.pipeline.stats.received,
    byCategory: { ...rt.pipeline.stats.byCategory },
    records: rt.host.flows,
    analyzers: status.analyzers,
    loadFailures: rt.load.failed,
    outputs: status.outputs,
    import: summary,
  };
}
