// `meerkat-collector run`: start the agent-facing TLS server (enrollment + WebSocket) and
// the admin port from a config file and/or flags; run until SIGTERM/SIGINT, then drain
// uploads under way and exit 0. The flow side (store, flows, analysis) plugs in through hooks.
import type { Command } from 'commander';
import { UsageError } from '../../shared/cli/run-cli.js';
import { logger, setLogLevel } from '../../shared/log.js';
import { RevocationListError } from '../../certs/errors.js';
import { KeyFileError } from '../../shared/keys/key-file-error.js';
import { CollectorServer, type CollectorServerOptions } from '../server/collector-server.js';
import {
  collectorServerConfigSchema, effectiveLimits, loadCollectorServerConfig, resolvedDirs, splitHostPort,
  type CollectorServerConfig,
} from '../server/server-config.js';
import { validateConfig } from '../../shared/config/load-config.js';
import { COLLECTOR_STATE_DIR } from '../../shared/config/state-dirs.js';

/** What the rest of the collector plugs into the server (store, flow engine, command results). */
export interface RunHooks extends Pick<CollectorServerOptions, 'store' | 'onDumpCommitting' | 'onDumpCommitted' | 'onHeartbeat' | 'onCommandResult' | 'ledger' | 'watchlist'> {
  /** once the server listens (parts that need it, e.g. command delivery) */
  onStarted?: (server: CollectorServer) => void | Promise<void>;
  /** after the server stopped (close the store, flush the flow engine) */
  onStop?: () => void | Promise<void>;
}

/**
 * Hooks, or a function making them from the configuration (e.g. opening the store in
 * stateDir) and the command's flags (options other parts add to `run`).
 */
export type RunHooksSource = RunHooks | ((cfg: CollectorServerConfig, flags: Record<string, unknown>) => RunHooks | Promise<RunHooks>);

export interface RunFlags {
  config?: string;
  listen?: string;
  admin?: string;
  stateDir?: string;
  pkiDir?: string;
  dumpDir?: string;
  tlsMin?: string;
}

/** Config file first, flags override it. */
export function collectorConfigFrom(flags: RunFlags): CollectorServerConfig {
  const base = loadCollectorServerConfig(flags.config);
  const merged: Record<string, unknown> = { ...base };
  if (flags.listen) merged.listen = flags.listen;
  if (flags.admin) merged.admin = flags.admin;
  if (flags.stateDir) merged.stateDir = flags.stateDir;
  if (flags.pkiDir) merged.pkiDir = flags.pkiDir;
  if (flags.dumpDir) merged.dumpDir = flags.dumpDir;
  if (flags.tlsMin) merged.tls = { minVersion: flags.tlsMin };
  return validateConfig(collectorServerConfigSchema, merged, flags.config ? `${flags.config} + flags` : 'flags');
}

/** Starts the server for a configuration, with the hooks that plug the flow side in (tests use it too). */
export async function startCollector(cfg: CollectorServerConfig, hooks: RunHooks = {}): Promise<CollectorServer> {
  const dirs = resolvedDirs(cfg);
  const { onStop: _onStop, onStarted: _onStarted, ...serverHooks } = hooks;
  try {
    return await CollectorServer.start({
      ...dirs,
      listen: splitHostPort(cfg.listen),
      admin: cfg.admin === 'off' ? false : splitHostPort(cfg.admin),
      tlsMinVersion: cfg.tls.minVersion === '1.2' ? 'TLSv1.2' : 'TLSv1.3',
      limits: effectiveLimits(cfg),
      agentCertDays: cfg.agentCertDays,
      ...serverHooks,
    });
  } catch (e) {
    // a missing or broken PKI is an installation problem: usage exit code, same message
    if (e instanceof KeyFileError || e instanceof RevocationListError) throw new UsageError(`${e.message} (run \`meerkat pki init --dir ${dirs.pkiDir}\` first?)`);
    throw e;
  }
}

export function register(program: Command, hooksSource: RunHooksSource = {}): Command {
  return program
    .command('run')
    .description('run the collector: mutual-TLS agent server with enrollment, and the admin port')
    .option('--config <file>', 'collector config file (JSON)')
    .option('--listen <host:port>', 'agent TLS port (default 0.0.0.0:8443)')
    .option('--admin <host:port|off>', 'admin HTTP port for /healthz and /metrics (default 127.0.0.1:9469)')
    .option('--state-dir <dir>', `state directory (default ${COLLECTOR_STATE_DIR})`)
    .option('--pki-dir <dir>', 'PKI directory (default <state-dir>/pki)')
    .option('--dump-dir <dir>', 'where raw dumps are stored (default <state-dir>/dumps)')
    .option('--tls-min <version>', 'lowest TLS version accepted: 1.3 (default) or 1.2')
    .action(async (flags: RunFlags & Record<string, unknown>) => {
      const cfg = collectorConfigFrom(flags);
      setLogLevel(cfg.logLevel);
      const log = logger('collector');
      const hooks = typeof hooksSource === 'function' ? await hooksSource(cfg, flags) : hooksSource;
      let server: CollectorServer;
      try {
        server = await startCollector(cfg, hooks);
        await hooks.onStarted?.(server);
      } catch (e) {
        await hooks.onStop?.();
        throw e;
      }
      await new Promise<void>((resolve) => {
        const stop = (sig: string): void => {
          log.info({ signal: sig }, 'stopping');
          process.off('SIGTERM', onTerm);
          process.off('SIGINT', onInt);
          resolve();
        };
        const onTerm = (): void => stop('SIGTERM');
        const onInt = (): void => stop('SIGINT');
        process.on('SIGTERM', onTerm);
        process.on('SIGINT', onInt);
      });
      await server.close();
      await hooks.onStop?.();
    });
}
