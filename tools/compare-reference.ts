// Compares our flows with reference flow tables nobody here wrote: Zeek conn.log,
// CESNET FlowTest annotations, nDPI, Arkime and Argus (see ../shared/pcaps/SOURCES.md).
// Each capture is imported with the real importer (--anonymize none), our records are
// summed per flow uid, and each reference's flows are matched by endpoints.
// Library: compareReferences(), formatReport(). CLI:
//   tsx tools/compare-reference.ts [--only SUBSTRING] [--verbose] [--json] [--pcaps DIR]
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { importFiles } from '../collector/import/import-files.js';
import type { FlowRecord } from '../shared/flow/flow-record.js';
import { SqliteFlowStore } from '../shared/store/sqlite-flow-store.js';
import { referencePcapsDir } from '../shared/util/repo-paths.js';
import { matchFlows, type MatchPolicy, type MatchResult } from './reference/match-flows.js';
import { parseArgusCsv } from './reference/parse-argus.js';
import { parseArkimeJson } from './reference/parse-arkime.js';
import { parseFlowTestYaml } from './reference/parse-flowtest.js';
import { parseNdpiOut } from './reference/parse-ndpi.js';
import { parseZeekConnLog } from './reference/parse-zeek-conn.js';
import { REFERENCE_NAMES, type ComparableFlow, type ReferenceName } from './reference/reference-flow.js';

export { REFERENCE_NAMES, type ReferenceName } from './reference/reference-flow.js';
export type { MatchResult } from './reference/match-flows.js';

export const POLICIES: Readonly<Record<ReferenceName, MatchPolicy>> = {
  zeek: { icmpByAddresses: false, bytes: true, state: true, oriented: true },
  flowtest: { icmpByAddresses: true, bytes: true, state: false, oriented: false },
  ndpi: { icmpByAddresses: true, bytes: false, state: false, oriented: false },
  arkime: { icmpByAddresses: true, bytes: false, state: false, oriented: false },
  argus: { icmpByAddresses: true, bytes: false, state: false, oriented: false },
};

/** References not to score, with the reason (SOURCES.md documents them). */
export const EXCLUDED: Readonly<Record<string, { reference: ReferenceName; reason: string }>> = {
  'zeek/ppp_quic-interop-retry': { reference: 'argus', reason: 'Argus mis-decodes DLT_PPP (garbage records)' },
};

export interface FileReport {
  /** capture path relative to the pcaps folder */
  capture: string;
  /** flows (uids) we produced */
  ourFlows: number;
  results: Partial<Record<ReferenceName, MatchResult>>;
  /** import problem for this capture, if any */
  error?: string;
}

export interface OverallCounts {
  flows: number;
  found: number;
  exact: number;
  aggregate: number;
}

export interface ComparisonReport {
  files: FileReport[];
  overall: Record<ReferenceName, OverallCounts>;
}

export interface CompareOptions {
  /** folder of reference captures (default: the shared reference set) */
  pcapsDir?: string;
  /** only captures whose relative path contains this text */
  only?: string;
}

const CAPTURE_RE = /\.(pcap|pcapng)$/;

function readIf(path: string): string | null {
  return existsSync(path) ? readFileSync(path, 'utf8') : null;
}

function referencesFor(dir: string, stem: string): Partial<Record<ReferenceName, ComparableFlow[]>> {
  const out: Partial<Record<ReferenceName, ComparableFlow[]>> = {};
  const base = join(dir, stem);
  const conn = readIf(`${base}.conn.log`);
  if (conn !== null) out.zeek = parseZeekConnLog(conn, `${base}.conn.log`);
  const annotations = readdirSync(dir).filter((f) => f.startsWith(`${stem}.flowtest.`) && f.endsWith('.yml')).sort();
  if (annotations.length > 0) {
    // several annotation files may describe the same flow: keep each flow once
    const seen = new Set<string>();
    const flows: ComparableFlow[] = [];
    for (const a of annotations) {
      for (const f of parseFlowTestYaml(readFileSync(join(dir, a), 'utf8'), join(dir, a))) {
        const k = JSON.stringify({ ...f, label: '' });
        if (!seen.has(k)) { seen.add(k); flows.push(f); }
      }
    }
    out.flowtest = flows;
  }
  const ndpi = readIf(`${base}.ndpi.out`);
  if (ndpi !== null) out.ndpi = parseNdpiOut(ndpi);
  const arkime = readIf(`${base}.arkime.json`);
  if (arkime !== null) out.arkime = parseArkimeJson(arkime, `${base}.arkime.json`);
  const argus = readIf(`${base}.argus.csv`);
  if (argus !== null) out.argus = parseArgusCsv(argus);
  return out;
}

/** Our records summed per uid; state and history from the flow's last record. */
function aggregateOurFlows(records: readonly FlowRecord[]): ComparableFlow[] {
  const byUid = new Map<string, { f: ComparableFlow; seq: number }>();
  for (const r of records) {
    const cur = byUid.get(r.uid);
    if (cur === undefined) {
      byUid.set(r.uid, {
        seq: r.record_seq,
        f: {
          ipProto: r.ip_proto, aAddr: r.orig_addr, aPort: r.orig_port, bAddr: r.resp_addr, bPort: r.resp_port,
          aPkts: r.orig_pkts, bPkts: r.resp_pkts, aBytes: r.orig_ip_bytes, bBytes: r.resp_ip_bytes,
          connState: r.conn_state, history: r.history, label: r.uid,
        },
      });
      continue;
    }
    cur.f.aPkts += r.orig_pkts;
    cur.f.bPkts += r.resp_pkts;
    cur.f.aBytes! += r.orig_ip_bytes;
    cur.f.bBytes! += r.resp_ip_bytes;
    if (r.record_seq > cur.seq) {
      cur.seq = r.record_seq;
      cur.f.connState = r.conn_state;
      cur.f.history = r.history;
    }
  }
  return [...byUid.values()].map((v) => v.f);
}

