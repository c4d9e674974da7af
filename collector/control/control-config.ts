// Config key "control" of the collector (and the --control flag of `meerkat-collector run`):
// where the operators' admin API listens, the extra names its certificate carries, and whether
// it also serves the web console (docs/console.md).
import { z } from 'zod';
import { configSection, validateConfig } from '../../shared/config/load-config.js';
import type { CollectorServerConfig } from '../server/server-config.js';
import { DEFAULT_ADMIN_API } from './admin-api.js';

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:9470');

export const controlConfigSchema = z
  .object({
    /** admin API (HTTPS, operator client certificates); "off" disables it */
    listen: z.union([hostPort, z.literal('off')]).default(DEFAULT_ADMIN_API),
    /** extra DNS names / IP addresses for the admin API certificate (localhost, 127.0.0.1, ::1 always) */
    names: z.array(z.string().min(1)).default([]),
    ips: z.array(z.string().min(1)).default([]),
    /** the web console on the same port (pages, password logins); false: operator certificates only */
    console: z.boolean().default(true),
  })
  .strict();

export type ControlConfig = z.output<typeof controlConfigSchema>;

/** The "control" key, with the --control flag (host:port or off) over its listen address. */
export function controlConfigFrom(cfg: CollectorServerConfig, flag?: string): ControlConfig {
  const raw = configSection(cfg, 'control', `{"listen": "${DEFAULT_ADMIN_API}"}`);
  if (flag) raw.listen = flag;
  return validateConfig(controlConfigSchema, raw, flag ? 'config key "control" + --control' : 'config key "control"');
}
