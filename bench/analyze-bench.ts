// Analyzer throughput for the bench harness: flow records per CPU second through the
// analyzer host with every built-in analyzer on (threat intel with a small list, the
// machine signature with a model trained on the same traffic), and again with a
// 1,000,000-entry blacklist loaded. The flow records are generated (seeded, repeatable):
// hosts of several agents browsing, resolving, serving, beaconing and scanning, so every
// analyzer has work; alerts go to a counting sink (the store is not part of the figure).
// Measured in this thread (as an import runs them) and through a worker thread (as the live
// collector runs them: batches, structured messages, the watchdog's call state).
// Also runnable alone: node --import tsx bench/analyze-bench.ts
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { AnalyzerHost } from '../collector/analyze/analyzer-host.js';
import { AnalyzerPool } from '../collector/analyze/analyzer-pool.js';
import { analyzerPlan, parseAnalysisConfig } from '../collector/analyze/analysis-config.js';
import { loadAnalyzers } from '../collector/analyze/load-analyzers.js';
import { AddressScope } from '../collector/analyze/address-scope.js';
import { BUILTIN_NAMES, createBuiltin } from '../collector/analyze/builtin-analyzers.js';
import { seededRandom } from '../collector/analyze/signature/random-forest.js';
import { trainSignatureModel } from '../collector/analyze/signature/signature-model.js';
import { WindowSet } from '../collector/analyze/signature/window-features.js';
import { NO_APP_FIELDS, type FlowRecord } from '../shared/flow/flow-record.js';

const T0 = Date.UTC(2024, 0, 8) * 1000;

/** Generated flow records of `agents` hosts over `hours`, time-ordered. */
export function generateFlows(count: number, agents = 20, seed = 1): FlowRecord[] {
  const rand = seededRandom(seed);
  const out: FlowRecord[] = [];
  const spanUs = 6 * 3600e6;
  for (let i = 0; i < count; i++) {
    const agent = Math.floor(rand() * agents);
    const start = T0 + Math.floor((i / count) * spanUs + rand() * 1e6);
    const kind = rand();
    const web = kind < 0.55;
    const dns = !web && kind < 0.8;
    const probe = kind > 0.98;
    const lateral = !web && !dns && !probe;
    const dur = web ? Math.floor(rand() * 30e6) : 50_000;
    out.push({
      uid: `B${i.toString(36)}`, record_seq: 0, community_id: `1:b${i}`, agent_id: `agent-${agent}`,
      proto: dns ? 'udp' : 'tcp', ip_proto: dns ? 17 : 6, ip_version: 4,
      orig_addr: `10.${agent}.0.${1 + (agent % 200)}`, orig_port: 30000 + (i % 30000),
      resp_addr: web || probe ? `${23 + Math.floor(rand() * 180)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.${1 + Math.floor(rand() * 254)}`
        : dns ? '10.0.0.53' : `10.${agent}.1.${1 + Math.floor(rand() * 50)}`,
      resp_port: web ? (rand() < 0.9 ? 443 : 80) : dns ? 53 : probe ? Math.floor(rand() * 1024) : 445,
      vlan: 0, flow_start: start, start, end: start + dur, duration: dur / 1e6,
      orig_pkts: probe ? 1 : 5 + Math.floor(rand() * 20), resp_pkts: probe ? 0 : 5 + Math.floor(rand() * 40),
      orig_ip_bytes: probe ? 44 : Math.floor(300 + rand() * 5000), resp_ip_bytes: probe ? 0 : Math.floor(500 + rand() * 200_000),
      orig_payload_bytes: probe ? 0 : 200, resp_payload_bytes: probe ? 0 : 400,
      conn_state: probe ? 'S0' : 'SF', history: probe ? 'S' : 'ShADadFf', record_cause: 'close',
      rtt_syn_synack_us: probe ? null : 20_000, rtt_synack_ack_us: probe ? null : 100,
      retransmits_orig: 0, retransmits_resp: 0, zero_windows_orig: 0, zero_windows_resp: 0,
      iat_mean_orig_us: 1000, iat_stddev_orig_us: 100, iat_mean_resp_us: 1000, iat_stddev_resp_us: 100,
      pcr: probe ? null : -0.8, tunnel: '', orig_anon: true, resp_anon: lateral || dns, ...NO_APP_FIELDS,
    });
  }
  return out;
}