function listCaptures(root: string): string[] {
  const out: string[] = [];
  for (const sub of readdirSync(root, { withFileTypes: true })) {
    if (!sub.isDirectory()) continue;
    for (const f of readdirSync(join(root, sub.name)).sort()) {
      if (CAPTURE_RE.test(f)) out.push(join(root, sub.name, f));
    }
  }
  return out.sort();
}

export async function compareReferences(opts: CompareOptions = {}): Promise<ComparisonReport> {
  const root = opts.pcapsDir ?? referencePcapsDir();
  const work = mkdtempSync(join(tmpdir(), 'meerkat-compare-'));
  const store = new SqliteFlowStore(join(work, 'flows.db'), { synchronous: 'normal' });
  const report: ComparisonReport = { files: [], overall: {} as Record<ReferenceName, OverallCounts> };
  for (const name of REFERENCE_NAMES) report.overall[name] = { flows: 0, found: 0, exact: 0, aggregate: 0 };
  try {
    for (const path of listCaptures(root)) {
      const rel = relative(root, path);
      if (opts.only !== undefined && !rel.includes(opts.only)) continue;
      const dir = join(path, '..');
      const stem = path.slice(dir.length + 1).replace(CAPTURE_RE, '');
      const refs = referencesFor(dir, stem);
      const records: FlowRecord[] = [];
      const summary = await importFiles([path], {
        db: store, anonymize: 'none', progress: false, agentId: 'reference', onRecord: (r) => records.push(r),
      });
      const ours = aggregateOurFlows(records);
      const fr: FileReport = { capture: rel, ourFlows: ours.length, results: {} };
      const err = summary.files[0]?.error;
      if (err !== undefined) fr.error = err;
      const relStem = rel.replace(CAPTURE_RE, '');
      for (const name of REFERENCE_NAMES) {
        const flows = refs[name];
        if (flows === undefined) continue;
        if (EXCLUDED[relStem]?.reference === name) continue;
        const res = matchFlows(flows, ours, POLICIES[name]);
        fr.results[name] = res;
        const o = report.overall[name];
        o.flows += res.flows;
        o.found += res.found;
        o.exact += res.exact;
        o.aggregate += res.aggregate;
      }
      report.files.push(fr);
    }
  } finally {
    store.close();
    rmSync(work, { recursive: true, force: true });
  }
  return report;
}

function pct(n: number, d: number): string {
  return d === 0 ? '-' : `${((100 * n) / d).toFixed(1)}%`;
}

/** The comparison as a text table (per file, then overall); verbose adds every miss. */
export function formatReport(report: ComparisonReport, verbose = false): string {
  const lines: string[] = [];
  const cell = (r: MatchResult | undefined): string =>
    r === undefined ? '' : `${r.exact + r.aggregate}/${r.flows}${r.aggregate > 0 ? ` (${r.aggregate} agg)` : ''}`;
  const w = Math.max(...report.files.map((f) => f.capture.length), 8);
  lines.push(['capture'.padEnd(w), 'ours', ...REFERENCE_NAMES.map((n) => n.padStart(14))].join('  '));
  for (const f of report.files) {
    lines.push([f.capture.padEnd(w), String(f.ourFlows).padStart(4), ...REFERENCE_NAMES.map((n) => cell(f.results[n]).padStart(14))]
      .join('  ') + (f.error !== undefined ? `  [import: ${f.error}]` : ''));
  }
  lines.push('');
  lines.push('overall (matched = exact + aggregate; exact = same counters flow by flow)');
  for (const n of REFERENCE_NAMES) {
    const o = report.overall[n];
    lines.push(`  ${n.padEnd(9)} flows ${String(o.flows).padStart(5)}  found ${String(o.found).padStart(5)}  ` +
      `exact ${String(o.exact).padStart(5)} (${pct(o.exact, o.flows)})  matched ${String(o.exact + o.aggregate).padStart(5)} ` +
      `(${pct(o.exact + o.aggregate, o.flows)})`);
  }
  if (verbose) {
    lines.push('');
    for (const f of report.files) {
      for (const n of REFERENCE_NAMES) {
        for (const m of f.results[n]?.misses ?? []) {
          lines.push(`MISS ${f.capture} [${n}] ${m.reference}`);
          for (const o of m.ours) lines.push(`      ours: ${o}`);
          if (m.ours.length === 0) lines.push('      ours: (no flow with these endpoints)');
        }
        for (const m of f.results[n]?.aggregates ?? []) {
          lines.push(`AGG  ${f.capture} [${n}] ${m.reference}`);
          for (const o of m.ours) lines.push(`      ours: ${o}`);
        }
      }
    }
  }
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const opts: CompareOptions = {};
  let verbose = false;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--verbose' || a === '-v') verbose = true;
    else if (a === '--json') json = true;
    else if (a === '--only' && argv[i + 1] !== undefined) opts.only = argv[++i]!;
    else if (a === '--pcaps' && argv[i + 1] !== undefined) opts.pcapsDir = argv[++i]!;
    else {
      process.stderr.write(`usage: compare-reference [--only SUBSTRING] [--pcaps DIR] [--verbose] [--json]\n`);
      return 2;
    }
  }
  const report = await compareReferences(opts);
  process.stdout.write((json ? JSON.stringify(report, null, 2) : formatReport(report, verbose)) + '\n');
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
    process.stderr.write(`compare-reference: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
