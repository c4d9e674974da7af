// `meerkat dns` and `meerkat tls`: the DNS and TLS logs (Zeek's dns.log and ssl.log, made from
// the agents' metadata; docs/flows.md "DNS and TLS logs") of an organisation, through the
// collector's API (GET /v1/orgs/ORG/dns|tls, --org as every command through the API), or of a
// database file with --db; newest first, as a table or JSON lines (--json). Exit 0 ok, 1
// runtime error, 2 usage error.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { parseIntOption, UsageError } from '../../shared/cli/run-cli.js';
import { appLogFilterFrom, type AppLogOptions } from '../../shared/store/app-log-filter.js';
import { SqliteFlowStore } from '../../shared/store/sqlite-flow-store.js';
import type { DnsRecord, TlsRecord } from '../../shared/flow/app-records.js';
import { apiOptions, clientFrom, type RemoteFlags } from './remote-command.js';

interface LogFlags extends AppLogOptions, RemoteFlags {
  db?: string;
  json?: boolean;
}

const API_PARAMS = ['agent', 'addr', 'name', 'nameSuffix', 'uid', 'since', 'until', 'rcode', 'ja4', 'limit'] as const;

/** The log through the API: the flags as its query (it parses them as the local source does). */
async function fromApi<K extends 'dns' | 'tls'>(kind: K, flags: LogFlags): Promise<Array<K extends 'dns' ? DnsRecord : TlsRecord>> {
  const client = clientFrom(flags);
  const q = new URLSearchParams();
  for (const k of API_PARAMS) if (flags[k] !== undefined) q.set(k, String(flags[k]));
  const body = await client.get<Record<K, Array<K extends 'dns' ? DnsRecord : TlsRecord>>>(client.scoped(`/${kind}?${q.toString()}`));
  return body[kind];
}

function isoUs(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString();
}

function hostPort(addr: string, port: number, anon: boolean): string {
  return `${addr.includes(':') ? `[${addr}]` : addr}:${port}${anon ? '*' : ''}`;
}

function named(name: string | null, anon: boolean): string {
  return name === null ? '-' : `${name}${anon ? '*' : ''}`;
}

const DNS_HEADER = ['ts', 'client', 'server', 'proto', 'query', 'type', 'rcode', 'rtt ms', 'answers', 'agent'];
const TLS_HEADER = ['ts', 'client', 'server', 'transport', 'version', 'cipher', 'server name', 'alpn', 'ja4', 'ja4s', 'agent'];

function dnsRow(r: DnsRecord): string[] {
  return [
    isoUs(r.ts), hostPort(r.orig_addr, r.orig_port, r.orig_anon), hostPort(r.resp_addr, r.resp_port, r.resp_anon), r.proto,
    named(r.query, r.query_anon), r.qtype_name, r.rcode_name ?? '-', r.rtt_us === null ? '-' : (r.rtt_us / 1000).toFixed(1),
    r.answers.length === 0 ? '-' : r.answers.map((a) => `${a.data === '' ? `<${a.type}>` : a.data}${a.anon ? '*' : ''}`).join(','), r.agent_id,
  ];
}

function tlsRow(r: TlsRecord): string[] {
  return [
    isoUs(r.ts), hostPort(r.orig_addr, r.orig_port, r.orig_anon), hostPort(r.resp_addr, r.resp_port, r.resp_anon), r.transport,
    r.version ?? '-', r.cipher ?? '-', named(r.server_name, r.server_name_anon), r.alpn.join(',') || '-', r.ja4 ?? '-', r.ja4s ?? '-', r.agent_id,
  ];
}

function writeTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  process.stdout.write([line(header), ...rows.map(line)].join('\n') + '\n');
}

function printLog<T>(records: Iterable<T>, json: boolean, header: string[], row: (r: T) => string[]): void {
  if (json) {
    let buf: string[] = [];
    for (const r of records) {
      buf.push(JSON.stringify(r));
      if (buf.length >= 1000) { process.stdout.write(buf.join('\n') + '\n'); buf = []; }
    }
    if (buf.length > 0) process.stdout.write(buf.join('\n') + '\n');
    return;
  }
  const rows: string[][] = [];
  for (const r of records) rows.push(row(r));
  writeTable(header, rows);
  process.stderr.write(`${rows.length} record(s); * = pseudonym\n`);
}

function logCommand(program: Command, name: 'dns' | 'tls', description: string): Command {
  return apiOptions(program
    .command(name)
    .description(description))
    .option('--db <path>', 'a database file instead of the collector\'s API (an organisation\'s meerkat.db, or one meerkat-collector import made)')
    .option('--json', 'one JSON object per record (JSON lines)')
    .option('--agent <id>', 'only this agent')
    .option('--addr <ip>', 'client or server address (pseudonyms as stored)')
    .option('--name <name>', name === 'dns' ? 'query name, exactly (case-insensitive)' : 'server name (SNI), exactly (case-insensitive)')
    .option('--name-suffix <domain>', 'the name equal to DOMAIN or under it (example.com: also www.example.com)')
    .option('--uid <uid>', "only this flow's records")
    .option('--since <time>', 'at or after: ISO time, epoch seconds, or a duration ago (2h)')
    .option('--until <time>', 'at or before (same forms as --since)')
    .option('--limit <n>', 'at most N records', parseIntOption('--limit', 1));
}

function openStore(db: string): SqliteFlowStore {
  if (!existsSync(db)) throw new UsageError(`no database at ${db}`);
  return new SqliteFlowStore(db, { readonly: true });
}

export function registerAppLogCommands(program: Command): void {
  logCommand(program, 'dns', 'list DNS transactions (query and answer, as Zeek\'s dns.log; newest first) of an organisation')
    .option('--rcode <code>', 'only answers with this response code (NXDOMAIN, SERVFAIL, ... or a number)')
    .action(async (flags: LogFlags) => {
      const filter = appLogFilterFrom(flags);
      if (flags.db === undefined) return printLog(await fromApi('dns', flags), flags.json === true, DNS_HEADER, dnsRow);
      const store = openStore(flags.db);
      try {
        printLog(store.iterateDns(filter), flags.json === true, DNS_HEADER, dnsRow);
      } finally {
        store.close();
      }
    });
  logCommand(program, 'tls', 'list TLS handshakes (client and server hello with JA4/JA4S, as Zeek\'s ssl.log; newest first) of an organisation')
    .option('--ja4 <fingerprint>', 'only client hellos with this JA4')
    .action(async (flags: LogFlags) => {
      const filter = appLogFilterFrom(flags);
      if (flags.db === undefined) return printLog(await fromApi('tls', flags), flags.json === true, TLS_HEADER, tlsRow);
      const store = openStore(flags.db);
      try {
        printLog(store.iterateTls(filter), flags.json === true, TLS_HEADER, tlsRow);
      } finally {
        store.close();
      }
    });
}
