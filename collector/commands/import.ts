// `meerkat-collector import FILE... [--db DB]`: capture files (pcap/pcapng) and Meerkat dump
// files into a flow database: the database of an organisation of this host's collector by
// default (--org, default `default`; found as every meerkat-collector command finds it), or --db. The analyzers run as the collector's
// configuration says (its "analyzers", "analysis" and "alerts" keys). Exit 0 when every file
// imported (or was
// imported before: a file is imported once, see collector/import/import-ledger.ts), 1 when a file
// could not be read (the others are still imported), 2 for usage errors.
import { setFlagsFromString } from 'node:v8';
import type { Command } from 'commander';
import { UsageError } from '../../shared/cli/run-cli.js';
import { loadAnonKey } from '../../shared/keys/owner-keys.js';
import { logger } from '../../shared/log.js';
import type { AnonymizePolicy } from '../../shared/anonymize/address-anonymizer.js';
import type { NamePolicy } from '../../shared/anonymize/name-pseudonymizer.js';
import { importFiles, type ImportSummary } from '../import/import-files.js';
import { analyzeImport } from '../analyze/analyze-import.js';
import { collectorConfigFile, readCollectorConfigJson } from '../collector-config.js';
import { DEFAULT_ORG } from '../../shared/orgs/org-id.js';
import { hostFrom, hostOptions, orgDatabase } from './host-options.js';
import { hasHttpsWebhook, rerunWithExtraCaCerts } from './deferred-ca-certs.js';
import { lateTierUp } from '../../shared/cli/late-tier-up.js';

interface ImportFlags {
  db?: string;
  org?: string;
  stateDir?: string;
  anonymize?: string;
  anonKey?: string;
  agent?: string;
  outerTunnels?: boolean;
  progress?: boolean;
  json?: boolean;
  analyze?: boolean;
  analyzerWorkers?: boolean;
  config?: string;
  reimport?: boolean;
  metadata?: boolean;
  names?: string;
  internalSuffix?: string[];
}

const POLICIES: readonly AnonymizePolicy[] = ['internal', 'all', 'none'];
const NAME_POLICIES: readonly NamePolicy[] = ['internal', 'all', 'none'];

function fileNote(f: ImportSummary['files'][number]): string {
  if (f.error) return `  (${f.error})`;
  const b = f.importedBefore;
  if (b) return `  (imported ${new Date(b.importedUs / 1000).toISOString()} from ${b.path} as agent ${b.agentId}; --reimport to import it again)`;
  return '';
}

function summaryText(s: ImportSummary): string {
  const lines = s.files.map((f) =>
    `${f.status.padEnd(9)} ${f.kind.padEnd(7)} ${String(f.packets).padStart(9)} packets  ${f.path}${fileNote(f)}`);
  lines.push(`imported ${s.packets} packets from ${s.files.length} file(s): ${s.records} flow records` +
    `${s.refusedRecords ? ` (${s.refusedRecords} refused by the store: values out of range)` : ''}, ` +
    `${s.duplicates} already imported, ${s.errors} failed, ${s.ignored} non-IP packets ignored, ` +
    `${(s.elapsedMs / 1000).toFixed(2)} s (${Math.round(s.packetsPerSec)} packets/s)`);
  return lines.join('\n');
}

