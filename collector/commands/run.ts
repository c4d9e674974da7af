// `meerkat-collector run`: the configuration file (found as every meerkat-collector command
// finds it, collector-config.ts) with flags over it makes the collector's config, which
// collector/collector-service.ts turns into a running collector; it runs until SIGTERM or
// SIGINT, then drains uploads under way and exits 0.
import type { Command } from 'commander';
import { logger, setLogLevel } from '../../shared/log.js';
import { refuseRenamedOptions } from '../../shared/cli/renamed-options.js';
import { DEFAULT_API, DEFAULT_LISTEN, DEFAULT_OPS, type CollectorServerConfig } from '../server/server-config.js';
import { collectorHost } from '../collector-config.js';
import { hostOptions } from './host-options.js';

export interface RunFlags {
  config?: string;
  stateDir?: string;
  listen?: string;
  api?: string;
  ops?: string;
  pkiDir?: string;
  dumpDir?: string;
  tlsMin?: string;
}

/** Config file first, flags override it. */
export function collectorConfigFrom(flags: RunFlags): CollectorServerConfig {
  const o: Record<string, unknown> = {};
  if (flags.listen) o.listen = flags.listen;
  if (flags.api) o.api = flags.api;
  if (flags.ops) o.ops = flags.ops;
  if (flags.pkiDir) o.pkiDir = flags.pkiDir;
  if (flags.dumpDir) o.dumpDir = flags.dumpDir;
  if (flags.tlsMin) o.tls = { minVersion: flags.tlsMin };
  return collectorHost({ ...(flags.config ? { config: flags.config } : {}), ...(flags.stateDir ? { stateDir: flags.stateDir } : {}) }, o).config;
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
  const cmd = hostOptions(program
    .command('run')
    .description('run the collector: the agents\' port (enrollment, dumps), flows, analyzers, the operators\' API and the ops port'))
    .option('--listen <host:port>', `agents' port (TLS; default ${DEFAULT_LISTEN})`)
    .option('--api <host:port|off>', `operators' API (HTTPS with operator certificates; default ${DEFAULT_API})`)
    .option('--ops <host:port|off>', `ops port: plain HTTP /healthz and /metrics (default ${DEFAULT_OPS})`)
    .option('--pki-dir <dir>', 'PKI directory (default <state-dir>/pki)')
    .option('--dump-dir <dir>', 'where raw dumps are stored (default <state-dir>/dumps)')
    .option('--tls-min <version>', 'lowest TLS version accepted: 1.3 (default) or 1.2');
  refuseRenamedOptions(cmd, { '--admin': '--ops (the /healthz and /metrics port)', '--control': '--api (the operators\' API port)' });
  return cmd.action(async (flags: RunFlags) => {
    const cfg = collectorConfigFrom(flags);
    setLogLevel(cfg.logLevel);
    // loaded here: the server's modules (TLS, PKI, the API...) are not what `import` or `model` need,
    // and loading them cost every other sub-command a third of a second of start-up
    const { startCollectorService } = await import('../collector-service.js');
    const service = await startCollectorService(cfg);
    await untilSignal();
    await service.stop();
  });
}
