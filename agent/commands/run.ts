// `meerkat-agent run`: the endpoint service in the foreground (systemd / Windows
// service run it this way). Needs an enrolled state dir and the owner's anon key.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { UsageError, parseIntOption } from '../../shared/cli/run-cli.js';
import { logger, setLogLevel } from '../../shared/log.js';
import { hasAgentIdentity } from '../transport/agent-identity.js';
import { anonKeyPath, loadAgentConfig, type AgentConfig } from '../config.js';
import { startAgentService } from '../agent-service.js';
import { registerStatusCommand } from './status.js';
import { registerOperatorKeyCommands } from '../control/operator-key-command.js';
import { registerResponseKeyCommands } from '../watchlist/response-key-command.js';
import { capYoungGeneration } from '../service-heap.js';
import { scheduleStartupTrim } from '../service-trim.js';
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
  registerStatusCommand(program);
  program
    .command('run')
    .description('capture this host\'s traffic, pack it into encrypted spooled dumps and ship them to the collector')
    .option('--config <file>', 'agent config file (JSON; default $MEERKAT_AGENT_CONFIG, else /etc/meerkat/agent.json if present)')
    .option('--state-dir <dir>', 'state directory (identity, spool, status)')
    .option('--interface <name...>', 'capture these interfaces (default: any/all, tunnels included)')
    .option('--bpf <filter>', 'extra BPF filter')
    .option('--snaplen <n>', 'payload bytes kept per packet', parseIntOption('--snaplen', L.snapLen.min, L.snapLen.max))
    .option('--packets-per-dump <n>', 'packets per dump', parseIntOption('--packets-per-dump', L.dumpPackets.min, L.dumpPackets.max))
    .option('--dump-seconds <n>', 'seconds per dump at most', parseIntOption('--dump-seconds', L.dumpSeconds.min, L.dumpSeconds.max))
    .option('--anon-key <file>', "the owner's anonymization key (default <state-dir>/anon.key)")
    .action(async (f: RunFlags) => {
      const cfg = withFlags(loadAgentConfig(f.config), f);
      setLogLevel(cfg.logLevel);
      const log = logger('agent');
      if (!hasAgentIdentity(cfg.stateDir)) {
        throw new UsageError(`${cfg.stateDir} holds no agent identity: enroll first (meerkat-agent enroll --collector URL --token T --anon-key anon.key --box-pub box.pub --operator-key op.pub; \`meerkat-collector init\` printed the command)`);
      }
      const keyFile = anonKeyPath(cfg);
      if (cfg.anonymize.policy !== 'none' && !existsSync(keyFile)) {
        throw new UsageError(`no anonymization key at ${keyFile}: the agent never ships real internal addresses, so it does not run without the network owner's anon.key. `
          + 'The owner makes it (`meerkat keys init`) and hands anon.key and box.pub to each endpoint; install them with '
          + '`meerkat-agent enroll --force ... --anon-key anon.key --box-pub box.pub`, or copy anon.key there (mode 0600), or set anonymize.keyFile');
      }
      const svc = await startAgentService(cfg, log);
      // loaded and warmed up: from here the young generation may grow, up to its cap
      const heap = capYoungGeneration();
      if (heap.maxSemiSpaceMb !== null) log.info({ maxSemiSpaceMb: heap.maxSemiSpaceMb }, 'young generation capped');
      // start-up's pages leave the resident set once loaded, warmed up and connected
      const stopTrim = scheduleStartupTrim(svc.shipper, log);
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
      stopTrim();
      await svc.stop();
      log.info('stopped');
    });
}
