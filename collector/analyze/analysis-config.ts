// The analysis part of the collector's configuration file (other subsystems own other
// top-level keys of the same file; collector-config.ts refuses keys nobody owns):
//   "analyzers": [ { "builtin": "threat-intel", "config": { "feeds": [...] } },   configures a built-in
//                  { "builtin": "scan", "enabled": false },                       turns one off
//                  { "builtin": "scan", "name": "scan-lan", "config": {...} },    a second instance
//                  { "module": "./my-analyzer.js", "config": {...} } ]            adds a user analyzer
//   "analysis":  { "defaultAnalyzers": true, "tickIntervalSec": 60, "budget": {...},
//                  "internalPrefixes": [...], "hostAddresses": { "<agent id>": ["<address as stored>"] } }
//   "alerts":    outputs and notification policy (collector/alerts/alerts-config.ts)
// Every built-in runs by default; "analyzers" entries change that set, they do not replace it
// ("defaultAnalyzers": false starts from none). analyzerPlan() resolves the list that runs.
import { z } from 'zod';
import { ConfigError, formatZodIssues } from '../../shared/config/load-config.js';
import { didYouMean } from '../../shared/config/did-you-mean.js';
import { alertsConfigSchema } from '../alerts/alerts-config.js';
import { BUILTIN_NAMES, createBuiltin, isBuiltinName, type BuiltinAnalyzerName } from './builtin-analyzers.js';
import { AnalyzerConfigError, checkAnalyzerConfig } from './analyzer-config-check.js';

const common = {
  /** instance name (default: the analyzer's own) */
  name: z.string().min(1).optional(),
  config: z.unknown().optional(),
  enabled: z.boolean().default(true),
};

export const analyzerEntrySchema = z.union([
  /** the name is checked by analyzerPlan, which lists the valid ones */
  z.object({ builtin: z.string().min(1), ...common }).strict(),
  z.object({
    /** path of an ES module (absolute, or relative to the config file's folder), or "builtin:<name>" */
    module: z.string().min(1),
    ...common,
  }).strict(),
]);

export type AnalyzerEntry = z.output<typeof analyzerEntrySchema>;

const analysisBudgetSchema = z.object({
  flowMs: z.number().positive(),
  dnsMs: z.number().positive(),
  tickMs: z.number().positive(),
  setupMs: z.number().positive(),
  maxFailures: z.number().int().min(1),
  maxAlertsPerTick: z.number().int().min(1),
  stallMs: z.number().positive(),
  maxStalls: z.number().int().min(1),
}).partial().strict();

export const analysisSettingsSchema = z.object({
  /** every built-in runs unless an "analyzers" entry turns it off; false: only the listed ones */
  defaultAnalyzers: z.boolean().default(true),
  tickIntervalSec: z.number().positive().max(86_400).default(60),
  budget: analysisBudgetSchema.default({}),
  /** what counts as internal for clear addresses (pseudonyms always do) */
  internalPrefixes: z.array(z.string()).optional(),
  /** each agent's own addresses as stored; otherwise learned from the traffic */
  hostAddresses: z.record(z.string(), z.array(z.string())).default({}),
}).strict();

export const analysisConfigSchema = z.object({
  analyzers: z.array(analyzerEntrySchema).optional(),
  analysis: analysisSettingsSchema.default({ defaultAnalyzers: true, tickIntervalSec: 60, budget: {}, hostAddresses: {} }),
  alerts: alertsConfigSchema.optional(),
}).loose();

export type AnalysisConfig = z.output<typeof analysisConfigSchema>;
export type AnalysisConfigInput = z.input<typeof analysisConfigSchema>;

/** One analyzer of the resolved list (enabled built-ins' configs validated against their schema, defaults filled in). */
export type PlannedAnalyzer =
  | { kind: 'builtin'; builtin: BuiltinAnalyzerName; name: string; config: unknown; enabled: boolean; configured: boolean }
  | { kind: 'module'; module: string; name?: string; config: unknown; enabled: boolean; configured: true };

/** Validates the analysis config (ConfigError naming the key on a problem). */
export function parseAnalysisConfig(config: AnalysisConfigInput | undefined, source = 'analysis config'): AnalysisConfig {
  const r = analysisConfigSchema.safeParse(config ?? {});
  if (!r.success) throw new ConfigError(formatZodIssues(source, r.error.issues, analysisConfigSchema));
  return r.data;
}

