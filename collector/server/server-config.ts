// The transport part of the collector's configuration file: the three ports (listen: agents,
// api: operators, ops: health and metrics), PKI and state directories, TLS version floor and
// per-agent limits. Other subsystems own other top-level keys of the same file, so they pass
// through here; collector-config.ts refuses keys nobody owns.
import { z } from 'zod';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { DEFAULT_LIMITS, type CollectorLimits } from './collector-limits.js';
import { DEFAULT_MAX_PACKETS } from '../../shared/dump/dump-reader.js';
import { PORT_DEFAULTS } from '../../shared/protocol/port-names.js';

/** Where the collector keeps its state by default (database, dumps, PKI, enrollment tokens). */
export const COLLECTOR_STATE_DIR = '/var/lib/meerkat-collector';
/** the agents' port: enrollment and the WebSocket of dumps, heartbeats and commands */
export const DEFAULT_LISTEN = PORT_DEFAULTS.listen;
/** the operators' API: HTTPS with operator certificates */
export const DEFAULT_API = PORT_DEFAULTS.api;
/** health and metrics: plain HTTP, loopback */
export const DEFAULT_OPS = PORT_DEFAULTS.ops;

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
  /** operators' API; "off" disables it */
  api: z.union([hostPort, z.literal('off')], { error: `expected "host:port" (e.g. "${DEFAULT_API}") or "off"` }).default(DEFAULT_API),
  /** extra DNS names and IP addresses of the API's certificate (localhost, 127.0.0.1 and ::1 always) */
  apiNames: z.array(z.string().min(1)).default([]),
  /** the web console on the API port (pages, password logins, docs/console.md); false: operator certificates only */
  console: z.boolean({ error: 'expected true or false' }).default(true),
  /** /healthz and /metrics; "off" disables the port */
  ops: z.union([hostPort, z.literal('off')], { error: `expected "host:port" (e.g. "${DEFAULT_OPS}") or "off"` }).default(DEFAULT_OPS),
  tls: z.object({ minVersion: z.enum(['1.3', '1.2']).default('1.3') }).strict().default({ minVersion: '1.3' }),
  limits: limits.default({}),
  agentCertDays: z.number().int().min(1).max(3650).default(90),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
}).loose();

export type CollectorServerConfig = z.output<typeof collectorServerConfigSchema>;

/** "apiNames" split into DNS names and IP addresses (for the API certificate). */
export function apiCertNames(c: CollectorServerConfig): { names: string[]; ips: string[] } {
  return { names: c.apiNames.filter((n) => isIP(n) === 0), ips: c.apiNames.filter((n) => isIP(n) !== 0) };
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

/** What every role that runs the agents' port takes from the configuration (`run`, a front-end). */
export function agentPortOptions(c: CollectorServerConfig) {
  return {
    ...resolvedDirs(c),
    listen: splitHostPort(c.listen),
    ops: c.ops === 'off' ? (false as const) : splitHostPort(c.ops),
    tlsMinVersion: c.tls.minVersion === '1.2' ? ('TLSv1.2' as const) : ('TLSv1.3' as const),
    limits: effectiveLimits(c),
    agentCertDays: c.agentCertDays,
  };
}
