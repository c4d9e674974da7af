// `meerkat pcap --agent A [--peer ADDR|CIDR] [--port P] [--flow UID|--community-id ID]
//   --since T --until T -o out.pcapng [--owner DIR]`: the packets the collector kept, as pcapng
// for Wireshark. Through the operators' API by default (the collector streams the selected records as
// dumps; this console rebuilds the packets, so with --owner the pseudonyms are turned back here,
// where the owner key is, never on the collector). Locally with --db (a collector database: its
// dumps table and raw files, and its flows for --flow) or --dumps DIR (dump files).
// Exit 0 ok (a bound that cut the export short is a warning), 1 failure, 2 usage.
import type { Command } from 'commander';
import { createWriteStream, existsSync, renameSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parseIntOption, UsageError } from '../../shared/cli/run-cli.js';
import { parseTimeOption } from '../../shared/cli/time-option.js';
import { ANON_KEY_FILE, loadAnonKey } from '../../shared/keys/owner-keys.js';
import { CatalogError, DirectoryDumpCatalog, SqliteDumpCatalog, type DumpCatalog } from '../../shared/pcap-export/dump-catalog.js';
import { EXPORT_TRAILER, exportRequestToQuery, peerText, resolveSelection, type ExportRequest, type FlowLookup } from '../../shared/pcap-export/export-request.js';
import { recordsFromDumpStream, splitDumpStream } from '../../shared/pcap-export/dump-stream.js';
import { exportPcapng, newPcapngSummary } from '../../shared/pcap-export/pcapng-export.js';
import { RecordDeanonymizer } from '../../shared/pcap-export/record-deanonymizer.js';
import { SelectionError } from '../../shared/pcap-export/packet-selection.js';
import { runExport } from '../../shared/pcap-export/run-export.js';
import { SqliteFlowStore } from '../../shared/store/sqlite-flow-store.js';
import { resolveAgentIdPrefix } from '../../shared/commands/agent-id-prefix.js';
import { refuseRenamedOptions } from '../../shared/cli/renamed-options.js';
import { ownerKeysOption } from '../deanon-text.js';
import { ownerKeysDir } from '../settings.js';
import { clientFrom, remoteOptions, resolveAgentId, type RemoteFlags } from './remote-command.js';

interface PcapFlags extends RemoteFlags {
  agent?: string;
  peer?: string;
  port?: number;
  flow?: string;
  communityId?: string;
  since?: string;
  until?: string;
  out: string;
  deanon?: boolean;
  ownerKeys?: string;
  db?: string;
  dumps?: string;
  maxPackets?: number;
}

/** The request the flags name (times as µs; the agent as given, resolved later). */
export function exportRequestFromFlags(f: PcapFlags, nowMs = Date.now()): ExportRequest {
  if (f.flow !== undefined && f.communityId !== undefined) throw new UsageError('give --flow or --community-id, not both');
  const byFlow = f.flow !== undefined || f.communityId !== undefined;
  if (!byFlow && (f.since === undefined || f.until === undefined)) throw new UsageError('give --since and --until (or --flow / --community-id, whose time span is the default)');
  if (!byFlow && f.agent === undefined) throw new UsageError('give --agent (or --flow / --community-id, which name it)');
  const r: ExportRequest = { format: 'dump' };
  const time = (flag: string, text: string): number => Math.min(Math.max(0, parseTimeOption(flag, text, nowMs)), Number.MAX_SAFE_INTEGER);
  if (f.since !== undefined) r.sinceUs = time('--since', f.since);
  if (f.until !== undefined) r.untilUs = time('--until', f.until);
  if (f.peer !== undefined) {
    try { r.peer = peerText(f.peer); } catch (e) { throw new UsageError(`--peer: ${(e as Error).message}`); }
  }
  if (f.port !== undefined) r.port = f.port;
  if (f.flow !== undefined) r.flowUid = f.flow;
  if (f.communityId !== undefined) r.communityId = f.communityId;
  if (f.maxPackets !== undefined) r.maxPackets = f.maxPackets;
  return r;
}

function uniquePrefix(ids: readonly string[], text: string): string {
  return resolveAgentIdPrefix(text, ids, 'agents of these dumps');
}

function localFlowLookup(db: string | undefined): FlowLookup {
  return (q) => {
    if (!db) throw new UsageError('--flow / --community-id need the flow records: give --db (the collector database)');
    const store = new SqliteFlowStore(db, { readonly: true });
    try {
      return store.queryFlows({ ...(q.uid ? { uid: q.uid } : {}), ...(q.communityId ? { communityId: q.communityId } : {}), ...(q.agentId ? { agentId: q.agentId } : {}), limit: 10_000, order: 'asc' });
    } finally {
      store.close();
    }
  };
}

function agentsInDb(db: string): string[] {
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return (d.prepare('SELECT DISTINCT agent_id AS a FROM dumps').all() as { a: string }[]).map((r) => r.a);
  } finally {
    d.close();
  }
}

/** Writes chunks to the output (a temp file renamed at the end, or stdout for "-"). */
async function writeOut(out: string, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  const toStdout = out === '-';
  const tmp = toStdout ? '' : `${out}.partial-${process.pid}`;
  const s = toStdout ? process.stdout : createWriteStream(tmp, { mode: 0o600 });
  try {
    for await (const c of chunks) if (!s.write(c)) await once(s, 'drain');
    if (!toStdout) {
      const fs = s as ReturnType<typeof createWriteStream>;
      fs.end();
      await once(fs, 'close');
      renameSync(tmp, out);
    }
  } catch (e) {
    if (!toStdout) {
      (s as ReturnType<typeof createWriteStream>).destroy();
      rmSync(tmp, { force: true });
    }
    throw e;
  }
}

