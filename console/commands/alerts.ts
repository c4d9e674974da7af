// `meerkat alerts`: alerts, most recently seen first, from the collector's API (GET /v1/alerts)
// or a database file (--db), and moving one through its states (open -> acknowledged ->
// closed): `alerts ack ID`, `alerts close ID`, `alerts reopen ID` (POST /v1/alerts/ID/state,
// audited with who did it). Exit 0 ok, 1 runtime error (an unknown alert id included), 2 usage.
import type { Command } from 'commander';
import { UsageError, parseIntOption } from '../../shared/cli/run-cli.js';
import { parseTimeOption } from '../../shared/cli/time-option.js';
import { ALERT_STATES, type AlertState } from '../../shared/alerts/alert-types.js';
import { QueryError } from '../../shared/store/flow-query.js';
import { parseAlertState } from '../../shared/alerts/alert-query.js';
import { DEFAULT_FLOW_LIMIT, MAX_FLOW_LIMIT } from '../../shared/store/flow-query.js';
import type { AlertAnswer } from '../data-source.js';
import { tableText } from '../flow-formats.js';
import { apiOptions, type RemoteFlags } from './remote-command.js';
import { sourceFrom } from './flows.js';

interface ListFlags extends RemoteFlags {
  db?: string;
  json?: boolean;
  state?: string;
  agent?: string;
  category?: string;
  since?: string;
  until?: string;
  limit: number;
  all?: boolean;
  cursor?: string;
}

const HEADER = ['id', 'state', 'severity', 'category', 'rule', 'agent', 'host', 'peer', 'count', 'first seen', 'last seen', 'summary'];

function row(a: AlertAnswer): string[] {
  const s = String(a.summary);
  const t = (v: unknown): string => String(v).replace('.000Z', 'Z');
  return [String(a.id), a.state, String(a.severity), String(a.category), String(a.rule || '-'), a.agentId, String(a.host || '-'), String(a.peer || '-'), String(a.count),
    t(a.firstSeen), t(a.lastSeen), s.length > 100 ? `${s.slice(0, 97)}...` : s];
}

function stateOf(text: string): AlertState {
  try {
    return parseAlertState(text, '--state');
  } catch (e) {
    if (e instanceof QueryError) throw new UsageError(`--state must be one of ${ALERT_STATES.join(', ')}, got ${JSON.stringify(text)}`);
    throw e;
  }
}

async function list(f: ListFlags): Promise<void> {
  const src = sourceFrom(f);
  try {
    const q = new URLSearchParams();
    const now = Date.now();
    if (f.state !== undefined) q.set('state', stateOf(f.state));
    if (f.agent !== undefined) q.set('agent', await src.agentId(f.agent));
    if (f.category !== undefined) q.set('category', f.category);
    if (f.since !== undefined) q.set('since', String(Math.max(0, parseTimeOption('--since', f.since, now))));
    if (f.until !== undefined) q.set('until', String(Math.max(0, parseTimeOption('--until', f.until, now))));
    q.set('limit', String(f.limit));
    let cursor = f.cursor ?? null;
    const rows: string[][] = [];
    let next: string | null;
    for (;;) {
      if (cursor !== null) q.set('cursor', cursor);
      const page = await src.alerts(q);
      if (f.json) { if (page.alerts.length) process.stdout.write(page.alerts.map((a) => JSON.stringify(a)).join('\n') + '\n'); }
      else rows.push(...page.alerts.map(row));
      next = page.next;
      if (!f.all || next === null) break;
      cursor = next;
    }
    if (!f.json) {
      process.stdout.write(tableText(rows, HEADER));
      process.stderr.write(`${rows.length} alert(s) from ${src.where}\n`);
    }
    if (next !== null) process.stderr.write(`more alerts: add --cursor ${next}, or --all\n`);
  } finally {
    src.close();
  }
}

async function setState(idText: string, state: AlertState, f: { db?: string; json?: boolean } & RemoteFlags): Promise<void> {
  if (!/^\d+$/.test(idText.trim())) throw new UsageError(`alert id must be a whole number, got ${JSON.stringify(idText)}`);
  const src = sourceFrom(f, { write: true });
  try {
    const a = await src.setAlertState(Number(idText), state);
    process.stdout.write(f.json ? JSON.stringify(a) + '\n' : `alert ${a.id} is ${a.state}: ${a.summary}\n`);
  } finally {
    src.close();
  }
}

export function registerAlertsCommand(program: Command): void {
  const alerts = apiOptions(program
    .command('alerts')
    .description('alerts, most recently seen first, from the collector (or --db); "alerts ack|close|reopen ID" change their state'))
    .option('--db <path>', 'read this database file instead of asking the collector')
    .option('--json', 'one JSON object per alert (JSON lines)')
    .option('--state <state>', 'open, acknowledged or closed')
    .option('--agent <id>', 'only this agent (id, or a unique prefix of at least 4 characters)')
    .option('--category <name>', 'only this category (threat-intel, scan, beacon, ...)')
    .option('--since <time>', 'seen at or after (packet time): ISO time, epoch seconds, or a duration ago (2h)')
    .option('--until <time>', 'first seen at or before (same forms)')
    .option('--limit <n>', `alerts per page (default ${DEFAULT_FLOW_LIMIT})`, parseIntOption('--limit', 1, MAX_FLOW_LIMIT), DEFAULT_FLOW_LIMIT)
    .option('--all', 'every matching alert (follows the pages)')
    .option('--cursor <cursor>', 'continue after the page that printed this cursor')
    .action((f: ListFlags) => list(f));
  // --db/--api/--json given after the sub-command land on `alerts` (commander's parent options): read both
  for (const [name, state, what] of [['ack', 'acknowledged', 'acknowledge'], ['close', 'closed', 'close'], ['reopen', 'open', 'reopen']] as const) {
    alerts
      .command(`${name} <id>`)
      .description(`${what} an alert`)
      .action((id: string, _flags: unknown, cmd: Command) => setState(id, state, cmd.optsWithGlobals<{ db?: string; json?: boolean } & RemoteFlags>()))
      .exitOverride();
  }
}