export function registerImportCommand(program: Command): void {
  hostOptions(program
    .command('import')
    .description('import pcap/pcapng captures and Meerkat dump files into a flow database (the collector\'s, or --db)')
    .argument('<files...>', 'capture or dump files (recognised by content)'))
    .option('--db <path>', 'SQLite flow database (created if missing; default: the --org organisation\'s database of this host\'s collector)')
    .option('--org <id>', 'organisation whose database it goes into', DEFAULT_ORG)
    .option('--anonymize <policy>', 'addresses of capture files to pseudonymize: internal, all or none (dumps are already anonymized)', 'internal')
    .option('--anon-key <file>', "owner's anonymization key file; without it a random key is used for this import only")
    .option('--agent <id>', 'agent id recorded for flows from capture files', 'import')
    .option('--no-outer-tunnels', 'do not report the outer connection of tunnelled packets')
    .option('--no-metadata', 'do not extract DNS, TLS, HTTP and QUIC metadata from capture files (server names, DNS and TLS logs)')
    .option('--names <policy>', 'domain names in that metadata: internal, all or none (default: none with --anonymize none, else internal)')
    .option('--internal-suffix <suffix...>', 'owner-declared internal DNS suffixes for --names internal')
    .option('--progress', 'show a progress bar even when stderr is not a terminal')
    .option('--no-progress', 'never show a progress bar')
    .option('--no-analyze', 'only build flows: do not run the analyzers (on by default: alerts go into the same database)')
    .option('--analyzer-workers', 'run the analyzers in worker threads as `run` does (a stalled analyzer is stopped; more CPU and a slower start)')
    .option('--reimport', 'import captures whose content this database already holds (their flows and alert counts are then doubled)')
    .option('--json', 'print the summary as JSON')
    .action(async (files: string[], flags: ImportFlags) => {
      // the configuration first: an import that posts alerts to an https webhook starts again
      // with the extra CA certificates the launcher set aside (deferred-ca-certs.ts), before it says anything
      const configFile = flags.analyze === false ? null : collectorConfigFile(flags.config);
      const analysisConfig = configFile ? readCollectorConfigJson(configFile) : undefined;
      const rerun = rerunWithExtraCaCerts(hasHttpsWebhook(analysisConfig));
      if (rerun !== undefined) {
        process.exitCode = rerun;
        return;
      }
      const db = flags.db ?? orgDatabase(flags, flags.org ?? DEFAULT_ORG);
      const policy = flags.anonymize as AnonymizePolicy;
      if (!POLICIES.includes(policy)) {
        throw new UsageError(`--anonymize must be one of ${POLICIES.join(', ')}, got ${JSON.stringify(flags.anonymize)}`);
      }
      let anonKey: Uint8Array | undefined;
      if (flags.anonKey !== undefined) {
        try {
          anonKey = loadAnonKey(flags.anonKey);
        } catch (e) {
          throw new UsageError(e instanceof Error ? e.message : String(e));
        }
      } else if (policy !== 'none') {
        logger('import').warn('no --anon-key: pseudonyms use a random key and cannot be reversed or compared with other imports');
      }
      const names = flags.names as NamePolicy | undefined;
      if (names !== undefined && !NAME_POLICIES.includes(names)) {
        throw new UsageError(`--names must be one of ${NAME_POLICIES.join(', ')}, got ${JSON.stringify(flags.names)}`);
      }
      // commander sets progress=false for --no-progress, true for --progress, undefined otherwise
      const progress: 'auto' | boolean = flags.progress === undefined ? 'auto' : flags.progress;
      // a later tier-up once the per-packet code is optimized (shared/cli/late-tier-up.ts)
      const milestone = lateTierUp(process.execArgv, process.env, setFlagsFromString);
      const importOpts = {
        anonymize: policy,
        ...(anonKey ? { anonKey } : {}),
        agentId: flags.agent ?? 'import',
        outerTunnelFlows: flags.outerTunnels !== false,
        progress,
        reimport: flags.reimport === true,
        metadata: flags.metadata !== false,
        ...(names !== undefined ? { names } : {}),
        ...(flags.internalSuffix !== undefined ? { internalSuffixes: flags.internalSuffix } : {}),
        ...(milestone !== undefined ? { milestone } : {}),
      };
      if (flags.analyze === false) {
        const summary = await importFiles(files, { db, ...importOpts });
        process.stdout.write((flags.json ? JSON.stringify(summary) : summaryText(summary)) + '\n');
        if (summary.errors > 0) process.exitCode = 1;
        return;
      }
      // the same analyzers as the live collector, on packet time: alerts as live capture would give them
      const r = await analyzeImport(files, {
        db,
        ...importOpts,
        ...(analysisConfig && configFile ? { analyzersConfig: analysisConfig, configSource: configFile } : {}),
        analyzers: flags.analyzerWorkers ? 'worker' : 'in-process',
        log: logger('analyze'),
      });
      if (flags.json) {
        process.stdout.write(JSON.stringify({ ...r.import, db, alerts: r.alerts, newAlerts: r.newAlerts, hits: r.hits, hitsByCategory: r.hitsByCategory, analyzers: r.analyzers, loadFailures: r.loadFailures }) + '\n');
      } else {
        process.stdout.write(summaryText(r.import) + '\n');
        const cats = Object.entries(r.hitsByCategory).map(([c, n]) => `${c} ${n}`).join(', ');
        process.stdout.write(`analyzed ${r.records} flow records with ${r.analyzers.length} analyzers: ${r.hits} hit(s)${cats ? ` (${cats})` : ''} in ${r.alerts} alert(s), ${r.newAlerts} of them new; list them with: meerkat alerts --db ${db}\n`);
        for (const f of r.loadFailures) process.stderr.write(`warning: analyzer ${f.name} not loaded: ${f.error}\n`);
      }
      if (r.import.errors > 0) process.exitCode = 1;
    });
}