function wrapSelection<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof SelectionError || e instanceof CatalogError) throw new UsageError(e.message);
    throw e;
  }
}

export function registerPcapCommand(program: Command): void {
  const cmd = remoteOptions(program
    .command('pcap')
    .description('write the packets the collector kept (headers, payload where it was captured, retro capture) as pcapng for Wireshark')
    .option('--agent <id>', 'agent id (or a unique prefix)')
    .option('--peer <address>', 'only packets with this address or CIDR on either side (as the data shows it: pseudonym* or external)')
    .option('--port <n>', 'only packets with this port on either side', parseIntOption('--port', 0, 65535))
    .option('--flow <uid>', 'only the packets of this flow (uid as `meerkat flows` prints it)')
    .option('--community-id <id>', 'only the packets of flows with this Community ID')
    .option('--since <time>', 'from: ISO time, epoch seconds, or a duration ago (2h)')
    .option('--until <time>', 'until (same forms as --since)')
    .requiredOption('-o, --out <file>', 'pcapng file to write ("-" for stdout, e.g. | wireshark -k -i -)')
    .option('--deanon', "real addresses instead of pseudonyms in the packets (needs the owner's anon.key; stays on this machine)")
    .option('--db <file>', 'read a collector database directly (its dumps and flows) instead of the collector\'s API')
    .option('--dumps <dir>', 'read dump files in a directory directly instead of the collector\'s API')
    .option('--max-packets <n>', 'stop after N packets', parseIntOption('--max-packets', 1)), { wait: false });
  ownerKeysOption(cmd, 'for --deanon');
  refuseRenamedOptions(cmd, { '--owner': '--deanon (with --owner-keys DIR for the key directory)' });
  cmd.action(async (f: PcapFlags) => {
      if (f.json && f.out === '-') throw new UsageError('--json prints the summary on stdout: write the pcapng to a file (-o FILE)');
      if (f.db !== undefined && f.dumps !== undefined) throw new UsageError('give --db or --dumps, not both');
      const req = exportRequestFromFlags(f);
      const deanonymize = f.deanon ? new RecordDeanonymizer(loadAnonKey(join(ownerKeysDir(f.ownerKeys), ANON_KEY_FILE))) : undefined;
      if (f.db !== undefined && !existsSync(f.db)) throw new UsageError(`no collector database at ${f.db}`);
      let summary: Record<string, unknown>;
      if (f.db !== undefined || f.dumps !== undefined) {
        let catalog: DumpCatalog;
        if (f.dumps !== undefined) {
          const dc = wrapSelection(() => new DirectoryDumpCatalog(f.dumps!));
          if (req.agentId === undefined && f.agent !== undefined) req.agentId = uniquePrefix(dc.agents(), f.agent);
          catalog = dc;
        } else {
          if (f.agent !== undefined) req.agentId = uniquePrefix(agentsInDb(f.db!), f.agent);
          catalog = wrapSelection(() => new SqliteDumpCatalog(f.db!));
        }
        try {
          const sel = wrapSelection(() => resolveSelection(req, localFlowLookup(f.db)));
          const run = runExport(catalog, sel, 'pcapng', { ...(req.maxPackets ? { maxPackets: req.maxPackets } : {}) }, { ...(deanonymize ? { deanonymize } : {}), comment: `Meerkat export: agent ${sel.agentId}` });
          try {
            await writeOut(f.out, run.chunks);
          } catch (e) {
            if (e instanceof SelectionError) throw new UsageError(e.message);
            throw e;
          }
          summary = { agentId: sel.agentId, ...run.summary.pcapng, dumpsRead: run.summary.selection.dumpsRead, dumpsFailed: run.summary.selection.dumpsFailed, duplicatesDropped: run.summary.selection.duplicatesDropped };
        } finally {
          catalog.close();
        }
      } else {
        const client = clientFrom(f);
        if (f.agent !== undefined) req.agentId = await resolveAgentId(client, f.agent);
        const body = await client.stream(client.scoped(`/pcap?${exportRequestToQuery(req)}`));
        const s = newPcapngSummary();
        const records = recordsFromDumpStream(splitDumpStream(body));
        await writeOut(f.out, exportPcapng(records, req.agentId ?? 'unknown', s, { ...(deanonymize ? { deanonymize } : {}), comment: `Meerkat export through ${f.api ?? 'the collector\'s API'}` }));
        const trailer = body.trailers[EXPORT_TRAILER];
        if (trailer === undefined) throw new Error('the collector ended the export without its summary (cut short by an error on the collector: see its log and `meerkat audit`)');
        const remote = JSON.parse(trailer) as Record<string, unknown>;
        summary = { agentId: req.agentId ?? remote.agentId, ...s, collector: remote, truncated: remote.truncated ?? s.truncated };
      }
      if (f.json) process.stdout.write(JSON.stringify(summary) + '\n');
      else if (f.out !== '-') {
        const x = summary as { packets: number; headerOnly: number; complete: number; retro: number; bytes: number };
        process.stderr.write(`${f.out}: ${x.packets} packets (${x.complete} whole, ${x.headerOnly} headers only, ${x.retro} from retro capture)${deanonymize ? ', real addresses' : ', pseudonyms'}\n`);
      }
      if (summary.truncated) process.stderr.write(`warning: the export stopped at a limit (${String(summary.truncated)}); narrow the selection for the rest\n`);
    });
}
