// The operator's settings for `meerkat` (the console): one JSON file, ~/.meerkat/config.json
// ($MEERKAT_CONFIG names another), with the collector's API address, the operator directory
// (certificate and signing key), the owner key directory and the organisation the commands work
// in by default. `meerkat-collector init` writes it
// for the operator it creates; the console reads it (console/settings.ts puts flags and
// environment over it). A contract of two programs, so it lives here; docs/configuration.md.
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import * as z from 'zod/mini';
import './schema-messages.js';
import { ConfigError, validateConfig } from './load-config.js';
import { ORG_ID_RE } from '../orgs/org-id.js';

export const CONSOLE_CONFIG_ENV = 'MEERKAT_CONFIG';

export const consoleConfigSchema = z.strictObject({
  /** the collector's operators' API, https://host:port (its `api` port) */
  api: z.optional(z.string().check(z.minLength(1))),
  /** operator directory: operator.crt, operator.key, ca.crt, op.key, op.pub */
  operatorDir: z.optional(z.string().check(z.minLength(1))),
  /** the network owner's key directory: anon.key, box.key, box.pub */
  ownerKeys: z.optional(z.string().check(z.minLength(1))),
  /** the organisation the org-scoped commands work in without --org (default: default) */
  org: z.optional(z.string().check(z.regex(ORG_ID_RE, 'expected an organisation id: 1-32 characters a-z, 0-9 and inner -, starting with a letter'))),
});

export type ConsoleConfig = z.output<typeof consoleConfigSchema>;

/** ~/.meerkat: where the console's files live by default. */
export function meerkatHome(): string {
  return join(homedir(), '.meerkat');
}

/** The settings file: $MEERKAT_CONFIG, else ~/.meerkat/config.json. */
export function consoleConfigFile(env: NodeJS.ProcessEnv = process.env): string {
  return env[CONSOLE_CONFIG_ENV] || join(meerkatHome(), 'config.json');
}

/** The settings ({} when the file does not exist; a file named by $MEERKAT_CONFIG must exist). */
export function readConsoleConfig(env: NodeJS.ProcessEnv = process.env): { file: string; exists: boolean; config: ConsoleConfig } {
  const file = consoleConfigFile(env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !env[CONSOLE_CONFIG_ENV]) return { file, exists: false, config: {} };
    throw new ConfigError(`${file}: cannot read the console settings (${code ?? String(e)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return { file, exists: true, config: validateConfig(consoleConfigSchema, json, file) };
}

/** The file's text for `values` (keys in a fixed order, one per line). */
export function consoleConfigText(values: ConsoleConfig): string {
  const ordered: ConsoleConfig = {};
  if (values.api !== undefined) ordered.api = values.api;
  if (values.operatorDir !== undefined) ordered.operatorDir = values.operatorDir;
  if (values.ownerKeys !== undefined) ordered.ownerKeys = values.ownerKeys;
  if (values.org !== undefined) ordered.org = values.org;
  return JSON.stringify(ordered, null, 2) + '\n';
}

/** Creates the settings file's folder (0700: it sits beside the operator's keys). */
export function prepareConsoleConfigDir(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
}
