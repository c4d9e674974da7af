// `meerkat alerts`: list alerts from the flow database and move them through their
// states (open -> acknowledged -> closed); `meerkat model`: train and evaluate the
// machine-signature model from the stored flows. Exit 0 ok, 1 runtime error (incl. an
// unknown alert id, too little training data), 2 usage error. --json prints JSON.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { parseDuration, parseIntOption, UsageError } from '../../shared/cli/run-cli.js';
import { ALERT_STATES, type AlertFilter, type AlertState, type StoredAlert } from '../../collector/alerts/alert-types.js';
import { SqliteAlertStore } from '../../collector/alerts/sqlite-alert-store.js';
import { SqliteFlowStore } from '../../collector/store/sqlite-flow-store.js';
import { evaluateModel, ModelFormatError, SignatureModel, trainSignatureModel, type EvalReport } from '../../collector/analyze/signature/signature-model.js';
import { windowsFromStore } from '../../collector/analyze/signature/train-from-store.js';
import { parseTimeOption } from './flows.js';

interface ListFlags {
  db: string;
  json?: boolean;
  state?: string;
  agent?: string;
  category?: string;
  limit?: number;
}

function isoUs(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString().replace('.000Z', 'Z');
}

const HEADER = ['id', 'state', 'severity', 'category', 'rule', 'agent', 'peer', 'count', 'first seen', 'last seen', 'summary'];

function row(a: StoredAlert): string[] {
  const summary = a.summary.length > 100 ? `${a.summary.slice(0, 97)}...` : a.summary;
  return [String(a.id), a.state, a.severity, a.category, a.rule || '-', a.agentId, a.peer || '-', String(a.count),
    isoUs(a.firstSeenUs), isoUs(a.lastSeenUs), summary];
}

function writeTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  process.stdout.write([line(header), ...rows.map(line)].join('\n') + '\n');
}

function parseState(text: string): AlertState {
  const s = text.toLowerCase();
  if (s === 'ack' || s === 'acked') return 'acknowledged';
  if (!(ALERT_STATES as readonly string[]).includes(s)) {
    throw new UsageError(`--state must be one of ${ALERT_STATES.join(', ')}, got ${JSON.stringify(text)}`);
  }
  return s as AlertState;
}

function openStore(db: string, readonly: boolean): SqliteAlertStore {
  if (!existsSync(db)) throw new UsageError(`no database at ${db}`);
  return new SqliteAlertStore(db, { readonly });
}

function parseId(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`alert id must be a whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}

function setState(idText: string, state: AlertState, flags: { db?: string; json?: boolean }): void {
  if (flags.db === undefined) throw new UsageError("required option '--db <path>' not specified");
  const id = parseId(idText);
  const store = openStore(flags.db, false);
  try {
    const a = store.setState(id, state);
    if (a === null) throw new Error(`no alert with id ${id} in ${flags.db}`);
    process.stdout.write(flags.json ? JSON.stringify(a) + '\n' : `alert ${a.id} is ${a.state}: ${a.summary}\n`);
  } finally {
    store.close();
  }
}

export function registerAlertsCommand(program: Command): void {
  const alerts = program
    .command('alerts')
    .description('list alerts (most recent first); "alerts ack ID" / "alerts close ID" change their state')
    .option('--db <path>', 'SQLite database of the collector (flows and alerts)')
    .option('--json', 'one JSON object per alert (JSON lines)')
    .option('--state <state>', 'open, acknowledged or closed')
    .option('--agent <id>', 'only this agent')
    .option('--category <name>', 'only this category (threat-intel, scan, beacon, ...)')
    .option('--limit <n>', 'at most N alerts', parseIntOption('--limit', 1))
    .action((flags: ListFlags) => {
      if (flags.db === undefined) throw new UsageError("required option '--db <path>' not specified");
      const filter: AlertFilter = {};
      if (flags.state !== undefined) filter.state = parseState(flags.state);
      if (flags.agent !== undefined) filter.agentId = flags.agent;
      if (flags.category !== undefined) filter.category = flags.category;
      if (flags.limit !== undefined) filter.limit = flags.limit;
      const store = openStore(flags.db, true);
      try {
        const list = store.list(filter);
        if (flags.json) {
          if (list.length > 0) process.stdout.write(list.map((a) => JSON.stringify(a)).join('\n') + '\n');
        } else {
          writeTable(HEADER, list.map(row));
          process.stderr.write(`${list.length} alert(s)\n`);
        }
      } finally {
        store.close();
      }
    });
  // --db/--json given after the subcommand land on `alerts` (commander's parent options): read both
  for (const [name, state, what] of [['ack', 'acknowledged', 'acknowledge'], ['close', 'closed', 'close']] as const) {
    alerts
      .command(`${name} <id>`)
      .description(`${what} an alert`)
      .action((id: string, _flags: unknown, cmd: Command) => setState(id, state, cmd.optsWithGlobals<{ db?: string; json?: boolean }>()))
      .exitOverride();
  }
}

interface TrainFlags {
  db: string;
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
  db: string;
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

function openFlows(db: string): SqliteFlowStore {
  if (!existsSync(db)) throw new UsageError(`no database at ${db}`);
  return new SqliteFlowStore(db, { readonly: true });
}

export function registerModelCommand(program: Command): void {
  const model = program.command('model').description('machine-signature model: train from stored flows, evaluate');
  model
    .command('train')
    .description('train the machine-signature model (random forest over per-agent time windows)')
    .requiredOption('--db <path>', 'SQLite flow database')
    .requiredOption('--out <file>', 'model file to write (JSON)')
    .option('--window <duration>', 'window length (e.g. 5m, 10m, 30s)', '5m')
    .option('--trees <n>', 'trees in the forest', parseIntOption('--trees', 1, 1000), 60)
    .option('--seed <n>', 'random seed (same data + seed = same model)', parseIntOption('--seed', 0), 1)
    .option('--holdout <fraction>', "share of each agent's latest windows held out for the accuracy report", '0.2')
    .option('--min-records <n>', 'records a window needs', parseIntOption('--min-records', 1), 5)
    .option('--min-windows <n>', 'windows an agent needs to be learned', parseIntOption('--min-windows', 2), 6)
    .option('--json', 'print the report as JSON')
    .action((flags: TrainFlags) => {
      const windowSec = parseDuration(flags.window);
      if (!(windowSec >= 1)) throw new UsageError(`--window must be at least 1s, got ${JSON.stringify(flags.window)}`);
      const holdout = Number(flags.holdout ?? '0.2');
      if (!(holdout > 0 && holdout < 1)) throw new UsageError(`--holdout must be between 0 and 1, got ${JSON.stringify(flags.holdout)}`);
      const windowUs = Math.round(windowSec * 1e6);
      const store = openFlows(flags.db);
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
  model
    .command('eval')
    .description("accuracy of a model on the stored flows' windows")
    .requiredOption('--db <path>', 'SQLite flow database')
    .requiredOption('--model <file>', 'model file from "meerkat model train"')
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
      const store = openFlows(flags.db);
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
      if (report.windows === 0) throw new Error(`no windows of the model's agents (${m.classes.join(', ')}) in ${flags.db}`);
      process.stdout.write((flags.json ? JSON.stringify(report) : reportText('accuracy', report)) + '\n');
    });
  for (const c of model.commands) c.exitOverride();
}
