// `meerkat-collector run`: the config file and/or flags make the collector's config, which
// collector/collector-service.ts turns into a running collector; it runs until SIGTERM or
// SIGINT, then drains uploads under way and exits 0.
import type { Command } from 'commander';
import { logger, setLogLevel } from '../../shared/log.js';
import { validateConfig } from '../../shared/config/load-config.js';
import { collectorServerConfigSchema, loadCollectorServerConfig, type CollectorServerConfig } from '../server/server-config.js';
import { DEFAULT_ADMIN_API } from '../control/admin-api.js';
import { startCollectorService } from '../collector-service.js';
import { UsageError } from '../../shared/cli/run-cli.js';
import { scaleOutConfigFrom, type Role } from '../scale/scale-config.js';
import { startFrontend } from '../scale/frontend.js';
import { startWorkerService } from '../scale/worker-service.js';

export interface RunFlags {
  config?: string;
  listen?: string;
  admin?: string;
  stateDir?: string;
  pkiDir?: string;
  dumpDir?: string;
  tlsMin?: string;
  control?: string;
  role?: string;
  natsUrl?: string;
  pgUrl?: string;
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

function roleOf(v: string | undefined): Role {
  if (v === undefined || v === 'all' || v === 'frontend' || v === 'worker') return v ?? 'all';
  throw new UsageError(`--role must be all, frontend or worker, got ${JSON.stringify(v)}`);
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
    .option('--role <role>', 'all (one process, SQLite; default), frontend or worker (scale-out: docs/scale-out.md)', 'all')
    .option('--nats-url <url>', 'scale-out: NATS server(s), over config key scaleOut.natsUrl')
    .option('--pg-url <url>', 'scale-out: PostgreSQL (postgres://user@host:port/db, password from scaleOut.pgPasswordFile), over scaleOut.pgUrl')
    .action(async (flags: RunFlags) => {
      const role = roleOf(flags.role);
      const cfg = collectorConfigFrom(flags);
      setLogLevel(cfg.logLevel);
      if (role === 'all') {
        const service = await startCollectorService(cfg, { ...(flags.control ? { controlListen: flags.control } : {}) });
        await untilSignal();
        await service.stop();
        return;
      }
      const so = scaleOutConfigFrom(cfg, { ...(flags.natsUrl ? { natsUrl: flags.natsUrl } : {}), ...(flags.pgUrl ? { pgUrl: flags.pgUrl } : {}) });
      const service = role === 'frontend' ? await startFrontend(cfg, so, { log: logger('frontend') }) : await startWorkerService(cfg, so, logger('worker'));
      await untilSignal();
      await service.stop();
    });
}
