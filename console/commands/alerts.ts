// `meerkat alerts`: list alerts from the flow database and move them through their
// states (open -> acknowledged -> closed). Exit 0 ok, 1 runtime error (incl. an unknown
// alert id), 2 usage error. --json prints each alert as its documented view (alertView:
// the fields of docs/analyzers.md "The alert as JSON", no internal key).
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { parseIntOption, UsageError } from '../../shared/cli/run-cli.js';
import { ALERT_STATES, alertView, type AlertFilter, type AlertState, type StoredAlert } from '../../shared/alerts/alert-types.js';
import { SqliteAlertStore } from '../../shared/alerts/sqlite-alert-store.js';

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

const HEADER = ['id', 'state', 'severity', 'category', 'rule', 'agent', 'host', 'peer', 'count', 'first seen', 'last seen', 'summary'];

function row(a: StoredAlert): string[] {
  const summary = a.summary.length > 100 ? `${a.summary.slice(0, 97)}...` : a.summary;
  return [String(a.id), a.state, a.severity, a.category, a.rule || '-', a.agentId, a.host || '-', a.peer || '-', String(a.count),
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
    process.stdout.write(flags.json ? JSON.stringify(alertView(a)) + '\n' : `alert ${a.id} is ${a.state}: ${a.summary}\n`);
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
          if (list.length > 0) process.stdout.write(list.map((a) => JSON.stringify(alertView(a))).join('\n') + '\n');
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
