// An organisation's settings: <stateDir>/orgs/<org>/org.json, over the collector config's
// defaults. Keys (unknown ones are refused): "analyzers", "analysis", "alerts", "responses",
// "store" ({flowsDays, rawDumpsDays}), "payloadRetention", "quotas". A key the organisation
// sets replaces the collector's (quotas and store: field by field); a key it leaves out is
// inherited - except the collector's alert OUTPUTS, which only the default organisation
// inherits: an output is a sink (a file, a syslog server, a webhook), and one shared by two
// organisations would carry one owner's alerts to the other's. Each key is checked by the same
// parser the collector uses for it, so a bad org.json fails `org show` and the organisation's
// start with the file and field named.
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { ConfigError, formatZodIssues, validateConfig } from '../../shared/config/load-config.js';
import { DEFAULT_ORG } from '../../shared/orgs/org-id.js';
import { writeFileAtomic } from '../../certs/pem-files.js';
import { analyzerPlan, parseAnalysisConfig, type AnalysisConfigInput } from '../analyze/analysis-config.js';
import { parseResponsesConfig } from '../respond/response-config.js';
import { payloadRetentionConfigFrom } from '../payload/payload-retention.js';
import type { CollectorServerConfig } from '../server/server-config.js';
import { mergeQuotas, quotasSchema, type Quotas } from './org-quotas.js';

export const orgConfigSchema = z.object({
  analyzers: z.array(z.unknown()).optional(),
  analysis: z.record(z.string(), z.unknown()).optional(),
  alerts: z.record(z.string(), z.unknown()).optional(),
  responses: z.array(z.unknown()).optional(),
  store: z.object({ flowsDays: z.number().positive(), rawDumpsDays: z.number().positive() }).partial().strict().optional(),
  payloadRetention: z.record(z.string(), z.unknown()).optional(),
  quotas: quotasSchema.optional(),
}).strict();

export type OrgConfig = z.output<typeof orgConfigSchema>;

/** Validates an organisation config (each section with its own parser). @throws ConfigError */
export function parseOrgConfig(raw: unknown, source: string): OrgConfig {
  const r = orgConfigSchema.safeParse(raw ?? {});
  if (!r.success) throw new ConfigError(formatZodIssues(source, r.error.issues));
  const c = r.data;
  const analysis = parseAnalysisConfig({ analyzers: c.analyzers, analysis: c.analysis, alerts: c.alerts } as AnalysisConfigInput, source);
  analyzerPlan(analysis, source);
  if (c.responses !== undefined) parseResponsesConfig(c.responses, `${source}: key "responses"`);
  if (c.payloadRetention !== undefined) payloadRetentionConfigFrom({ payloadRetention: c.payloadRetention });
  return c;
}

/** The organisation's org.json ({} when it has none). @throws ConfigError */
export function loadOrgConfig(file: string): OrgConfig {
  if (!existsSync(file)) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`${file}: not JSON (${(e as Error).message})`);
  }
  return parseOrgConfig(raw, file);
}

export function saveOrgConfig(file: string, c: OrgConfig): void {
  writeFileAtomic(file, JSON.stringify(c, null, 2) + '\n', 0o640);
}

export interface EffectiveOrgConfig {
  /** the collector config with the organisation's sections over it (what the runtime's builders read) */
  config: CollectorServerConfig;
  quotas: Quotas;
  /** folder relative analyzer paths resolve against: the org folder when it configures analyzers */
  analyzerBaseDir: string | undefined;
}

/** The collector config as one organisation sees it. */
export function effectiveOrgConfig(cfg: CollectorServerConfig, org: string, own: OrgConfig, orgConfigFile: string): EffectiveOrgConfig {
  const base = cfg as Record<string, unknown>;
  const out: Record<string, unknown> = { ...base };
  for (const key of ['analyzers', 'analysis', 'alerts', 'responses', 'payloadRetention'] as const) {
    if (own[key] !== undefined) out[key] = own[key];
  }
  if (org !== DEFAULT_ORG && own.alerts === undefined && base.alerts && typeof base.alerts === 'object') {
    out.alerts = { ...(base.alerts as Record<string, unknown>), outputs: [] };
  }
  const baseStore = (base.store && typeof base.store === 'object' ? base.store : {}) as Record<string, unknown>;
  // store.path is the pre-organisation database location: the default organisation's only
  const { path: legacyPath, ...storeDefaults } = baseStore;
  out.store = { ...storeDefaults, ...(org === DEFAULT_ORG && legacyPath !== undefined ? { path: legacyPath } : {}), ...(own.store ?? {}) };
  const defaults = base.quotas === undefined ? undefined : validateConfig(quotasSchema, base.quotas, 'config key "quotas"');
  return {
    config: out as CollectorServerConfig,
    quotas: mergeQuotas(defaults, own.quotas),
    analyzerBaseDir: own.analyzers !== undefined ? dirname(orgConfigFile) : undefined,
  };
}