/**
 * The analyzers that a config asks for, in order: every built-in (unless defaultAnalyzers is
 * false) with the entries applied on top, then added instances and user modules. Throws a
 * ConfigError naming the entry for an unknown built-in (listing the valid ones), a built-in
 * configured twice, or a built-in config its schema refuses.
 */
export function analyzerPlan(config: AnalysisConfig, source = 'analysis config'): PlannedAnalyzer[] {
  const plan: PlannedAnalyzer[] = config.analysis.defaultAnalyzers
    ? BUILTIN_NAMES.map((b) => ({ kind: 'builtin', builtin: b, name: b, config: {}, enabled: true, configured: false }))
    : [];
  const problems: string[] = [];
  const names = new Set<string>();
  (config.analyzers ?? []).forEach((e, i) => {
    const at = `${source}: analyzers.${i}`;
    const builtin = 'builtin' in e ? e.builtin : e.module.startsWith('builtin:') ? e.module.slice('builtin:'.length) : null;
    if (builtin === null) {
      const m = e as { module: string };
      plan.push({ kind: 'module', module: m.module, ...(e.name !== undefined ? { name: e.name } : {}), config: e.config ?? {}, enabled: e.enabled, configured: true });
      return;
    }
    if (!isBuiltinName(builtin)) {
      problems.push(`${at}: no built-in analyzer "${builtin}"${didYouMean(builtin, BUILTIN_NAMES)}; the built-ins are ${BUILTIN_NAMES.join(', ')} (a user analyzer is {"module": "<path>"})`);
      return;
    }
    const name = e.name ?? builtin;
    if (names.has(name)) {
      problems.push(`${at}: "${name}" is configured twice; give another instance its own "name"`);
      return;
    }
    names.add(name);
    const entry: PlannedAnalyzer = { kind: 'builtin', builtin, name, config: e.config ?? {}, enabled: e.enabled, configured: true };
    const i0 = plan.findIndex((p) => p.kind === 'builtin' && !p.configured && p.name === name);
    if (i0 >= 0) plan[i0] = entry;
    else plan.push(entry);
  });
  for (const p of plan) {
    if (p.kind !== 'builtin' || !p.enabled) continue;
    try {
      p.config = checkAnalyzerConfig(createBuiltin(p.builtin).configSchema, p.config, `${source}: analyzer "${p.name}" config`);
    } catch (e) {
      if (!(e instanceof AnalyzerConfigError)) throw e;
      problems.push(e.message);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems.join('\n'));
  return plan;
}

/** What runs, for the start-up log: each enabled analyzer with its feeds (threat-intel) or model (machine-signature, dga). */
export function describePlan(plan: readonly PlannedAnalyzer[]): { running: Array<Record<string, unknown>>; disabled: string[]; warnings: string[] } {
  const running: Array<Record<string, unknown>> = [];
  const disabled: string[] = [];
  const warnings: string[] = [];
  for (const p of plan) {
    const label = p.kind === 'builtin' ? p.name : p.name ?? p.module;
    if (!p.enabled) {
      disabled.push(label);
      continue;
    }
    if (p.kind === 'module') {
      running.push({ name: label, module: p.module });
      continue;
    }
    const c = (p.config ?? {}) as { feeds?: Array<{ name?: string; path: string }>; model?: string };
    if (p.builtin === 'threat-intel') {
      const feeds = (c.feeds ?? []).map((f) => f.name ?? f.path);
      running.push({ name: label, builtin: p.builtin, feeds });
      if (feeds.length === 0) warnings.push(`analyzer ${label}: no feed configured, it raises nothing (list IP or domain feeds in its config.feeds; docs/analyzers.md)`);
    } else if (p.builtin === 'machine-signature') {
      running.push({ name: label, builtin: p.builtin, model: c.model ?? null });
    } else if (p.builtin === 'dga') {
      running.push({ name: label, builtin: p.builtin, model: c.model ?? 'shipped' });
    } else {
      running.push({ name: label, builtin: p.builtin });
    }
  }
  return { running, disabled, warnings };
}
