// `meerkat flows --db DB [filters]`: flow records from the flow database, newest first,
// as a readable table or JSON lines (--json). Exit 0 ok, 1 runtime error, 2 usage error.
import { existsSync } from 'node:fs';
import { parseTimeOption } from '../../shared/cli/time-option.js';
import type { Command } from 'commander';
import { parseIntOption, UsageError } from '../../shared/cli/run-cli.js';
import { formatIp, parseIp } from '../../shared/net/ip-address.js';
import { CONN_STATES, type ConnState, type FlowRecord } from '../../shared/flow/flow-record.js';
import type { FlowFilter } from '../../shared/store/flow-store.js';
import { SqliteFlowStore } from '../../shared/store/sqlite-flow-store.js';
import { join } from 'node:path';
import { ANON_KEY_FILE, loadAnonKey } from '../../shared/keys/owner-keys.js';
import { deanonymizeText } from '../../shared/anonymize/pseudonym-text.js';
import { ownerKeysDir } from '../owner-dir.js';

interface FlowsFlags {
  db: string;
  json?: boolean;
  agent?: string;
  addr?: string;
  port?: number;
  proto?: string;
  since?: string;
  until?: string;
  state?: string;
  name?: string;
  nameSuffix?: string;
  limit?: number;
}

function endpoint(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** JSON output with --deanon: the real addresses in orig_real / resp_real beside the pseudonyms. */
function withRealAddresses(r: FlowRecord, anonKey: Uint8Array): FlowRecord & { orig_real?: string; resp_real?: string } {
  return {
    ...r,
    ...(r.orig_anon ? { orig_real: deanonymizeText({ anonKey }, r.orig_addr) } : {}),
    ...(r.resp_anon ? { resp_real: deanonymizeText({ anonKey }, r.resp_addr) } : {}),
  };
}

function isoUs(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString();
}

const HEADER = ['start', 'duration', 'proto', 'originator', 'responder', 'pkts o/r', 'ip bytes o/r', 'state', 'history', 'cause', 'agent', 'server name'];

/** "addr:port", with * after a pseudonym and, given the owner key, the real address after it. */
function endpointCell(addr: string, port: number, anon: boolean, anonKey: Uint8Array | undefined): string {
  if (!anon) return endpoint(addr, port);
  const real = anonKey ? ` (= ${deanonymizeText({ anonKey }, addr)})` : '';
  return `${endpoint(addr, port)}*${real}`;
}

function tableRow(r: FlowRecord, anonKey?: Uint8Array): string[] {
  return [
    isoUs(r.start),
    `${r.duration.toFixed(3)}s`,
    r.proto,
    endpointCell(r.orig_addr, r.orig_port, r.orig_anon, anonKey),
    endpointCell(r.resp_addr, r.resp_port, r.resp_anon, anonKey),
    `${r.orig_pkts}/${r.resp_pkts}`,
    `${r.orig_ip_bytes}/${r.resp_ip_bytes}`,
    r.conn_state,
    r.history || '-',
    r.record_cause,
    r.agent_id,
    r.server_name === null ? '-' : `${r.server_name}${r.server_name_anon ? '*' : ''}`,
  ];
}

function writeTable(rows: string[][]): void {
  const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [line(HEADER), ...rows.map(line)];
  process.stdout.write(out.join('\n') + '\n');
}

/** Filter from command-line flags (validated; addresses normalized to the stored text form). */
function flowFilterFromFlags(flags: Omit<FlowsFlags, 'db' | 'json'>, nowMs = Date.now()): FlowFilter {
  const f: FlowFilter = {};
  if (flags.agent !== undefined) f.agentId = flags.agent;
  if (flags.addr !== undefined) {
    const a = parseIp(flags.addr);
    f.addr = formatIp(a.version, a.bytes);
  }
  if (flags.port !== undefined) f.port = flags.port;
  if (flags.proto !== undefined) f.proto = flags.proto.toLowerCase();
  if (flags.since !== undefined) f.since = parseTimeOption('--since', flags.since, nowMs);
  if (flags.until !== undefined) f.until = parseTimeOption('--until', flags.until, nowMs);
  if (flags.state !== undefined) {
    const s = flags.state.toUpperCase();
    if (!(CONN_STATES as readonly string[]).includes(s)) {
      throw new UsageError(`--state must be one of ${CONN_STATES.join(', ')}, got ${JSON.stringify(flags.state)}`);
    }
    f.state = s as ConnState;
  }
  if (flags.name !== undefined && flags.nameSuffix !== undefined) throw new UsageError('give --name or --name-suffix, not both');
  if (flags.name !== undefined) f.name = flags.name;
  if (flags.nameSuffix !== undefined) { f.name = flags.nameSuffix; f.nameSuffix = true; }
  if (flags.limit !== undefined) f.limit = flags.limit;
  return f;
}

export function registerFlowsCommand(program: Command): void {
  program
    .command('flows')
    .description('list flow records (newest first) from a flow database')
    .requiredOption('--db <path>', 'SQLite flow database')
    .option('--json', 'one JSON object per record (JSON lines)')
    .option('--agent <id>', 'only this agent')
    .option('--addr <ip>', 'originator or responder address (pseudonyms as stored)')
    .option('--port <n>', 'originator or responder port', parseIntOption('--port', 0, 65535))
    .option('--proto <name>', 'tcp, udp, icmp, ...')
    .option('--since <time>', 'records ending at or after: ISO time, epoch seconds, or a duration ago (2h)')
    .option('--until <time>', 'records starting at or before (same forms as --since)')
    .option('--state <S>', 'Zeek conn_state (S0, SF, REJ, ...)')
    .option('--name <name>', 'server name (TLS SNI, HTTP Host or DNS question), exactly (case-insensitive; pseudonyms as stored)')
    .option('--name-suffix <domain>', 'server name equal to DOMAIN or under it (example.com: also www.example.com)')
    .option('--limit <n>', 'at most N records', parseIntOption('--limit', 1))
    .option('--deanon', "show the real address beside each pseudonym (needs the owner's anon.key)")
    .option('--keys <dir>', 'owner key directory for --deanon (default $MEERKAT_OWNER_KEYS or ~/.meerkat/owner-keys)')
    .action((flags: FlowsFlags & { deanon?: boolean; keys?: string }) => {
      const filter = flowFilterFromFlags(flags);
      if (!existsSync(flags.db)) throw new UsageError(`no flow database at ${flags.db}`);
      const store = new SqliteFlowStore(flags.db, { readonly: true });
      const key = flags.deanon ? loadAnonKey(join(ownerKeysDir(flags.keys), ANON_KEY_FILE)) : undefined;
      try {
        if (flags.json) {
          let buf: string[] = [];
          for (const r of store.iterateFlows(filter)) {
            buf.push(JSON.stringify(key ? withRealAddresses(r, key) : r));
            if (buf.length >= 1000) { process.stdout.write(buf.join('\n') + '\n'); buf = []; }
          }
          if (buf.length > 0) process.stdout.write(buf.join('\n') + '\n');
        } else {
          const rows: string[][] = [];
          for (const r of store.iterateFlows(filter)) rows.push(tableRow(r, key));
          writeTable(rows);
          process.stderr.write(`${rows.length} record(s); * = pseudonym\n`);
        }
      } finally {
        store.close();
      }
    });
}
