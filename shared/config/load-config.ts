// Reads a JSON config file and validates it against a zod schema (classic or mini: both are
// core schemas); every problem is reported with the file, the key path and what was expected.
import { readFileSync } from 'node:fs';
import { safeParse } from 'zod/mini';
import type { $ZodType, output } from 'zod/v4/core';
import { InputError } from '../errors.js';
import { didYouMean } from './did-you-mean.js';

export class ConfigError extends InputError {
  readonly code = 'MEERKAT_ERR_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

interface ZodIssueLike {
  path: ReadonlyArray<PropertyKey>;
  message: string;
  code?: string;
  keys?: readonly string[];
}

/** The zod definition under a schema (classic and mini share it). */
interface DefLike {
  type?: string;
  shape?: Record<string, SchemaLike>;
  innerType?: SchemaLike;
  in?: SchemaLike;
  element?: SchemaLike;
  valueType?: SchemaLike;
  options?: SchemaLike[];
}
interface SchemaLike { _zod?: { def?: DefLike } }

/** The schemas `path` can lead to under `schema` (several through a union). */
function schemasAt(schema: SchemaLike, path: ReadonlyArray<PropertyKey>): SchemaLike[] {
  let cur: SchemaLike[] = [schema];
  const unwrap = (s: SchemaLike): SchemaLike[] => {
    const d = s._zod?.def;
    if (!d) return [];
    if (d.innerType && d.type !== 'object') return unwrap(d.innerType);
    if (d.type === 'pipe' && d.in) return unwrap(d.in);
    if (d.type === 'union' && d.options) return d.options.flatMap(unwrap);
    return [s];
  };
  for (const step of path) {
    const next: SchemaLike[] = [];
    for (const s of cur.flatMap(unwrap)) {
      const d = s._zod!.def!;
      if (d.type === 'object' && typeof step === 'string' && d.shape?.[step]) next.push(d.shape[step]);
      else if (d.type === 'array' && typeof step === 'number' && d.element) next.push(d.element);
      else if (d.type === 'record' && d.valueType) next.push(d.valueType);
    }
    cur = next;
  }
  return cur.flatMap(unwrap);
}

/** The keys an object schema at `path` knows (empty when it cannot tell). */
export function knownKeysAt(schema: unknown, path: ReadonlyArray<PropertyKey>): string[] {
  const keys = new Set<string>();
  for (const s of schemasAt(schema as SchemaLike, path)) {
    const d = s._zod?.def;
    if (d?.type === 'object' && d.shape) for (const k of Object.keys(d.shape)) keys.add(k);
  }
  return [...keys];
}

/**
 * One line per problem, naming the key path. An unknown key is named with the closest known
 * key ("did you mean") and the keys allowed there, when `schema` is given.
 */
export function formatZodIssues(source: string, issues: ReadonlyArray<ZodIssueLike>, schema?: unknown): string {
  const at = (path: ReadonlyArray<PropertyKey>): string => (path.length ? path.map(String).join('.') : '(root)');
  const lines = issues.flatMap((i) => {
    if (i.code === 'unrecognized_keys' && i.keys) {
      const known = schema === undefined ? [] : knownKeysAt(schema, i.path);
      return i.keys.map((k) => `  ${at([...i.path, k])}: unknown key${didYouMean(k, known)}${known.length ? `; known keys here: ${known.join(', ')}` : ''}`);
    }
    return [`  ${at(i.path)}: ${i.message}`];
  });
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
  if (!r.success) throw new ConfigError(formatZodIssues(source, r.error.issues as ReadonlyArray<ZodIssueLike>, schema));
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
