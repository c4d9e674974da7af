// Precision and recall per analyzer on the labelled scenario captures (alert-scenarios.ts),
// through the real import path: analyzeImport (what `meerkat-collector import` runs) with the
// default analyzers, pseudonymization with a fixed owner key, the threat-intel feeds the
// scenarios wrote, and the alert rows as the store keeps them (what an analyst sees).
//
// A row is a true positive when it is of the label's analyzer (and rule, when the label names
// one), overlaps the label's time (± 1 h) and names both the label's host and its peer
// (pseudonymized where internal) in its host, peer, summary or evidence; a swept range is
// named by a CIDR overlapping it or by an address in it. Every other row is a false positive. Recall: labels with at
// least one true-positive row. `attributed`: true-positive rows whose `host` field is exactly
// the label's host. Also runnable alone: node dist/bench/alert-quality.js [--json]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { analyzeImport } from '../collector/analyze/analyze-import.js';
import { SqliteAlertStore } from '../shared/alerts/sqlite-alert-store.js';
import type { StoredAlert } from '../shared/alerts/alert-types.js';
import { anonymizeCidrText, anonymizeText } from '../shared/anonymize/pseudonym-text.js';
import { cidrContains, parseCidr, type Cidr } from '../shared/net/ip-address.js';
import { ANALYZER_CATEGORIES, makeScenarios, type LabelledAnalyzer, type Scenario, type ScenarioLabel } from './alert-scenarios.js';
import { prng } from './scenario-capture.js';

export interface AnalyzerQuality {
  analyzer: string;
  labels: number;
  detected: number;
  rows: number;
  truePositives: number;
  falsePositives: number;
  /** null when the analyzer raised nothing */
  precision: number | null;
  /** null when no label belongs to the analyzer */
  recall: number | null;
  /** true-positive rows whose host field is the label's host */
  attributed: number;
}

export interface ScenarioResult {
  name: string;
  packets: number;
  hosts: number;
  records: number;
  rows: number;
  labels: number;
  traps: string[];
  /** summaries of the false-positive rows */
  falsePositives: string[];
  /** labels no row matched */
  missed: string[];
}

export interface QualityReport {
  analyzers: AnalyzerQuality[];
  scenarios: ScenarioResult[];
  /** import + analysis time of all scenarios (s) */
  seconds: number;
}

const ANALYZER_OF_CATEGORY = new Map<string, string>(Object.entries(ANALYZER_CATEGORIES).map(([a, c]) => [c, a]));
const SLACK_US = 3600e6;
const quiet = pino({ level: 'silent' });

/** The owner key of the measurement (fixed, so pseudonyms and the threat-intel trap are repeatable). */
export function scenarioKey(seed = 14): Uint8Array {
  const r = prng(seed);
  return Uint8Array.from({ length: 32 }, () => Math.floor(r() * 256));
}

interface Mentions {
  addrs: Set<string>;
  cidrs: Cidr[];
}

/** Addresses and prefixes named anywhere in a row (host, peer, summary, evidence). */
function mentions(row: StoredAlert): Mentions {
  const host = (row as unknown as { host?: unknown }).host;
  const text = [typeof host === 'string' ? host : '', row.peer, row.summary, JSON.stringify(row.evidence)].join(' ');
  const addrs = new Set<string>();
  const cidrs: Cidr[] = [];
  for (const m of text.matchAll(/[0-9a-fA-F:.]{3,}(?:\/\d{1,3})?/g)) {
    const tok = m[0].replace(/^[:.]+|[:.]+$/g, '');
    try {
      const c = parseCidr(tok);
      if (tok.includes('/')) cidrs.push(c); else addrs.add(tok);
    } catch {
      // not an address (a time, a ratio)
    }
  }
  return { addrs, cidrs };
}

function names(m: Mentions, what: string): boolean {
  if (!what.includes('/')) return m.addrs.has(what) || m.cidrs.some((c) => c.prefixLen === (c.version === 4 ? 32 : 128) && cidrContains(c, c.version, parseCidr(what).bytes));
  const range = parseCidr(what);
  // a CIDR overlapping the range names it (one contains the other), and so does an address in it
  for (const a of m.addrs) if (cidrContains(range, range.version, parseCidr(a).bytes)) return true;
  return m.cidrs.some((c) => c.version === range.version && (c.prefixLen <= range.prefixLen ? cidrContains(c, range.version, range.bytes) : cidrContains(range, c.version, c.bytes)));
}

interface PseudoLabel extends ScenarioLabel {
  hostAs: string;
  peerAs: string;
}

function matches(row: StoredAlert, l: PseudoLabel, m: Mentions): boolean {
  if (ANALYZER_OF_CATEGORY.get(row.category) !== l.analyzer) return false;
  if (l.rule !== undefined && row.rule !== l.rule) return false;
  if (row.lastSeenUs < l.startUs - SLACK_US || row.firstSeenUs > l.endUs + SLACK_US) return false;
  return names(m, l.hostAs) && names(m, l.peerAs);
}

