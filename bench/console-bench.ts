// The web console's budgets (issue 15) measured, not asserted: with 1,000,000 flows and 10,000
// alerts in an organisation's database, the flows page as the API answers it (data-access.ts:
// first page, filtered pages, a deep page through the cursor), the export, the alerts page and
// the overview's aggregates (org-data-reader.ts, a fresh read-only connection per request as the
// console's routes open one), the compressed size of the page bundle, and (console-page-bench.ts)
// the page in a real browser on that database. Standalone: node dist/bench/console-bench.js [--flows=N] [--keep-db=FILE].
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SqliteFlowStore } from '../shared/store/sqlite-flow-store.js';
import { SqliteAlertStore } from '../shared/alerts/sqlite-alert-store.js';
import { NO_APP_FIELDS, type FlowRecord } from '../shared/flow/flow-record.js';
import { OrgDataReader } from '../collector/control/org-data-reader.js';
import { openDataAccess } from '../collector/control/data-access.js';
import { flowQueryFromParams } from '../shared/store/flow-query.js';
import { benchConsolePage, consoleBundleGzip, type ConsolePageBench } from './console-page-bench.js';

export interface ConsoleBench {
  flows: number;
  alerts: number;
  buildSeconds: number;
  /** ms, p50 and p95 over the runs of each query */
  queries: { name: string; p50: number; p95: number; rows: number }[];
  /** gzip bytes of the page's JavaScript and CSS together (null: not built) */
  bundleGzipBytes: number | null;
  /** gzip bytes of the page's JavaScript alone */
  jsGzipBytes: number | null;
  /** the page in a real browser (null: chromium missing, or not asked for) */
  page: ConsolePageBench | null;
}