const silent = pino({ level: 'silent' });

function hostWith(dir: string, feedPath: string, modelPath: string): { host: AnalyzerHost; alerts: () => number } {
  let n = 0;
  const host = new AnalyzerHost({ sink: () => { n++; }, log: silent, baseDir: dir });
  for (const name of BUILTIN_NAMES) {
    const config = name === 'threat-intel' ? { watch: false, feeds: [{ name: 'bench', path: feedPath }] }
      : name === 'machine-signature' ? { model: modelPath } : {};
    if (!host.addSync(createBuiltin(name), config)) throw new Error(`analyzer ${name} did not set up: ${host.status().at(-1)?.disabledReason}`);
  }
  return { host, alerts: () => n };
}

function cpuRun(records: readonly FlowRecord[], make: () => { host: AnalyzerHost }, minSeconds: number): number {
  // warm-up pass
  { const { host } = make(); for (const r of records) host.onFlow(r); host.finish(); host.close(); }
  let flows = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  do {
    const { host } = make();
    for (let i = 0; i < records.length; i++) host.onFlow(records[i]!);
    host.finish();
    host.close();
    flows += records.length;
  } while ((performance.now() - t0) / 1000 < minSeconds);
  const cpu = process.cpuUsage(c0);
  return flows / ((cpu.user + cpu.system) / 1e6);
}