/** Imports every scenario (own database each) and scores the alert rows against the labels. */
export async function measureAlertQuality(opts: { dir?: string; seed?: number; benignDays?: number } = {}): Promise<QualityReport> {
  const own = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'meerkat-scenarios-'));
  const key = scenarioKey(opts.seed);
  const internal = (a: string): boolean => /^10\./.test(a);
  const asStored = (a: string): string => (!internal(a) ? a : a.includes('/') ? anonymizeCidrText({ anonKey: key }, a) : anonymizeText({ anonKey: key }, a));
  const started = performance.now();
  try {
    const scenarios = makeScenarios(dir, { pseudonymOf: (a) => asStored(a), ...(opts.seed !== undefined ? { seed: opts.seed } : {}), ...(opts.benignDays !== undefined ? { benignDays: opts.benignDays } : {}) });
    const stats = new Map<string, AnalyzerQuality>();
    const stat = (a: string): AnalyzerQuality => {
      let s = stats.get(a);
      if (s === undefined) {
        s = { analyzer: a, labels: 0, detected: 0, rows: 0, truePositives: 0, falsePositives: 0, precision: null, recall: null, attributed: 0 };
        stats.set(a, s);
      }
      return s;
    };
    for (const a of Object.keys(ANALYZER_CATEGORIES)) stat(a);
    const results: ScenarioResult[] = [];
    for (const sc of scenarios) results.push(await scoreScenario(sc, dir, key, asStored, stat));
    for (const s of stats.values()) {
      s.precision = s.rows > 0 ? s.truePositives / s.rows : null;
      s.recall = s.labels > 0 ? s.detected / s.labels : null;
    }
    return { analyzers: [...stats.values()], scenarios: results, seconds: (performance.now() - started) / 1000 };
  } finally {
    if (own) rmSync(dir, { recursive: true, force: true });
  }
}

async function scoreScenario(sc: Scenario, dir: string, key: Uint8Array, asStored: (a: string) => string,
  stat: (a: string) => AnalyzerQuality): Promise<ScenarioResult> {
  const db = join(dir, `${sc.name}.db`);
  const agentId = `scenario-${sc.name}`;
  const feeds = sc.feeds.map((f) => ({ name: f.name, path: f.path, format: 'plain' as const }));
  const analyzers = [
    ...(feeds.length > 0 ? [{ builtin: 'threat-intel', config: { feeds, watch: false } }] : []),
    ...(sc.profile !== undefined ? [{ builtin: 'machine-exceptions', config: { agents: { [agentId]: sc.profile } } }] : []),
  ];
  const r = await analyzeImport([sc.file], {
    db, anonKey: key, agentId, progress: false, strict: true, log: quiet,
    ...(analyzers.length > 0 ? { analyzersConfig: { analyzers } } : {}),
  });
  const store = new SqliteAlertStore(db, { readonly: true });
  const rows = store.list();
  store.close();
  const labels: PseudoLabel[] = sc.labels.map((l) => ({ ...l, hostAs: asStored(l.host), peerAs: asStored(l.peer) }));
  const found = new Set<PseudoLabel>();
  const falsePositives: string[] = [];
  for (const row of rows) {
    const m = mentions(row);
    const analyzer = ANALYZER_OF_CATEGORY.get(row.category) ?? row.category;
    const s = stat(analyzer);
    s.rows++;
    const hit = labels.filter((l) => matches(row, l, m));
    if (hit.length === 0) {
      s.falsePositives++;
      falsePositives.push(`${row.category}/${row.rule}: ${row.summary}`);
      continue;
    }
    s.truePositives++;
    const host = (row as unknown as { host?: unknown }).host;
    if (hit.some((l) => host === l.hostAs)) s.attributed++;
    for (const l of hit) found.add(l);
  }
  for (const l of labels) {
    const s = stat(l.analyzer);
    s.labels++;
    if (found.has(l)) s.detected++;
  }
  return {
    name: sc.name, packets: sc.packets, hosts: sc.hosts.length, records: r.records, rows: rows.length, labels: labels.length, traps: sc.traps,
    falsePositives, missed: labels.filter((l) => !found.has(l)).map((l) => `${l.analyzer}: ${l.what} (${l.host} / ${l.peer})`),
  };
}

const pct = (x: number | null): string => (x === null ? '-' : `${(x * 100).toFixed(0)} %`);

/** The report as a table (docs/analyzers.md shows one). */
export function qualityTable(r: QualityReport): string {
  const lines = ['analyzer           labels  detected  rows  TP  FP  precision  recall  host attributed'];
  for (const a of r.analyzers) {
    lines.push(`${a.analyzer.padEnd(18)} ${String(a.labels).padStart(6)}  ${String(a.detected).padStart(8)}  ${String(a.rows).padStart(4)}  ` +
      `${String(a.truePositives).padStart(2)}  ${String(a.falsePositives).padStart(2)}  ${pct(a.precision).padStart(9)}  ${pct(a.recall).padStart(6)}  ` +
      `${a.truePositives > 0 ? `${a.attributed}/${a.truePositives}` : '-'}`);
  }
  for (const s of r.scenarios) {
    lines.push(`${s.name}: ${s.packets} packets, ${s.hosts} hosts, ${s.records} flow records, ${s.rows} alert rows, ${s.labels} labels`);
    for (const f of s.falsePositives) lines.push(`  false positive: ${f}`);
    for (const m of s.missed) lines.push(`  missed: ${m}`);
  }
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await measureAlertQuality();
  process.stdout.write((process.argv.includes('--json') ? JSON.stringify(r, null, 2) : qualityTable(r)) + '\n');
}