/** The benchmark's record i: a day of traffic before nowUs, internal 10.x pseudonyms to external 198.51.x servers. */
export function makeFlow(i: number, nowUs: number, agents: string[]): FlowRecord {
  const start = nowUs - Math.floor((i / 1_000_000) * 24 * 3600e6) - (i % 1000);
  const internal = `10.${(i >> 16) & 3}.${(i >> 8) & 255}.${i & 255}`;
  const external = `198.51.${(i * 7) & 255}.${(i * 13) & 255}`;
  const port = [443, 80, 53, 22, 8443, 3389][i % 6]!;
  return {
    uid: `B${i.toString(36)}`, record_seq: 0, community_id: `1:${Buffer.from(String(i).padStart(20, '0')).toString('base64').slice(0, 27)}=`,
    agent_id: agents[i % agents.length]!, proto: port === 53 ? 'udp' : 'tcp', ip_proto: port === 53 ? 17 : 6, ip_version: 4,
    orig_addr: internal, orig_port: 30000 + (i % 30000), resp_addr: external, resp_port: port, vlan: 0,
    flow_start: start, start, end: start + 200_000, duration: 0.2, orig_pkts: 5, resp_pkts: 4, orig_ip_bytes: 600, resp_ip_bytes: 3000,
    orig_payload_bytes: 300, resp_payload_bytes: 2700, conn_state: 'SF', history: 'ShADadFf', record_cause: 'close',
    rtt_syn_synack_us: 1000, rtt_synack_ack_us: 100, retransmits_orig: 0, retransmits_resp: 0, zero_windows_orig: 0, zero_windows_resp: 0,
    iat_mean_orig_us: null, iat_stddev_orig_us: null, iat_mean_resp_us: null, iat_stddev_resp_us: null, pcr: null, tunnel: '',
    orig_anon: true, resp_anon: false, ...NO_APP_FIELDS,
  };
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export async function benchConsole(o: { flows?: number; alerts?: number; runs?: number; log?: (s: string) => void; keepDb?: string; browserRuns?: number } = {}): Promise<ConsoleBench> {
  const nFlows = o.flows ?? 1_000_000;
  const nAlerts = o.alerts ?? 10_000;
  const runs = o.runs ?? 30;
  const log = o.log ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'meerkat-console-bench-'));
  try {
    // keepDb: build the database once and query it again (while tuning queries)
    const db = o.keepDb ?? join(dir, 'meerkat.db');
    const reuse = o.keepDb !== undefined && existsSync(o.keepDb);
    const agents = Array.from({ length: 50 }, (_, k) => `00000000-0000-4000-8000-${String(k).padStart(12, '0')}`);
    const nowUs = Date.now() * 1000;
    const t0 = performance.now();
    if (!reuse) buildDb(db, nFlows, nAlerts, nowUs, agents);
    else { new SqliteFlowStore(db).close(); new SqliteAlertStore(db).close(); } // a kept database made by an older build: migrated once
    const buildSeconds = (performance.now() - t0) / 1000;
    log(`console bench: ${nFlows} flows and ${nAlerts} alerts written in ${buildSeconds.toFixed(1)} s`);


    const time = (name: string, fn: (r: OrgDataReader) => number): ConsoleBench['queries'][number] => {
      const ms: number[] = [];
      let rows = 0;
      for (let k = 0; k < runs; k++) {
        const s = performance.now();
        const r = new OrgDataReader(db);
        try { rows = fn(r); } finally { r.close(); }
        ms.push(performance.now() - s);
      }
      return { name, p50: percentile(ms, 50), p95: percentile(ms, 95), rows };
    };
    // the flows page as the API answers it (GET /v1/orgs/ORG/flows: admin-routes.ts through data-access.ts)
    const flowsPage = (name: string, params: string): ConsoleBench['queries'][number] => {
      const ms: number[] = [];
      let rows = 0;
      for (let k = 0; k < runs; k++) {
        const s = performance.now();
        const d = openDataAccess(db);
        try { rows = d.flowsPage(flowQueryFromParams(new URLSearchParams(`${params}&limit=50`))).records.length; } finally { d.close(); }
        ms.push(performance.now() - s);
      }
      return { name, p50: percentile(ms, 50), p95: percentile(ms, 95), rows };
    };
    // the cursor 100 pages deep, found once
    let deep = '';
    {
      const d = openDataAccess(db);
      for (let k = 0; k < 100; k++) deep = d.flowsPage(flowQueryFromParams(new URLSearchParams(`limit=50${deep ? `&cursor=${deep}` : ''}`))).next!;
      d.close();
    }
    const queries = [
      flowsPage('flows: first page, no filter', ''),
      flowsPage('flows: one address', 'addr=10.1.2.3'),
      flowsPage('flows: a /16 prefix', 'addr=10.2.0.0/16'),
      flowsPage('flows: a /20 prefix', 'addr=10.3.16.0/20'),
      flowsPage('flows: port 3389 (1 in 6)', 'port=3389'),
      flowsPage('flows: port 4444 (none)', 'port=4444'),
      flowsPage('flows: one agent', `agent=${agents[7]!}`),
      flowsPage('flows: agent + port + last hour', `agent=${agents[3]!}&port=80&since=${nowUs - 3600e6}`),
      flowsPage('flows: page 101 (keyset cursor)', `cursor=${deep}`),
      time('export: 1,000 flows of port 443 (CSV rows)', (r) => [...r.iterateFlows({ port: 443 }, 1000)].length),
      time('alerts: first page', (r) => r.alerts({}, 100).alerts.length),
      time('alerts: open, high', (r) => r.alerts({ state: 'open', severity: 'high' }, 100).alerts.length),
      time('overview: last hour', (r) => r.overview(60, nowUs).flowsInWindow),
    ];
    const bundle = consoleBundleGzip();
    const browserRuns = o.browserRuns ?? 10;
    if (browserRuns > 0) log(`console page: ${browserRuns} logins in chromium, the overview over these ${nFlows} flows`);
    const page = browserRuns > 0 ? await benchConsolePage({ dbPath: db, runs: browserRuns, log }) : null;
    return { flows: nFlows, alerts: nAlerts, buildSeconds, queries, bundleGzipBytes: bundle?.jsAndCss ?? null, jsGzipBytes: bundle?.js ?? null, page };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function buildDb(db: string, nFlows: number, nAlerts: number, nowUs: number, agents: string[]): void {
  const store = new SqliteFlowStore(db, { synchronous: 'normal' });
  const batch: FlowRecord[] = [];
  for (let i = 0; i < nFlows; i++) {
    batch.push(makeFlow(i, nowUs, agents));
    if (batch.length === 20_000) { store.insertFlows(batch); batch.length = 0; }
  }
  store.insertFlows(batch);
  store.close();
  const alerts = new SqliteAlertStore(db, { synchronous: 'normal' });
  for (let k = 0; k < nAlerts; k += 1000) {
    alerts.record(Array.from({ length: Math.min(1000, nAlerts - k) }, (_, j) => {
      const ev = { analyzer: 'scan', severity: (['low', 'medium', 'high', 'critical'] as const)[(k + j) % 4], category: 'scan', rule: `r${k + j}`, agentId: agents[(k + j) % 50]!, peer: '198.51.100.7', summary: 'bench', evidence: {}, tsUs: nowUs - (k + j) * 1000 };
      return { key: `k${k + j}`, latest: ev, count: 1, firstTsUs: ev.tsUs, lastTsUs: ev.tsUs, maxSeverity: ev.severity, flowUids: [] };
    }));
  }
  alerts.close();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = process.argv.find((a) => a.startsWith('--flows='));
  const keep = process.argv.find((a) => a.startsWith('--keep-db='));
  const r = await benchConsole({ ...(arg ? { flows: Number(arg.slice(8)) } : {}), ...(keep ? { keepDb: keep.slice(10) } : {}), log: (s) => process.stderr.write(s + '\n') });
  for (const q of r.queries) process.stdout.write(`${q.name.padEnd(40)} p50 ${q.p50.toFixed(1).padStart(7)} ms  p95 ${q.p95.toFixed(1).padStart(7)} ms  (${q.rows} rows)\n`);
  process.stdout.write(`page bundle, gzip: JavaScript ${r.jsGzipBytes ?? 'not built'} bytes, with CSS ${r.bundleGzipBytes ?? 'not built'} bytes\n`);
  if (r.page) {
    for (const [name, t] of [['login form usable', r.page.loginForm], ['log in -> overview drawn', r.page.overview], ['login request (scrypt)', r.page.loginRequest], ['first page (less typing)', r.page.firstPage], ['returning, session open', r.page.returning]] as const) {
      process.stdout.write(`browser: ${name.padEnd(31)} p50 ${t.p50.toFixed(0).padStart(5)} ms  p95 ${t.p95.toFixed(0).padStart(5)} ms  max ${t.max.toFixed(0)} ms (${r.page.runs} runs)\n`);
    }
  }
}
