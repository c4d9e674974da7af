// Reads a JSON config file and validates it against a zod schema (classic or mini: both are
// core schemas); every problem is reported with the file, the key path and what was expected.
import { readFileSync } from 'node:fs';
import { safeParse } from 'zod/mini';
import type { $ZodType, output } from 'zod/v4/core';
import { InputError } from '../errors.js';

export class ConfigError extends InputError {
  readonly code = 'MEERKAT_ERR_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function formatZodIssues(source: string, issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): string {
  const lines = issues.map((i) => `  ${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`);
  return `${source}: invalid configuration\n${lines.join('\n')}`;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v)}`;
  return `${typeof v === 'object' ? 'an' : 'a'} ${typeof v} ${typeof v === 'object' ? '' : JSON.stringify(v)}`.trimEnd();
}

/**
 * The object under `key` of a parsed config ({} when absent) for a subsystem that validates its
 * own section. A value that is not an object (say the string "127.0.0.1:9470" where
 * {"listen": "127.0.0.1:9470"} belongs) is a ConfigError naming the key, what was expected and
 * what came - spreading it instead would turn a string into keys "0", "1", ...
 */
export function configSection(cfg: unknown, key: string, example: string): Record<string, unknown> {
  const v = (cfg as Record<string, unknown> | null | undefined)?.[key];
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ConfigError(`config key "${key}" must be an object such as ${example}, got ${describeValue(v)}`);
  }
  return { ...(v as Record<string, unknown>) };
}

export function validateConfig<S extends $ZodType>(schema: S, value: unknown, source: string): output<S> {
  const r = safeParse(schema, value);
  if (!r.success) throw new ConfigError(formatZodIssues(source, r.error.issues));
  return r.data;
}

export function loadConfigFile<S extends $ZodType>(schema: S, file: string | undefined): output<S> {
  if (!file) return validateConfig(schema, {}, 'defaults');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${file}: cannot read config file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return validateConfig(schema, json, file);
}
