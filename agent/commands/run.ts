// `meerkat-agent run`: the endpoint service in the foreground (systemd / Windows
// service run it this way). Needs an enrolled state dir and the owner's anon key.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, parseIntOption } from '../../shared/cli/run-cli.js';
import { logger, setLogLevel } from '../../shared/log.js';
import { hasAgentIdentity } from '../transport/agent-identity.js';
import { loadAgentConfig, type AgentConfig } from '../config.js';
import { startAgentService, STATUS_FILE } from '../agent-service.js';
import { registerOperatorKeyCommands } from '../control/operator-key-command.js';
import { registerResponseKeyCommands } from '../watchlist/response-key-command.js';
import { capYoungGeneration } from '../service-heap.js';
import { COMMAND_LIMITS as L } from '../../shared/commands/command-limits.js';

interface RunFlags {
  config?: string;
  stateDir?: string;
  interface?: string[];
  snaplen?: number;
  packetsPerDump?: number;
  dumpSeconds?: number;
  anonKey?: string;
  bpf?: string;
}

function withFlags(cfg: AgentConfig, f: RunFlags): AgentConfig {
  return {
    ...cfg,
    stateDir: f.stateDir ?? cfg.stateDir,
    capture: { ...cfg.capture, ...(f.interface ? { interfaces: f.interface } : {}), ...(f.bpf !== undefined ? { bpf: f.bpf } : {}) },
    dump: {
      ...cfg.dump,
      ...(f.snaplen !== undefined ? { snapLen: f.snaplen } : {}),
      ...(f.packetsPerDump !== undefined ? { packetsPerDump: f.packetsPerDump } : {}),
      ...(f.dumpSeconds !== undefined ? { maxSeconds: f.dumpSeconds } : {}),
    },
    anonymize: { ...cfg.anonymize, ...(f.anonKey ? { keyFile: f.anonKey } : {}) },
  };
}

export function registerRunCommand(program: Command): void {
  // pinning operator keys belongs with running the agent: `run` obeys only pinned keys
  registerOperatorKeyCommands(program);
  // response keys: collector-held keys an operator authorised for a few command kinds
  registerResponseKeyCommands(program);
  program
    .command('run')
    .description('capture this host\'s traffic, pack it into encrypted spooled dumps and ship them to the collector')
    .option('--config <file>', 'agent config file (JSON; default /etc/meerkat/agent.json if present)')
    .option('--state-dir <dir>', 'state directory (identity, spool, status)')
    .option('--interface <name...>', 'capture these interfaces (default: any/all, tunnels included)')
    .option('--bpf <filter>', 'extra BPF filter')
    .option('--snaplen <n>', 'payload bytes kept per packet', parseIntOption('--snaplen', L.snapLen.min, L.snapLen.max))
    .option('--packets-per-dump <n>', 'packets per dump', parseIntOption('--packets-per-dump', L.dumpPackets.min, L.dumpPackets.max))
    .option('--dump-seconds <n>', 'seconds per dump at most', parseIntOption('--dump-seconds', L.dumpSeconds.min, L.dumpSeconds.max))
    .option('--anon-key <file>', "the owner's anonymization key (default <state-dir>/anon.key)")
    .action(async (f: RunFlags) => {
      const cfgFile = f.config ?? (exists('/etc/meerkat/agent.json') ? '/etc/meerkat/agent.json' : undefined);
      const cfg = withFlags(loadAgentConfig(cfgFile), f);
      setLogLevel(cfg.logLevel);
      const log = logger('agent');
      if (!hasAgentIdentity(cfg.stateDir)) {
        throw new UsageError(`${cfg.stateDir} holds no agent identity: enroll first (meerkat-agent enroll --collector URL --token T --state-dir ${cfg.stateDir})`);
      }
      const svc = await startAgentService(cfg, log);
      // loaded and warmed up: from here the young generation may grow, up to its cap
      const heap = capYoungGeneration();
      if (heap.maxSemiSpaceMb !== null) log.info({ maxSemiSpaceMb: heap.maxSemiSpaceMb }, 'young generation capped');
      await new Promise<void>((resolve) => {
        const stop = (sig: string): void => {
          log.info({ signal: sig }, 'stopping');
          resolve();
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
        // Windows: the service wrapper stops the agent with CTRL_BREAK (installer/windows/service)
        if (process.platform === 'win32') process.once('SIGBREAK', () => stop('SIGBREAK'));
      });
      await svc.stop();
      log.info('stopped');
    });

  program
    .command('status')
    .description('print the running agent\'s status (capture counters, spool, shipping) from its state dir')
    .option('--config <file>', 'agent config file')
    .option('--state-dir <dir>', 'state directory')
    .option('--json', 'print JSON')
    .action((f: { config?: string; stateDir?: string; json?: boolean }) => {
      const cfg = loadAgentConfig(f.config);
      const file = join(f.stateDir ?? cfg.stateDir, STATUS_FILE);
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        throw new Error(`no status at ${file}: is the agent running with this state dir?`);
      }
      if (f.json) { process.stdout.write(JSON.stringify(JSON.parse(text)) + '\n'); return; }
      const s = JSON.parse(text) as {
        agentId: string; collector: string; updated: string; capture: Record<string, unknown>; spool: Record<string, unknown>; shipper: Record<string, unknown>;
        runtime?: { profile?: string; node?: string }; memory?: { rssBytes?: number; heapTotalBytes?: number; heapUsedBytes?: number };
      };
      process.stdout.write(`agent ${s.agentId} -> ${s.collector} (status at ${s.updated})\n`);
      const c = s.capture;
      process.stdout.write(`capture: ${String(c.packetsSeen)} seen, ${String(c.packetsKept)} kept, ${String(c.excludedTotal)} excluded, ${String(c.malformed)} malformed, kernel drops ${String(c.kernelDrops ?? 'unknown')}, ${String(c.dumps)} dumps\n`);
      process.stdout.write(`spool: ${JSON.stringify(s.spool)}\nshipping: ${JSON.stringify(s.shipper)}\n`);
      if (s.runtime || s.memory) {
        const mb = (b: number | undefined): string => (b === undefined ? '?' : `${(b / 1048576).toFixed(1)} MB`);
        process.stdout.write(`runtime: ${s.runtime?.profile ?? 'unknown'} profile, node ${s.runtime?.node ?? '?'}; memory: RSS ${mb(s.memory?.rssBytes)}, V8 heap ${mb(s.memory?.heapUsedBytes)} used of ${mb(s.memory?.heapTotalBytes)}\n`);
      }
    });
}

function exists(p: string): boolean {
  try { readFileSync(p); return true; } catch { return false; }
}
