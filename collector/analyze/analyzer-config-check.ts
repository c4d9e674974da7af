// Validation of an analyzer's config against the schema it declares (Analyzer.configSchema),
// in one place: the host runs it before setup, the config loader runs it for built-ins so a
// mistake is a config error at start. Problems name the key path, as every config error does.
import { formatZodIssues } from '../../shared/config/load-config.js';
import type { ConfigSchema } from './analyzer.js';
import { InputError } from '../../shared/errors.js';

export class AnalyzerConfigError extends InputError {
  readonly code = 'MEERKAT_ERR_ANALYZER_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'AnalyzerConfigError';
  }
}

/**
 * The validated config (defaults filled in), or an AnalyzerConfigError naming `source` and each
 * problem's key path. Without a schema the config is returned as given. Schemas must be synchronous.
 */
export function checkAnalyzerConfig(schema: ConfigSchema | undefined, config: unknown, source: string): unknown {
  if (schema === undefined) return config;
  const r = schema['~standard'].validate(config ?? {});
  if (r instanceof Promise) {
    r.then(undefined, () => undefined);
    throw new AnalyzerConfigError(`${source}: the analyzer's config schema is asynchronous; only synchronous schemas are supported`);
  }
  if (r.issues !== undefined) {
    const issues = r.issues.map((i) => ({ message: i.message, path: (i.path ?? []).map((p) => (typeof p === 'object' && p !== null ? p.key : p)) }));
    throw new AnalyzerConfigError(formatZodIssues(source, issues));
  }
  return r.value;
}
