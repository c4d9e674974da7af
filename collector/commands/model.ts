// `meerkat-collector model train|eval`: train the machine-signature model from the flows in
// the collector's database and measure a model's accuracy on them. The collector loads the
// model it trains (collector/analyze/signature). Exit 0 ok, 1 runtime error (too little
// training data), 2 usage error. --json prints JSON.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { parseIntOption, UsageError } from '../../shared/cli/run-cli.js';
import { ONE_SECOND_OR_MORE, parseDuration } from '../../shared/cli/duration.js';
import { SqliteFlowStore } from '../../shared/store/sqlite-flow-store.js';
import { evaluateModel, ModelFormatError, SignatureModel, trainSignatureModel, type EvalReport } from '../analyze/signature/signature-model.js';
import { windowsFromStore } from '../analyze/signature/train-from-store.js';
import { parseTimeOption } from '../../shared/cli/time-option.js';
import { collectorDbPath } from '../flow-service.js';
import { hostFrom, hostOptions } from './host-options.js';

interface TrainFlags {
  db?: string;
  config?: string;
  stateDir?: string;
  out: string;
  window: string;
  trees?: number;
  seed?: number;
  holdout?: string;
  minRecords?: number;
  minWindows?: number;
  json?: boolean;
}

interface EvalFlags {
  db?: string;
  config?: string;
  stateDir?: string;
  model: string;
  since?: string;
  until?: string;
  json?: boolean;
}

function reportText(title: string, r: EvalReport): string {
  const lines = [`${title}: ${(r.accuracy * 100).toFixed(1)} % of ${r.windows} windows (${r.correct} correct)`];
  for (const [agent, a] of Object.entries(r.perAgent).sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
    lines.push(`  ${agent.padEnd(24)} ${(a.accuracy * 100).toFixed(1).padStart(5)} %  ${a.correct}/${a.windows}` +
      (a.confusedWith ? `  (mistaken for ${a.confusedWith})` : ''));
  }
  return lines.join('\n');
}

/** --db, else this host's collector database (found as every meerkat-collector command finds it). */
function dbOf(flags: { db?: string; config?: string; stateDir?: string }): string {
  return flags.db ?? collectorDbPath(hostFrom(flags).config);
}

function openFlows(db: string): SqliteFlowStore {
  if (!existsSync(db)) throw new UsageError(`no database at ${db}`);
  return new SqliteFlowStore(db, { readonly: true });
}

export function registerModelCommand(program: Command): void {
  const model = program.command('model').description('machine-signature model: train from stored flows, evaluate');
  hostOptions(model
    .command('train')
    .description('train the machine-signature model (random forest over per-agent time windows)'))
    .option('--db <path>', 'SQLite flow database (default: this host\'s collector database)')
    .requiredOption('--out <file>', 'model file to write (JSON)')
    .option('--window <duration>', 'window length (e.g. 5m, 10m, 30s)', '5m')
    .option('--trees <n>', 'trees in the forest', parseIntOption('--trees', 1, 1000), 60)
    .option('--seed <n>', 'random seed (same data + seed = same model)', parseIntOption('--seed', 0), 1)
    .option('--holdout <fraction>', "share of each agent's latest windows held out for the accuracy report", '0.2')
    .option('--min-records <n>', 'records a window needs', parseIntOption('--min-records', 1), 5)
    .option('--min-windows <n>', 'windows an agent needs to be learned', parseIntOption('--min-windows', 2), 6)
    .option('--json', 'print the report as JSON')
    .action((flags: TrainFlags) => {
      const windowSec = parseDuration(flags.window, '--window', ONE_SECOND_OR_MORE) / 1000;
      const holdout = Number(flags.holdout ?? '0.2');
      if (!(holdout > 0 && holdout < 1)) throw new UsageError(`--holdout must be between 0 and 1, got ${JSON.stringify(flags.holdout)}`);
      const windowUs = Math.round(windowSec * 1e6);
      const store = openFlows(dbOf(flags));
      let m: SignatureModel;
      let records = 0;
      try {
        const w = windowsFromStore(store, { windowUs, minRecords: flags.minRecords ?? 5 });
        records = w.records;
        m = trainSignatureModel(w.windows, {
          windowUs, minRecords: flags.minRecords ?? 5, holdoutFraction: holdout, minWindows: flags.minWindows ?? 6,
          trees: flags.trees ?? 60, seed: flags.seed ?? 1,
        });
      } finally {
        store.close();
      }
      m.save(flags.out);
      const j = m.json;
      if (flags.json) {
        process.stdout.write(JSON.stringify({ out: flags.out, records, windowSec, classes: j.classes, training: j.training, holdout: j.holdout }) + '\n');
        return;
      }
      const skipped = Object.entries(j.training.skippedAgents);
      process.stdout.write([
        `model written to ${flags.out}: ${j.classes.length} agents, ${j.training.windows} training windows of ${windowSec} s ` +
          `from ${records} flow records, ${j.training.trees} trees`,
        ...(skipped.length > 0 ? [`agents left out (too few windows): ${skipped.map(([a, n]) => `${a} (${n})`).join(', ')}`] : []),
        reportText(`held-out accuracy (latest ${Math.round(holdout * 100)} % of each agent's windows)`, j.holdout),
      ].join('\n') + '\n');
    });
  hostOptions(model
    .command('eval')
    .description("accuracy of a model on the stored flows' windows"))
    .option('--db <path>', 'SQLite flow database (default: this host\'s collector database)')
    .requiredOption('--model <file>', 'model file from "meerkat-collector model train"')
    .option('--since <time>', 'windows from (ISO time, epoch seconds, or a duration ago)')
    .option('--until <time>', 'windows until')
    .option('--json', 'print the report as JSON')
    .action((flags: EvalFlags) => {
      let m: SignatureModel;
      try {
        m = SignatureModel.load(flags.model);
      } catch (e) {
        if (e instanceof ModelFormatError) throw new UsageError(e.message);
        throw e;
      }
      const store = openFlows(dbOf(flags));
      let report: EvalReport;
      try {
        const w = windowsFromStore(store, {
          windowUs: m.json.windowUs, minRecords: m.json.minRecords,
          ...(flags.since !== undefined ? { since: parseTimeOption('--since', flags.since) } : {}),
          ...(flags.until !== undefined ? { until: parseTimeOption('--until', flags.until) } : {}),
        });
        report = evaluateModel(m, w.windows);
      } finally {
        store.close();
      }
      if (report.windows === 0) throw new Error(`no windows of the model's agents (${m.classes.join(', ')}) in ${dbOf(flags)}`);
      process.stdout.write((flags.json ? JSON.stringify(report) : reportText('accuracy', report)) + '\n');
    });
  for (const c of model.commands) c.exitOverride();
}