/** The records shifted by `k` spans of 7 hours of packet time (a later stretch of the same traffic). */
function shifted(records: readonly FlowRecord[], k: number): FlowRecord[] {
  const d = k * 7 * 3600e6;
  return records.map((r) => ({ ...r, flow_start: r.flow_start + d, start: r.start + d, end: r.end + d }));
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/**
 * In this thread against a worker thread (the live collector's path: AnalyzerPool, records in
 * batches), both long-lived and warm, fed the same later stretches of traffic in turn, pass by
 * pass (interleaved, so load from elsewhere hits both alike). CPU seconds of the whole process
 * (main thread and worker); the pool waits for its worker instead of dropping (blockWhenBusy),
 * so every record is analyzed. Medians of the passes' flows per CPU second.
 */
async function inProcessVsWorker(records: readonly FlowRecord[], dir: string, feedPath: string, modelPath: string, passes: number): Promise<{ inProcess: number; worker: number; ratios: number[] }> {
  const plan = analyzerPlan(parseAnalysisConfig({
    analyzers: [
      { builtin: 'threat-intel', config: { watch: false, feeds: [{ name: 'bench', path: feedPath }] } },
      { builtin: 'machine-signature', config: { model: modelPath } },
    ],
  }));
  const host = new AnalyzerHost({ sink: () => undefined, log: silent, baseDir: dir });
  await loadAnalyzers(host, plan);
  const pool = await AnalyzerPool.start({ plan, baseDir: dir, tickIntervalUs: 60e6, sink: () => undefined, log: silent });
  pool.blockWhenBusy = true;
  const cpuSince = (c0: NodeJS.CpuUsage): number => {
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1e6;
  };
  const a: number[] = [];
  const b: number[] = [];
  try {
    for (let k = 0; k < passes + 2; k++) {
      const recs = shifted(records, k);
      let c0 = process.cpuUsage();
      for (let i = 0; i < recs.length; i++) host.onFlow(recs[i]!);
      const inProcess = recs.length / cpuSince(c0);
      c0 = process.cpuUsage();
      for (let i = 0; i < recs.length; i++) pool.onRecord(recs[i]!);
      pool.sendBatch();
      while ((pool.queuedFlows().get('builtins') ?? 0) > 0) await new Promise((r) => setTimeout(r, 10));
      const worker = recs.length / cpuSince(c0);
      if (k >= 2) { // the first two passes warm both up
        a.push(inProcess);
        b.push(worker);
      }
    }
    if (pool.status().some((s) => !s.enabled)) throw new Error(`analyzer disabled in the worker: ${JSON.stringify(pool.status().filter((s) => !s.enabled))}`);
  } finally {
    host.close();
    await pool.close();
  }
  return { inProcess: median(a), worker: median(b), ratios: b.map((w, i) => w / a[i]!) };
}

/** Flows per CPU second with all built-ins, and with a 1,000,000-entry blacklist. */
export async function benchAnalyzers(opts: { flows?: number; minSeconds?: number; blacklistEntries?: number; passes?: number } = {}): Promise<{
  flowsPerSecAll: number; flowsPerSecBigBlacklist: number; blacklistEntries: number;
  /** interleaved long-lived comparison: medians, and the worker / in-process ratio of each pass */
  live: { inProcess: number; worker: number; ratios: number[] };
}> {
  const records = generateFlows(opts.flows ?? 200_000);
  const entries = opts.blacklistEntries ?? 1_000_000;
  const dir = mkdtempSync(join(tmpdir(), 'meerkat-analyze-bench-'));
  try {
    // a small list and a big one (every 200th generated web server is listed in both)
    const listed = records.filter((r, i) => !r.resp_anon && i % 200 === 0).map((r) => r.resp_addr);
    const small = join(dir, 'small.txt');
    writeFileSync(small, listed.join('\n') + '\n');
    const big = join(dir, 'big.txt');
    const rand = seededRandom(99);
    const lines: string[] = [...listed];
    while (lines.length < entries) {
      const a = Math.floor(rand() * 0xffffffff) >>> 0;
      lines.push(lines.length % 4 === 0 ? `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.0/24` : `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`);
    }
    writeFileSync(big, lines.join('\n') + '\n');
    // a signature model of the generated agents (5-minute windows)
    const set = new WindowSet(300e6, new AddressScope());
    for (const r of records) set.add(r);
    const model = trainSignatureModel(set.list(5), { windowUs: 300e6, minRecords: 5, trees: 30 });
    const modelPath = join(dir, 'model.json');
    model.save(modelPath);
    const minSeconds = opts.minSeconds ?? 2;
    const flowsPerSecAll = cpuRun(records, () => hostWith(dir, small, modelPath), minSeconds);
    const live = await inProcessVsWorker(records.slice(0, 100_000), dir, small, modelPath, opts.passes ?? 12);
    // the big list is loaded once per host: load it once and reuse the host's analyzers? No - setup
    // reads the file; keep the load out of the figure by timing only the flow loop
    const bigHost = (): { host: AnalyzerHost } => hostWith(dir, big, modelPath);
    const prepared = bigHost();
    prepared.host.close();
    let flows = 0;
    let cpuSec = 0;
    const t0 = performance.now();
    do {
      const { host } = bigHost();
      const c0 = process.cpuUsage();
      for (let i = 0; i < records.length; i++) host.onFlow(records[i]!);
      host.finish();
      const cpu = process.cpuUsage(c0);
      host.close();
      cpuSec += (cpu.user + cpu.system) / 1e6;
      flows += records.length;
    } while ((performance.now() - t0) / 1000 < minSeconds * 2);
    return { flowsPerSecAll, live, flowsPerSecBigBlacklist: flows / cpuSec, blacklistEntries: lines.length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await benchAnalyzers();
  process.stdout.write(`analyzers, all built-ins: ${Math.round(r.flowsPerSecAll)} flows per CPU second\n` +
    `analyzers, all built-ins, long-lived, interleaved: in-process ${Math.round(r.live.inProcess)}, in a worker thread (the live collector) ${Math.round(r.live.worker)} flows per CPU second ` +
    `(median ratio ${median(r.live.ratios).toFixed(3)}; per pass ${r.live.ratios.map((x) => x.toFixed(2)).join(' ')})\n` +
    `analyzers, all built-ins + ${r.blacklistEntries} blacklist entries: ${Math.round(r.flowsPerSecBigBlacklist)} flows per CPU second\n`);
}
