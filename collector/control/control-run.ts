// `meerkat-collector run` with the control side: the same run command (flags, config, hooks,
// signals) plus the command queue, result handling and the operators' admin API
// (--control host:port|off, config key `control.listen`, default 127.0.0.1:9470).
//
// Why this replaces the run command's action instead of passing hooks: delivering commands
// needs the running CollectorServer (sendCommand, who is connected), and RunHooks has no hook
// that receives it. With an `onStarted(server)` hook in collector/commands/run.ts this file
// shrinks to composing hooks (see the report).
import type { Command } from 'commander';
import { z } from 'zod';
import { logger, setLogLevel } from '../../shared/log.js';
import { validateConfig } from '../../shared/config/load-config.js';
import { collectorConfigFrom, register as registerRunCommand, startCollector, type RunHooks, type RunHooksSource } from '../commands/run.js';
import { resolvedDirs, splitHostPort, type CollectorServerConfig } from '../server/server-config.js';
import type { CollectorServer } from '../server/collector-server.js';
import { dbPathFor } from '../flow-service.js';
import { DEFAULT_ADMIN_API } from './admin-api.js';
import { ControlService } from './control-service.js';

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:9470');

export const controlConfigSchema = z
  .object({
    /** admin API (HTTPS, operator client certificates); "off" disables it */
    listen: z.union([hostPort, z.literal('off')]).default(DEFAULT_ADMIN_API),
    /** extra DNS names / IP addresses for the admin API certificate (localhost, 127.0.0.1, ::1 always) */
    names: z.array(z.string().min(1)).default([]),
    ips: z.array(z.string().min(1)).default([]),
  })
  .strict();

export type ControlConfig = z.output<typeof controlConfigSchema>;

export function controlConfigFrom(cfg: CollectorServerConfig, flag?: string): ControlConfig {
  const raw = { ...((cfg as Record<string, unknown>).control as Record<string, unknown> | undefined ?? {}) };
  if (flag) raw.listen = flag;
  return validateConfig(controlConfigSchema, raw, flag ? 'config key "control" + --control' : 'config key "control"');
}

/** Runs hooks of the same name one after the other. */
export function composeHooks(base: RunHooks, control: ControlService): RunHooks {
  return {
    ...base,
    onHeartbeat: (agentId, health) => {
      base.onHeartbeat?.(agentId, health);
      control.hooks.onHeartbeat(agentId, health);
    },
    onCommandResult: (agentId, id, ok, result, error) => {
      base.onCommandResult?.(agentId, id, ok, result, error);
      control.hooks.onCommandResult(agentId, id, ok, result, error);
    },
  };
}

/** Starts the collector with its control side (also what tests use to run one in-process). */
export async function startControlledCollector(cfg: CollectorServerConfig, hooks: RunHooks, controlFlag?: string): Promise<{ server: CollectorServer; control: ControlService }> {
  const cc = controlConfigFrom(cfg, controlFlag);
  const dirs = resolvedDirs(cfg);
  const control = await ControlService.open({
    dbPath: dbPathFor(cfg),
    pkiDir: dirs.pkiDir,
    listen: cc.listen === 'off' ? false : splitHostPort(cc.listen),
    adminNames: { names: cc.names, ips: cc.ips },
    log: logger('control'),
  });
  let server: CollectorServer;
  try {
    server = await startCollector(cfg, composeHooks(hooks, control));
  } catch (e) {
    await control.close();
    throw e;
  }
  control.attach(server);
  return { server, control };
}

type Flags = Parameters<typeof collectorConfigFrom>[0] & { control?: string };

/** Registers `run` (collector/commands/run.ts) and gives it the control side. */
export function registerRunWithControl(program: Command, hooksSource: RunHooksSource): Command {
  const run = registerRunCommand(program, hooksSource);
  run.option('--control <host:port|off>', `operators' admin API, HTTPS with operator certificates (default ${DEFAULT_ADMIN_API})`);
  run.action(async (flags: Flags) => {
    const cfg = collectorConfigFrom(flags);
    setLogLevel(cfg.logLevel);
    const log = logger('collector');
    const hooks = typeof hooksSource === 'function' ? await hooksSource(cfg) : hooksSource;
    let started: { server: CollectorServer; control: ControlService };
    try {
      started = await startControlledCollector(cfg, hooks, flags.control);
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
    await started.server.close();
    await started.control.close();
    await hooks.onStop?.();
  });
  return run;
}
