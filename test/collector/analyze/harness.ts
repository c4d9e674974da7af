// Runs analyzers over flow records through the real AnalyzerHost and collects what they
// emit; reads real captures through the real importer (importFiles + onRecord).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Analyzer } from '../../../collector/analyze/analyzer.js';
import type { EmittedAlert } from '../../../shared/alerts/alert-record.js';
import { AnalyzerHost, type AnalyzerHostOptions } from '../../../collector/analyze/analyzer-host.js';
import type { FlowRecord } from '../../../shared/flow/flow-record.js';
import { importFiles, type ImportOptions } from '../../../collector/import/import-files.js';

/** A logger that drops everything (tests check behaviour, not log lines). */
export const quietLog = pino({ level: 'silent' });

export interface HostRun {
  host: AnalyzerHost;
  alerts: EmittedAlert[];
}

/** A host with the given analyzers set up (configs in order). */
export async function makeHost(analyzers: Array<[Analyzer, unknown]>, opts: Partial<AnalyzerHostOptions> = {}): Promise<HostRun> {
  const alerts: EmittedAlert[] = [];
  const host = new AnalyzerHost({ sink: (a) => alerts.push(a), log: quietLog, ...opts });
  for (const [a, c] of analyzers) await host.add(a, c);
  return { host, alerts };
}

/** Feeds records (then a final tick) and returns the alerts. */
export async function runRecords(analyzers: Array<[Analyzer, unknown]>, records: readonly FlowRecord[],
  opts: Partial<AnalyzerHostOptions> = {}): Promise<HostRun> {
  const run = await makeHost(analyzers, opts);
  for (const r of records) run.host.onFlow(r);
  run.host.finish();
  run.host.close();
  return run;
}

/** Flow records of capture files through the real importer (temporary database). */
export async function recordsOf(files: string[], opts: Partial<ImportOptions> = {}): Promise<FlowRecord[]> {
  const dir = mkdtempSync(join(tmpdir(), 'meerkat-analyze-'));
  const out: FlowRecord[] = [];
  try {
    await importFiles(files, { db: join(dir, 'f.db'), progress: false, onRecord: (r) => out.push({ ...r }), ...opts });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

export function tempDir(prefix = 'meerkat-analyze-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
