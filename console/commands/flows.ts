// `meerkat flows [filters]`: flow records, newest first, from the collector's API (GET
// /v1/flows) or a database file (--db): a table, JSON lines, CSV or Zeek conn.log. A page of
// --limit records (default 100); --all follows the pages, --cursor continues from a page.
// Addresses as printed: "10.77.3.9*" is a pseudonym (--addr with a * matches pseudonyms only),
// CIDR prefixes too; --real takes a real internal address, which is anonymized HERE with the
// owner's anon.key and searched as its pseudonym (the key never leaves this machine).
// `meerkat top`: who talked most, on which ports, with which protocols (GET /v1/flows/summary).
// Exit 0 ok, 1 runtime error, 2 usage error.
import type { Command } from 'commander';
import { Option } from 'commander';
import { join } from 'node:path';
import { UsageError, parseIntOption } from '../../shared/cli/run-cli.js';
import { parseTimeOption } from '../../shared/cli/time-option.js';
import { refuseRenamedOptions } from '../../shared/cli/renamed-options.js';
import { ANON_KEY_FILE, loadAnonKey } from '../../shared/keys/owner-keys.js';
import { anonymizeCidrText, anonymizeText, deanonymizeText } from '../../shared/anonymize/pseudonym-text.js';
import { parsePeerRef, addressText } from '../../shared/commands/peer-ref.js';
import { DEFAULT_FLOW_LIMIT, DEFAULT_SUMMARY_TOP, MAX_FLOW_LIMIT, MAX_SUMMARY_TOP } from '../../shared/store/flow-query.js';
import { ownerKeysDir, settingHelp } from '../settings.js';
import { apiSource, databaseSource, type DataSource, type SummaryAnswer } from '../data-source.js';
import { clientFrom, apiOptions, type RemoteFlags } from './remote-command.js';
import {
  FLOW_FORMATS, csvHeader, csvRow, recordFields, tableRow, tableText, withRealAddresses, zeekFooter, zeekHeader, zeekRow,
  type Deanon, type FlowFormat,
} from '../flow-formats.js';

export interface FilterFlags extends RemoteFlags {
  db?: string;
  agent?: string;
  addr?: string;
  real?: string;
  port?: number;
  proto?: string;
  since?: string;
  until?: string;
  state?: string;
  communityId?: string;
  uid?: string;
  name?: string;
  nameSuffix?: string;
  deanon?: boolean;
  ownerKeys?: string;
}

interface FlowsFlags extends FilterFlags {
  limit: number;
  all?: boolean;
  cursor?: string;
  format?: FlowFormat;
}

/** The source the flags name: --db, else the collector's API. */
export function sourceFrom(f: { db?: string } & RemoteFlags, opts: { write?: boolean } = {}): DataSource {
  return f.db !== undefined ? databaseSource(f.db, opts) : apiSource(clientFrom(f));
}

/** The owner's anonymization key, loaded only when a flag needs it. */
function anonKeyOf(f: FilterFlags): Uint8Array {
  return loadAnonKey(join(ownerKeysDir(f.ownerKeys), ANON_KEY_FILE));
}

