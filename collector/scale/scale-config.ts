// The "scaleOut" section of the collector config (docs/scale-out.md "Roles"): where NATS and
// PostgreSQL are, credentials from files only, TLS to both, partitions per organisation.
// `meerkat-collector run --role frontend|worker` needs it; role `all` (the single process) does not.
import { hostname } from 'node:os';
import { z } from 'zod';
import { configSection, validateConfig } from '../../shared/config/load-config.js';
import type { CollectorServerConfig } from '../server/server-config.js';
import type { PgConnectOptions } from '../../shared/store/postgres/pg-connect.js';

const tlsFiles = z.object({ ca: z.string().min(1), cert: z.string().min(1).optional(), key: z.string().min(1).optional() }).strict()
  .refine((t) => (t.cert === undefined) === (t.key === undefined), 'give cert and key together (client certificate) or neither');

export const scaleOutSchema = z.object({
  /** nats://host:4222 or tls://host:4222, several comma-separated */
  natsUrl: z.string().min(1),
  /** "user:password" or a token, one line */
  natsCredsFile: z.string().min(1).optional(),
  natsTls: tlsFiles.optional(),
  /** postgres://user@host:port/database, no password */
  pgUrl: z.string().min(1),
  pgPasswordFile: z.string().min(1).optional(),
  pgTls: tlsFiles.optional(),
  partitions: z.number().int().min(1).max(1024).default(16),
  /**
   * organisations whose partitions the workers lease; a front-end writes those PostgreSQL does
   * not hold yet from its PKI directory, and serves every organisation PostgreSQL holds
   */
  orgs: z.array(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/)).min(1).default(['default']),
  /** how often a front-end re-reads the organisations from PostgreSQL (ms) */
  orgRefreshMs: z.number().int().min(100).max(60_000).default(1000),
  /** per organisation: dumps/s accepted by the front-ends together is this × front-ends (token bucket per front-end) */
  orgDumpsPerSec: z.number().positive().default(1000),
  orgDumpsBurst: z.number().positive().default(2000),
  /** raw dumps kept in the stream (days) */
  streamMaxAgeDays: z.number().positive().default(7),
  workerId: z.string().min(1).default(`${hostname()}-${process.pid}`),
  /** how often a worker re-balances its partitions (ms) */
  rebalanceMs: z.number().int().min(100).default(2000),
  /** workers run the organisations' analyzers (config keys analyzers, analysis, alerts) and write alerts to PostgreSQL */
  workerAnalysis: z.boolean().default(true),
}).strict();

export type ScaleOutConfig = z.output<typeof scaleOutSchema>;

/** The PostgreSQL connection settings of the section. */
export function pgOptionsOf(so: ScaleOutConfig, max?: number): PgConnectOptions {
  return { url: so.pgUrl, ...(so.pgPasswordFile ? { passwordFile: so.pgPasswordFile } : {}), ...(so.pgTls ? { tls: so.pgTls } : {}), ...(max !== undefined ? { max } : {}) };
}

export type Role = 'frontend' | 'worker' | 'all';

/** The scaleOut section, flags over the file. */
export function scaleOutConfigFrom(cfg: CollectorServerConfig, flags: { natsUrl?: string; pgUrl?: string }): ScaleOutConfig {
  const section = configSection(cfg, 'scaleOut', '{"natsUrl": "nats://127.0.0.1:4222", "pgUrl": "postgres://meerkat@127.0.0.1/meerkat"}');
  if (flags.natsUrl) section.natsUrl = flags.natsUrl;
  if (flags.pgUrl) section.pgUrl = flags.pgUrl;
  return validateConfig(scaleOutSchema, section, 'config key "scaleOut"');
}
