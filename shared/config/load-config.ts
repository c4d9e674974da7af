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
