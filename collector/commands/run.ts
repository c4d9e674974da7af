// `meerkat-collector run`: the config file and/or flags make the collector's config, which
// collector/collector-service.ts turns into a running collector; it runs until SIGTERM or
// SIGINT, then drains uploads under way and exits 0.
import type { Command } from 'commander';
import { logger, setLogLevel } from '../../shared/log.js';
import { validateConfig } from '../../shared/config/load-config.js';
import { collectorServerConfigSchema, loadCollectorServerConfig, type CollectorServerConfig } from '../server/server-config.js';
import { DEFAULT_ADMIN_API } from '../control/control-config.js';

export interface RunFlags {
  config?: string;
  listen?: string;
  admin?: string;
  stateDir?: string;
  pkiDir?: string;
  dumpDir?: string;
  tlsMin?: string;
  control?: string;
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

/** Resolves on the first SIGTERM or SIGINT (named in the log). */
function untilSignal(): Promise<void> {
  const log = logger('collector');
  return new Promise<void>((resolve) => {
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
}

export function register(program: Command): Command {
  return program
    .command('run')
    .description('run the collector: mutual-TLS agent server with enrollment, flows, analyzers, the admin port and the operators\' admin API')
    .option('--config <file>', 'collector config file (JSON)')
    .option('--listen <host:port>', 'agent TLS port (default 0.0.0.0:8443)')
    .option('--admin <host:port|off>', 'admin HTTP port for /healthz and /metrics (default 127.0.0.1:9469)')
    .option('--control <host:port|off>', `operators' admin API, HTTPS with operator certificates (default ${DEFAULT_ADMIN_API})`)
    .option('--state-dir <dir>', 'state directory (default /var/lib/meerkat-collector)')
    .option('--pki-dir <dir>', 'PKI directory (default <state-dir>/pki)')
    .option('--dump-dir <dir>', 'where raw dumps are stored (default <state-dir>/dumps)')
    .option('--tls-min <version>', 'lowest TLS version accepted: 1.3 (default) or 1.2')
    .action(async (flags: RunFlags) => {
      const cfg = collectorConfigFrom(flags);
      setLogLevel(cfg.logLevel);
      // loaded here: the server's modules (TLS, PKI, NATS, the admin API...) are not what `import` or `model` need,
      // and loading them cost every other sub-command a third of a second of start-up
      const { startCollectorService } = await import('../collector-service.js');
      const service = await startCollectorService(cfg, { ...(flags.control ? { controlListen: flags.control } : {}) });
      await untilSignal();
      await service.stop();
    });
}
