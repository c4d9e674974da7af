// The analyzer plan (analysis-config.ts) -> analyzers in a host. Built-ins come from the registry; user
// analyzers are ES modules loaded with dynamic import(), whose export is an Analyzer
// object or a factory (config) => Analyzer (default export, or `createAnalyzer`, or
// `analyzer`). A module that cannot be loaded is reported and skipped; the rest load.
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Analyzer } from './analyzer.js';
import type { AnalyzerHost } from './analyzer-host.js';
import type { PlannedAnalyzer } from './analysis-config.js';
import { createBuiltin } from './builtin-analyzers.js';
import { MeerkatError } from '../../shared/errors.js';

export class AnalyzerLoadError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_ANALYZER_LOAD';
  constructor(module: string, expected: string) {
    super(`analyzer module ${module}: ${expected}`);
    this.name = 'AnalyzerLoadError';
  }
}

function isAnalyzer(x: unknown): x is Analyzer {
  if (typeof x !== 'object' || x === null) return false;
  const a = x as Record<string, unknown>;
  return typeof a.name === 'string' && a.name.length > 0 &&
    ['onFlow', 'onDnsName', 'onTick'].some((h) => typeof a[h] === 'function');
}

/** Imports a user module and returns its analyzer (calling a factory with the config). */
export async function importAnalyzer(modulePath: string, baseDir: string, config: unknown): Promise<Analyzer> {
  const path = isAbsolute(modulePath) ? modulePath : resolve(baseDir, modulePath);
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(path).href) as Record<string, unknown>;
  } catch (e) {
    throw new AnalyzerLoadError(path, `cannot be imported (${e instanceof Error ? e.message : String(e)})`);
  }
  const exported = mod.default ?? mod.createAnalyzer ?? mod.analyzer;
  let value: unknown = exported;
  if (typeof exported === 'function') {
    try {
      value = await (exported as (c: unknown) => unknown)(config);
    } catch (e) {
      throw new AnalyzerLoadError(path, `factory threw (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  if (!isAnalyzer(value)) {
    throw new AnalyzerLoadError(path, 'expected a default export (or createAnalyzer/analyzer) that is an analyzer ' +
      '{ name, onFlow/onDnsName/onTick } or a function returning one');
  }
  return value;
}

export interface LoadResult {
  loaded: string[];
  /** entries that could not be loaded or set up */
  failed: Array<{ name: string; error: string }>;
}

/** Creates, sets up and adds every enabled analyzer of the plan to the host, in order. */
export async function loadAnalyzers(host: AnalyzerHost, plan: readonly PlannedAnalyzer[]): Promise<LoadResult> {
  const result: LoadResult = { loaded: [], failed: [] };
  for (const e of plan) {
    if (!e.enabled) continue;
    let analyzer: Analyzer;
    const label = e.kind === 'builtin' ? e.name : e.name ?? e.module;
    try {
      analyzer = e.kind === 'builtin' ? createBuiltin(e.builtin) : await importAnalyzer(e.module, host.baseDir, e.config);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      host.reportLoadFailure(label, msg);
      result.failed.push({ name: label, error: msg });
      continue;
    }
    const ok = await host.add(analyzer, e.config, e.name);
    const status = host.status().at(-1)!;
    if (ok) result.loaded.push(status.name);
    else result.failed.push({ name: status.name, error: status.disabledReason ?? 'setup failed' });
  }
  return result;
}