/** The query text of the filter flags (times resolved now; an agent prefix through the source). */
export async function filterParams(f: FilterFlags, src: DataSource, nowMs = Date.now()): Promise<URLSearchParams> {
  const q = new URLSearchParams();
  if (f.agent !== undefined) q.set('agent', await src.agentId(f.agent));
  if (f.addr !== undefined && f.real !== undefined) throw new UsageError('give --addr (as the data shows it) or --real (a real address, anonymized here), not both');
  if (f.addr !== undefined) {
    const ref = parsePeerRef(f.addr, '--addr');
    q.set('addr', addressText(ref.address, ref.pseudonym));
  }
  if (f.real !== undefined) {
    const ref = parsePeerRef(f.real, '--real');
    if (ref.pseudonym) throw new UsageError('--real takes a real address or prefix (no *); for a pseudonym as the data shows it use --addr');
    const key = { anonKey: anonKeyOf(f) };
    q.set('addr', `${ref.address.includes('/') ? anonymizeCidrText(key, ref.address) : anonymizeText(key, ref.address)}*`);
  }
  if (f.port !== undefined) q.set('port', String(f.port));
  if (f.proto !== undefined) q.set('proto', f.proto.toLowerCase());
  if (f.state !== undefined) q.set('state', f.state.toUpperCase());
  if (f.since !== undefined) q.set('since', String(Math.max(0, parseTimeOption('--since', f.since, nowMs))));
  if (f.until !== undefined) q.set('until', String(Math.max(0, parseTimeOption('--until', f.until, nowMs))));
  if (f.communityId !== undefined) q.set('community', f.communityId);
  if (f.uid !== undefined) q.set('uid', f.uid);
  if (f.name !== undefined && f.nameSuffix !== undefined) throw new UsageError('give --name or --name-suffix, not both');
  if (f.name !== undefined) q.set('name', f.name);
  if (f.nameSuffix !== undefined) q.set('nameSuffix', f.nameSuffix);
  return q;
}

function deanonOf(f: FilterFlags): Deanon {
  if (!f.deanon) return null;
  const key = { anonKey: anonKeyOf(f) };
  return (a) => deanonymizeText(key, a);
}

/** The filter options flows and top share. */
export function filterOptions(c: Command): Command {
  apiOptions(c)
    .option('--db <path>', 'read this database file instead of asking the collector (a collector\'s meerkat.db, or an import\'s)')
    .option('--agent <id>', 'only this agent (id, or a unique prefix of at least 4 characters)')
    .option('--addr <address>', 'originator or responder address or CIDR as the data shows it; a trailing * (10.77.3.9*) matches pseudonyms only')
    .option('--real <address>', "a real internal address or CIDR: anonymized here with the owner's anon.key and searched as its pseudonym")
    .option('--port <n>', 'originator or responder port', parseIntOption('--port', 0, 65535))
    .option('--proto <name>', 'tcp, udp, icmp, ...')
    .option('--since <time>', 'records ending at or after: ISO time, epoch seconds, or a duration ago (2h)')
    .option('--until <time>', 'records starting at or before (same forms as --since)')
    .option('--state <S>', 'Zeek conn_state (S0, SF, REJ, ...)')
    .option('--community-id <id>', 'only this Community ID')
    .option('--uid <uid>', 'only the records of this flow')
    .option('--name <name>', 'server name (TLS SNI, HTTP Host or DNS question), exactly (case-insensitive; pseudonyms as stored)')
    .option('--name-suffix <domain>', 'server name equal to DOMAIN or under it (example.com: also www.example.com)')
    .option('--deanon', "show the real address beside each pseudonym (needs the owner's anon.key)")
    .option('--owner-keys <dir>', `owner key directory for --deanon and --real (${settingHelp('ownerKeys')})`);
  return refuseRenamedOptions(c, { '--keys': '--owner-keys' });
}

function formatOf(f: FlowsFlags & { json?: boolean }): FlowFormat {
  if (f.json && f.format !== undefined && f.format !== 'json') throw new UsageError('--json is --format json; give one of them');
  return f.json ? 'json' : f.format ?? 'table';
}

