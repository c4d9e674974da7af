// The collector's configuration file as a whole, and the convention every `meerkat-collector`
// command follows to find it and the state directory (docs/configuration.md):
//   file:       --config FILE, else $MEERKAT_COLLECTOR_CONFIG, else /etc/meerkat-collector/collector.json
//               (when it exists; without a file every key has its default)
//   state dir:  --state-dir DIR, else $MEERKAT_STATE_DIR, else "stateDir" of the file, else
//               /var/lib/meerkat-collector; the PKI, the database and the tokens live under it.
// Each top-level key belongs to one subsystem, which validates its own section; this module
// knows the names, so a key nobody owns ("listne", "analyzer") is an error naming it, and the
// keys that were renamed ("admin", "control") are errors naming their new names.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, validateConfig } from '../shared/config/load-config.js';
import { didYouMean } from '../shared/config/did-you-mean.js';
import { collectorServerConfigSchema, type CollectorServerConfig } from './server/server-config.js';

export { COLLECTOR_STATE_DIR } from './server/server-config.js';
/** Where the package puts the configuration (installer/linux/collector/); the state dir's default is COLLECTOR_STATE_DIR. */
export const COLLECTOR_CONFIG_FILE = '/etc/meerkat-collector/collector.json';
export const CONFIG_ENV = 'MEERKAT_COLLECTOR_CONFIG';
export const STATE_DIR_ENV = 'MEERKAT_STATE_DIR';

/** Every top-level key of the collector's file and the part of the collector that reads it. */
export const COLLECTOR_CONFIG_KEYS: Readonly<Record<string, string>> = {
  stateDir: 'state directory (PKI, database, dumps, tokens)',
  pkiDir: 'PKI directory',
  dumpDir: 'raw dump directory',
  listen: 'agents\' port',
  api: 'operators\' API port',
  apiNames: 'extra names of the API certificate',
  console: 'the web console on the API port (true, the default, or false)',
  ops: 'health and metrics port',
  tls: 'TLS settings of the agents\' port',
  limits: 'per-agent and global limits',
  agentCertDays: 'agent certificate lifetime',
  logLevel: 'log level',
  store: 'flow store and retention',
  analyzers: 'analyzers',
  analysis: 'analysis settings',
  alerts: 'alert outputs and notification',
  responses: 'automatic responses',
  responseKeyDir: 'response signing key directory',
  payloadRetention: 'packet payload retention',
  quotas: 'per-organisation quota defaults (dumps/s, bytes stored, agents)',
  scaleOut: 'NATS and PostgreSQL of the front-end and worker roles (docs/scale-out.md)',
};

/** Keys that were renamed: the old name is refused with the new one. */
export const RENAMED_CONFIG_KEYS: Readonly<Record<string, string>> = {
  admin: '"ops" (the /healthz and /metrics port, "host:port" or "off")',
  control: '"api" (the operators\' API port, "host:port" or "off") and "apiNames" (extra names of its certificate)',
};

/** Refuses keys no part of the collector reads, and renamed ones, naming each. */
export function checkTopLevelKeys(raw: unknown, source: string): void {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${source}: the configuration must be a JSON object`);
  const problems: string[] = [];
  const known = Object.keys(COLLECTOR_CONFIG_KEYS);
  for (const key of Object.keys(raw)) {
    if (key in COLLECTOR_CONFIG_KEYS) continue;
    if (key in RENAMED_CONFIG_KEYS) problems.push(`  ${key}: renamed; use ${RENAMED_CONFIG_KEYS[key]} (docs/configuration.md, "Renamed keys")`);
    else problems.push(`  ${key}: unknown key${didYouMean(key, known)}; known keys: ${known.join(', ')}`);
  }
  if (problems.length > 0) throw new ConfigError(`${source}: invalid configuration\n${problems.join('\n')}`);
}

/**
 * The configuration file the commands use: the flag, the environment, or the default path when
 * it exists; null when there is none (defaults apply). A file named by flag or environment must
 * exist.
 */
export function collectorConfigFile(flag?: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (flag) return flag;
  if (env[CONFIG_ENV]) return env[CONFIG_ENV];
  return existsSync(COLLECTOR_CONFIG_FILE) ? COLLECTOR_CONFIG_FILE : null;
}

/** Where `init` writes the configuration (it need not exist yet). */
export function collectorConfigTarget(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return flag || env[CONFIG_ENV] || COLLECTOR_CONFIG_FILE;
}

/** The file's JSON, checked for unknown and renamed keys ({} without a file). */
export function readCollectorConfigJson(file: string | null): Record<string, unknown> {
  if (file === null) return {};
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new ConfigError(`${file}: cannot read the collector configuration (${code})${code === 'ENOENT' ? '; create it with `meerkat-collector init`' : ''}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  checkTopLevelKeys(json, file);
  return json as Record<string, unknown>;
}

export interface CollectorHostFlags {
  config?: string;
  stateDir?: string;
}

export interface CollectorHost {
  /** the configuration file read, null when none */
  file: string | null;
  config: CollectorServerConfig;
  stateDir: string;
  pkiDir: string;
  dumpDir: string;
}

/**
 * The configuration and directories of this host's collector, as every `meerkat-collector`
 * command finds them; `overrides` are flag values over the file's keys (run's --listen, ...).
 */
export function collectorHost(flags: CollectorHostFlags, overrides: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = process.env): CollectorHost {
  const file = collectorConfigFile(flags.config, env);
  const raw = { ...readCollectorConfigJson(file), ...overrides };
  const stateDir = flags.stateDir ?? env[STATE_DIR_ENV];
  if (stateDir) raw.stateDir = stateDir;
  const source = file ? (Object.keys(overrides).length ? `${file} + flags` : file) : Object.keys(overrides).length ? 'flags' : 'defaults';
  const config = validateConfig(collectorServerConfigSchema, raw, source);
  return {
    file,
    config,
    stateDir: config.stateDir,
    pkiDir: config.pkiDir ?? join(config.stateDir, 'pki'),
    dumpDir: config.dumpDir ?? join(config.stateDir, 'dumps'),
  };
}
