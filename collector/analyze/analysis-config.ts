// The analysis part of the collector's configuration file (other subsystems own other
// top-level keys of the same file, so unknown keys are left alone):
//   "analyzers": [ { "builtin": "scan", "config": {...} },
//                  { "module": "./my-analyzer.js", "config": {...} } ]   (default: every built-in)
//   "analysis":  { "tickIntervalSec": 60, "budget": {...}, "internalPrefixes": [...],
//                  "hostAddresses": { "<agent id>": ["<address as stored>"] } }
//   "alerts":    outputs and notification policy (collector/alerts/alerts-config.ts)
import { z } from 'zod';
import { alertsConfigSchema } from '../alerts/alerts-config.js';
import { BUILTIN_NAMES } from './builtin-analyzers.js';

const common = {
  /** instance name (default: the analyzer's own) */
  name: z.string().min(1).optional(),
  config: z.unknown().optional(),
  enabled: z.boolean().default(true),
};

export const analyzerEntrySchema = z.union([
  z.object({ builtin: z.enum(BUILTIN_NAMES as [string, ...string[]]), ...common }).strict(),
  z.object({
    /** path of an ES module (absolute, or relative to the config file's folder), or "builtin:<name>" */
    module: z.string().min(1),
    ...common,
  }).strict(),
]);

export type AnalyzerEntry = z.output<typeof analyzerEntrySchema>;

export const analysisSettingsSchema = z.object({
  tickIntervalSec: z.number().positive().max(86_400).default(60),
  budget: z.object({
    flowMs: z.number().positive(),
    dnsMs: z.number().positive(),
    tickMs: z.number().positive(),
    setupMs: z.number().positive(),
    maxFailures: z.number().int().min(1),
    maxAlertsPerTick: z.number().int().min(1),
  }).partial().strict().default({}),
  /** what counts as internal for clear addresses (pseudonyms always do) */
  internalPrefixes: z.array(z.string()).optional(),
  /** each agent's own addresses as stored; otherwise learned from the traffic */
  hostAddresses: z.record(z.string(), z.array(z.string())).default({}),
}).strict();

export const analysisConfigSchema = z.object({
  analyzers: z.array(analyzerEntrySchema).optional(),
  analysis: analysisSettingsSchema.default({ tickIntervalSec: 60, budget: {}, hostAddresses: {} }),
  alerts: alertsConfigSchema.optional(),
}).loose();

export type AnalysisConfig = z.output<typeof analysisConfigSchema>;
export type AnalysisConfigInput = z.input<typeof analysisConfigSchema>;

/** Every built-in with its defaults: what runs when the config names no analyzers. */
export function defaultAnalyzerEntries(): AnalyzerEntry[] {
  return BUILTIN_NAMES.map((b) => ({ builtin: b, enabled: true }));
}
