// `meerkat-agent replay FILE... --out DIR`: the agent pipeline on pcap/pcapng files.
import type { Command } from 'commander';
import { refuseRenamedOptions } from '../../shared/cli/renamed-options.js';
import { statSync } from 'node:fs';
import { parseIntOption, UsageError } from '../../shared/cli/run-cli.js';
import { COMMAND_LIMITS as L } from '../../shared/commands/command-limits.js';
import { applyReplayV8Flags } from './replay-v8-flags.js';
import { lateTierUp, milestoneCheck } from '../../shared/cli/late-tier-up.js';

interface ReplayCliOptions {
  out: string;
  anonymize: string;
  anonKey?: string;
  packetsPerDump: number;
  snaplen: number;
  agentId?: string;
  hostAddr?: string[];
  internalPrefix?: string[];
  metadata: boolean;
  names: string;
  internalSuffix?: string[];
  json?: boolean;
}

export function registerReplayCommand(program: Command): void {
  const cmd = program
    .command('replay')
    .description('run the capture pipeline (decode, exclude noise, anonymize, pack) on pcap/pcapng files and write dump files')
    .argument('<files...>', 'pcap or pcapng files')
    .requiredOption('--out <dir>', 'directory for the dump files')
    .option('--anonymize <policy>', 'internal | all | none', 'internal')
    .option('--anon-key <file>', "the owner's anonymization key (needed unless --anonymize none)")
    .option('--packets-per-dump <n>', 'packets per dump file', parseIntOption('--packets-per-dump', L.dumpPackets.min, L.dumpPackets.max), 20_000)
    .option('--snaplen <n>', 'payload bytes kept per packet (0 = headers only)', parseIntOption('--snaplen', L.snapLen.min, L.snapLen.max), 0)
    .option('--agent-id <uuid>', 'agent id written into the dump headers (default: random)')
    .option('--host-addr <addr...>', "the capturing host's own addresses (sets direction; anonymized as internal)")
    .option('--internal-prefix <cidr...>', 'owner-declared internal prefixes (default RFC 1918, CGNAT, ULA, link-local)')
    .option('--no-metadata', 'do not extract DNS, TLS, HTTP and QUIC metadata into the dumps')
    .option('--names <policy>', 'domain names in metadata: internal | all | none (pseudonymize internal names, all, or none)', 'internal')
    .option('--internal-suffix <suffix...>', 'owner-declared internal DNS suffixes (default local, lan, home.arpa, internal, corp, ...)')
    .option('--json', 'print the summary as JSON');
  refuseRenamedOptions(cmd, { '--key-file': '--anon-key', '--internal': '--internal-prefix' });
  cmd.action(async (files: string[], o: ReplayCliOptions) => {
      if (!['internal', 'all', 'none'].includes(o.anonymize)) throw new UsageError(`--anonymize must be internal, all or none, got ${JSON.stringify(o.anonymize)}`);
      if (!['internal', 'all', 'none'].includes(o.names)) throw new UsageError(`--names must be internal, all or none, got ${JSON.stringify(o.names)}`);
      if (o.anonymize !== 'none' && !o.anonKey) throw new UsageError(`--anonymize ${o.anonymize} needs --anon-key (the owner's anon.key; create one with 'meerkat keys init')`);
      let total = 0;
      for (const f of files) {
        try { total += statSync(f).size; } catch { throw new UsageError(`cannot read capture file ${f}`); }
      }
      // loaded on use: the agent's service (`run`) must not carry the file readers and progress bar
      const [{ startProgress }, { replayFiles }, { setFlagsFromString }] = await Promise.all([
        import('../../shared/cli/progress.js'), import('../pipeline/replay-files.js'), import('node:v8'),
      ]);
      applyReplayV8Flags(process.execArgv, setFlagsFromString);
      // a later tier-up once the per-packet code is optimized (shared/cli/late-tier-up.ts)
      const tierUp = milestoneCheck(lateTierUp(process.execArgv, process.env, setFlagsFromString));
      let framesBefore = 0;
      let lastFrames = 0;
      const bar = await startProgress(total, 'replay');
      let doneBefore = 0;
      let lastIndex = 0;
      let lastSize = 0;
      const summary = await replayFiles(files, {
        outDir: o.out,
        anonymize: o.anonymize as 'internal' | 'all' | 'none',
        keyFile: o.anonKey,
        packetsPerDump: o.packetsPerDump,
        snapLen: o.snaplen,
        agentId: o.agentId,
        hostAddresses: o.hostAddr,
        internalPrefixes: o.internalPrefix,
        metadata: o.metadata,
        names: o.anonymize === 'none' && o.names === 'internal' ? 'none' : (o.names as 'internal' | 'all' | 'none'),
        internalSuffixes: o.internalSuffix,
        onProgress: (p) => {
          if (p.fileIndex !== lastIndex) { doneBefore += lastSize; framesBefore += lastFrames; lastIndex = p.fileIndex; }
          lastSize = p.fileSize;
          lastFrames = p.frames;
          tierUp(framesBefore + p.frames);
          bar.update(doneBefore + p.bytesRead, { detail: `${p.dumps} dumps` });
        },
      });
      bar.stop();
      const packets = summary.dumps.reduce((a, d) => a + d.packets, 0);
      const bytes = summary.dumps.reduce((a, d) => a + d.bytes, 0);
      const failed = summary.files.filter((f) => f.error);
      if (o.json) {
        process.stdout.write(JSON.stringify({ agentId: summary.agentId, anonKeyId: summary.anonKeyId, files: summary.files, dumps: summary.dumps, packets, dumpBytes: bytes, bytesPerPacket: packets ? bytes / packets : 0, stats: summary.stats, elapsedMs: summary.elapsedMs, framesPerSecond: summary.framesPerSecond }) + '\n');
      } else {
        process.stdout.write(`replayed ${summary.files.length} file(s): ${summary.stats.packetsSeen} frames, ${packets} packet records kept, ${summary.stats.excludedTotal} excluded as noise\n`);
        process.stdout.write(`wrote ${summary.dumps.length} dump(s) to ${o.out}: ${bytes} bytes, ${(packets ? bytes / packets : 0).toFixed(2)} bytes/packet\n`);
        process.stdout.write(`agent id ${summary.agentId}, anonymization key id ${summary.anonKeyId}, ${Math.round(summary.framesPerSecond)} frames/s\n`);
        for (const f of failed) process.stderr.write(`warning: ${f.path}: ${f.error}\n`);
      }
      if (failed.length === summary.files.length) process.exitCode = 1;
    });
}
