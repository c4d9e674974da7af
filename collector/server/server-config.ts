// The transport part of the collector's configuration file: listen addresses, PKI and
// state directories, TLS version floor and per-agent limits. Other subsystems own other
// top-level keys of the same file, so unknown keys are left alone here.
import { z } from 'zod';
import { join } from 'node:path';
import { loadConfigFile } from '../../shared/config/load-config.js';
import { COLLECTOR_STATE_DIR } from '../../shared/config/state-dirs.js';
import { DEFAULT_LIMITS, type CollectorLimits } from './collector-limits.js';
import { DEFAULT_MAX_PACKETS } from '../../shared/dump/dump-reader.js';

export const DEFAULT_LISTEN = '0.0.0.0:8443';
export const DEFAULT_ADMIN = '127.0.0.1:9469';

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'expected host:port, e.g. 0.0.0.0:8443 or [::]:8443');

const limits = z.object({
  maxDumpBytes: z.number().int().min(1024).max(1 << 30),
  maxDumpPackets: z.number().int().min(1).max(DEFAULT_MAX_PACKETS),
  agentRatePacketsPerSec: z.number().positive(),
  agentBurstPackets: z.number().positive(),
  window: z.number().int().min(1).max(1024),
  agentInflightBytes: z.number().int().min(1024),
  agentRateBytesPerSec: z.number().positive(),
  agentBurstBytes: z.number().positive(),
  globalInflightBytes: z.number().int().min(1024),
  maxAgents: z.number().int().min(1),
  heartbeatSec: z.number().positive().max(3600),
  renewIntervalSec: z.number().min(0),
  handshakeTimeoutSec: z.number().positive().max(300),
  enrollFailuresPerSec: z.number().positive(),
  enrollFailureBurst: z.number().min(1),
}).partial().strict();

export const collectorServerConfigSchema = z.object({
  stateDir: z.string().min(1).default(COLLECTOR_STATE_DIR),
  /** default <stateDir>/pki */
  pkiDir: z.string().min(1).optional(),
  /** default <stateDir>/dumps */
  dumpDir: z.string().min(1).optional(),
  listen: hostPort.default(DEFAULT_LISTEN),
  /** "off" disables the admin port */
  admin: z.union([hostPort, z.literal('off')], { error: `expected "host:port" (e.g. "${DEFAULT_ADMIN}") or "off"` }).default(DEFAULT_ADMIN),
  tls: z.object({ minVersion: z.enum(['1.3', '1.2']).default('1.3') }).strict().default({ minVersion: '1.3' }),
  limits: limits.default({}),
  agentCertDays: z.number().int().min(1).max(3650).default(90),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
}).loose();

export type CollectorServerConfig = z.output<typeof collectorServerConfigSchema>;

export function loadCollectorServerConfig(file: string | undefined): CollectorServerConfig {
  return loadConfigFile(collectorServerConfigSchema, file);
}

export function splitHostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  const host = s.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(s.slice(i + 1)) };
}

export function resolvedDirs(c: CollectorServerConfig): { stateDir: string; pkiDir: string; dumpDir: string } {
  return { stateDir: c.stateDir, pkiDir: c.pkiDir ?? join(c.stateDir, 'pki'), dumpDir: c.dumpDir ?? join(c.stateDir, 'dumps') };
}

export function effectiveLimits(c: CollectorServerConfig): CollectorLimits {
  return { ...DEFAULT_LIMITS, ...c.limits } as CollectorLimits;
}
