// `meerkat-collector run` with the control side: the command queue, result handling and the
// operators' admin API (--control host:port|off, config key `control.listen`, default
// 127.0.0.1:9470), composed into the run command's hooks (onHeartbeat, onCommandResult,
// onStarted to attach to the running server, onStop to close).
import type { Command } from 'commander';
import { z } from 'zod';
import { logger } from '../../shared/log.js';
import { configSection, validateConfig } from '../../shared/config/load-config.js';
import { register as registerRunCommand, startCollector, type RunHooks, type RunHooksSource } from '../commands/run.js';
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
  const raw = configSection(cfg, 'control', `{"listen": "${DEFAULT_ADMIN_API}"}`);
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

/** The control side as run hooks: opened with the collector, attached once it listens. */
export async function withControl(cfg: CollectorServerConfig, base: RunHooks, controlFlag?: string): Promise<{ hooks: RunHooks; control: ControlService }> {
  const cc = controlConfigFrom(cfg, controlFlag);
  const dirs = resolvedDirs(cfg);
  const control = await ControlService.open({
    dbPath: dbPathFor(cfg),
    pkiDir: dirs.pkiDir,
    listen: cc.listen === 'off' ? false : splitHostPort(cc.listen),
    adminNames: { names: cc.names, ips: cc.ips },
    log: logger('control'),
  });
  const hooks: RunHooks = {
    ...composeHooks(base, control),
    onStarted: async (server) => {
      await base.onStarted?.(server);
      control.attach(server);
    },
    onStop: async () => {
      await control.close();
      await base.onStop?.();
    },
  };
  return { hooks, control };
}

/** Starts the collector with its control side (what tests use to run one in-process). */
export async function startControlledCollector(cfg: CollectorServerConfig, base: RunHooks, controlFlag?: string): Promise<{ server: CollectorServer; control: ControlService }> {
  const { hooks, control } = await withControl(cfg, base, controlFlag);
  let server: CollectorServer;
  try {
    server = await startCollector(cfg, hooks);
  } catch (e) {
    await control.close();
    throw e;
  }
  await hooks.onStarted?.(server);
  return { server, control };
}

/** Registers `run` (collector/commands/run.ts) with the control side composed into its hooks. */
export function registerRunWithControl(program: Command, hooksSource: RunHooksSource): Command {
  const run = registerRunCommand(program, async (cfg, flags) => {
    const base = typeof hooksSource === 'function' ? await hooksSource(cfg, flags) : hooksSource;
    try {
      return (await withControl(cfg, base, typeof flags.control === 'string' ? flags.control : undefined)).hooks;
    } catch (e) {
      await base.onStop?.();
      throw e;
    }
  });
  run.option('--control <host:port|off>', `operators' admin API, HTTPS with operator certificates (default ${DEFAULT_ADMIN_API})`);
  return run;
}
