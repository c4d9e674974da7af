// Built-in analyzer "dga": hosts looking up names a domain generation algorithm made. Every
// DNS question of the agents' metadata (onDns) is scored by the DGA classifier (dga-model.ts;
// the shipped model or config.model); a host that asks for minNames different DGA-like
// registrable domains within windowSec of packet time raises an alert (category "dga"), and
// every further one in the window adds to it. Most of such names do not exist: an alert where
// most answers were NXDOMAIN is of higher severity. Pseudonymized names are never scored
// (they are keyed tokens, and internal), nor names without a public registrable label.
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import type { Analyzer, AnalyzerContext } from '../analyzer.js';
import type { DnsRecord } from '../../../shared/flow/app-records.js';
import type { Severity } from '../../../shared/alerts/alert-record.js';
import { DgaModel } from './dga-model.js';

export const dgaConfigSchema = z.object({
  /** a model file from `meerkat-collector model train dga` (default: the shipped one) */
  model: z.string().min(1).optional(),
  /** different DGA-like domains one host must look up within the window (default 3) */
  minNames: z.number().int().min(1).default(3),
  windowSec: z.number().positive().default(600),
  severity: z.enum(['low', 'medium', 'high', 'critical']).default('medium'),
  /** severity when most of the names got NXDOMAIN (default high) */
  nxdomainSeverity: z.enum(['low', 'medium', 'high', 'critical']).default('high'),
  /** registrable domains never reported (e.g. a CDN's hashed host names) */
  ignore: z.array(z.string().min(1)).default([]),
}).strict();

export type DgaConfig = z.input<typeof dgaConfigSchema>;

interface Seen {
  tsUs: number;
  name: string;
  score: number;
  nx: boolean;
}

/** At most this many names are kept per host window (the evidence lists them). */
const MAX_PER_HOST = 256;
const MAX_HOSTS = 100_000;

export class DgaAnalyzer implements Analyzer<z.output<typeof dgaConfigSchema>> {
  name = 'dga';
  readonly configSchema = dgaConfigSchema;
  /** config.model's, else the shipped one on the first name (its lexicon takes ~20 ms to build: a run that sees no name never pays) */
  private model: DgaModel | undefined;
  private cfg!: z.output<typeof dgaConfigSchema>;
  private ignore = new Set<string>();
  /** agent id -> registrable domain -> latest sighting */
  private readonly hosts = new Map<string, Map<string, Seen>>();
  /** names scored (for tests and the bench) */
  scored = 0;

  setup(config: z.output<typeof dgaConfigSchema>, ctx: AnalyzerContext): void {
    this.cfg = config;
    if (config.model !== undefined) this.model = DgaModel.load(isAbsolute(config.model) ? config.model : resolve(ctx.baseDir, config.model));
    this.ignore = new Set(config.ignore.map((d) => d.toLowerCase().replace(/\.$/, '')));
  }

  onDns(r: DnsRecord, ctx: AnalyzerContext): void {
    if (r.query === null || r.query_anon) return;
    const model = (this.model ??= DgaModel.builtin());
    const s = model.score(r.query);
    this.scored++;
    if (s === null || !s.dga) return;
    const domain = `${s.label}.${s.suffix}`;
    if (this.ignore.has(domain)) return;
    let seen = this.hosts.get(r.agent_id);
    if (seen === undefined) {
      if (this.hosts.size >= MAX_HOSTS) this.hosts.delete(this.hosts.keys().next().value as string);
      seen = new Map();
      this.hosts.set(r.agent_id, seen);
    }
    const windowUs = this.cfg.windowSec * 1e6;
    for (const [d, x] of seen) if (r.ts - x.tsUs > windowUs) seen.delete(d);
    const known = seen.has(domain);
    seen.delete(domain);
    if (seen.size >= MAX_PER_HOST) seen.delete(seen.keys().next().value as string);
    seen.set(domain, { tsUs: r.ts, name: r.query, score: s.score, nx: r.rcode === 3 });
    if (known || seen.size < this.cfg.minNames) return;
    const list = [...seen.values()];
    const nx = list.filter((x) => x.nx).length;
    const severity: Severity = nx * 2 > list.length ? this.cfg.nxdomainSeverity : this.cfg.severity;
    const shown = list.slice(-10).map((x) => x.name);
    ctx.emit({
      severity,
      category: 'dga',
      rule: 'dga-names',
      agentId: r.agent_id,
      flowUid: r.uid,
      summary: `${list.length} DGA-like names looked up within ${this.cfg.windowSec} s (${nx} NXDOMAIN), latest ${r.query}: ${shown.join(', ')}`,
      evidence: {
        names: list.slice(-50).map((x) => ({ name: x.name, score: Math.round(x.score * 1000) / 1000, nxdomain: x.nx })),
        distinct: list.length, nxdomain: nx, windowSec: this.cfg.windowSec, threshold: model.threshold,
        client: r.orig_addr, clientAnon: r.orig_anon, resolver: r.resp_addr,
      },
      tsUs: r.ts,
    });
  }
}
