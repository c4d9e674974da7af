// Analyzer throughput for the bench harness: flow records per CPU second through the
// analyzer host with every built-in analyzer on (threat intel with a small list, the
// machine signature with a model trained on the same traffic), and again with a
// 1,000,000-entry blacklist loaded. The flow records are generated (seeded, repeatable):
// hosts of several agents browsing, resolving, serving, beaconing and scanning, so every
// analyzer has work; alerts go to a counting sink (the store is not part of the figure).
// Also runnable alone: node --import tsx bench/analyze-bench.ts
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { AnalyzerHost } from '../collector/analyze/analyzer-host.js';
import { AddressScope } from '../collector/analyze/address-scope.js';
import { BUILTIN_NAMES, createBuiltin } from '../collector/analyze/builtin-analyzers.js';
import { seededRandom } from '../collector/analyze/signature/random-forest.js';
import { trainSignatureModel } from '../collector/analyze/signature/signature-model.js';
import { WindowSet } from '../collector/analyze/signature/window-features.js';
import type { FlowRecord } from '../shared/flow/flow-record.js';

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
      pcr: probe ? null : -0.8, tunnel: '', orig_anon: true, resp_anon: lateral || dns,
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

/** Flows per CPU second with all built-ins, and with a 1,000,000-entry blacklist. */
export function benchAnalyzers(opts: { flows?: number; minSeconds?: number; blacklistEntries?: number } = {}): {
  flowsPerSecAll: number; flowsPerSecBigBlacklist: number; blacklistEntries: number;
} {
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
    return { flowsPerSecAll, flowsPerSecBigBlacklist: flows / cpuSec, blacklistEntries: lines.length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = benchAnalyzers();
  process.stdout.write(`analyzers, all built-ins: ${Math.round(r.flowsPerSecAll)} flows per CPU second\n` +
    `analyzers, all built-ins + ${r.blacklistEntries} blacklist entries: ${Math.round(r.flowsPerSecBigBlacklist)} flows per CPU second\n`);
}