async function runFlows(f: FlowsFlags & { json?: boolean }): Promise<void> {
  const format = formatOf(f);
  const src = sourceFrom(f);
  try {
    const q = await filterParams(f, src);
    const deanon = deanonOf(f);
    q.set('limit', String(f.limit));
    let cursor = f.cursor ?? null;
    let fields: string[] | null = null;
    const rows: string[][] = [];
    let count = 0;
    let next: string | null = null;
    if (format === 'zeek') process.stdout.write(zeekHeader(Date.now() * 1000));
    for (;;) {
      if (cursor !== null) q.set('cursor', cursor);
      const page = await src.flows(q);
      let out = '';
      for (const r of page.flows) {
        count++;
        if (format === 'json') out += JSON.stringify(withRealAddresses(r, deanon)) + '\n';
        else if (format === 'csv') {
          if (fields === null) { fields = recordFields(r); out += csvHeader(deanon, fields); }
          out += csvRow(r, deanon, fields);
        } else if (format === 'zeek') out += zeekRow(r, deanon);
        else rows.push(tableRow(r, deanon));
      }
      if (out) process.stdout.write(out);
      next = page.next;
      if (!f.all || next === null) break;
      cursor = next;
    }
    if (format === 'zeek') process.stdout.write(zeekFooter(Date.now() * 1000));
    if (format === 'table') {
      process.stdout.write(tableText(rows));
      process.stderr.write(`${count} record(s) from ${src.where}, newest first; * = pseudonym\n`);
    }
    if (next !== null) process.stderr.write(`more records: add --cursor ${next} for the next ${f.limit}, or --all\n`);
  } finally {
    src.close();
  }
}

function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

function summaryText(s: SummaryAnswer, deanon: Deanon): string {
  const out = [`${s.since} .. ${s.until}: ${s.records} record(s), ${s.packets} packets, ${bytesText(s.bytes)}`, ''];
  out.push('top talkers');
  out.push(tableText(s.talkers.map((t) => [addressText(t.addr, t.pseudonym) + (t.pseudonym && deanon ? ` (= ${deanon(t.addr)})` : ''), bytesText(t.bytes), String(t.packets), String(t.records)]), ['address', 'bytes', 'packets', 'records']).trimEnd());
  out.push('', 'top ports (responder)');
  out.push(tableText(s.ports.map((p) => [`${p.proto}/${p.port}`, bytesText(p.bytes), String(p.packets), String(p.records)]), ['port', 'bytes', 'packets', 'records']).trimEnd());
  out.push('', 'protocols');
  out.push(tableText(s.protocols.map((p) => [p.proto, bytesText(p.bytes), String(p.packets), String(p.records)]), ['proto', 'bytes', 'packets', 'records']).trimEnd());
  return out.join('\n') + '\n';
}

export function registerFlowsCommand(program: Command): void {
  filterOptions(program
    .command('flows')
    .description('flow records, newest first, from the collector (or --db): table, JSON lines, CSV or Zeek conn.log'))
    .option('--limit <n>', `records per page (default ${DEFAULT_FLOW_LIMIT}, at most ${MAX_FLOW_LIMIT})`, parseIntOption('--limit', 1, MAX_FLOW_LIMIT), DEFAULT_FLOW_LIMIT)
    .option('--all', 'every matching record (follows the pages)')
    .option('--cursor <cursor>', 'continue after the page that printed this cursor')
    .addOption(new Option('--format <format>', 'output format').choices([...FLOW_FORMATS]))
    .option('--json', 'JSON lines: one flow record per line (docs/flows.md); the same as --format json')
    .action((f: FlowsFlags & { json?: boolean }) => runFlows(f));

  filterOptions(program
    .command('top')
    .description('top talkers, responder ports and protocols by bytes over a time range (default: the last hour)'))
    .option('--top <n>', `how many of each (default ${DEFAULT_SUMMARY_TOP})`, parseIntOption('--top', 1, MAX_SUMMARY_TOP), DEFAULT_SUMMARY_TOP)
    .option('--json', 'print the summary as one JSON object')
    .action(async (f: FilterFlags & { top: number; json?: boolean }) => {
      const src = sourceFrom(f);
      try {
        const q = await filterParams(f, src);
        q.set('top', String(f.top));
        const s = await src.summary(q);
        process.stdout.write(f.json ? JSON.stringify(s) + '\n' : summaryText(s, deanonOf(f)));
      } finally {
        src.close();
      }
    });
}
