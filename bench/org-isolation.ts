// Two organisations on one real collector process: does one of them flooding - up to its
// dumps/s quota and beyond - change the other's ack latency? The quiet organisation ("default",
// no quota) has one agent uploading a 200-packet dump every 100 ms, one at a time, and the time
// from upload sent to ack received is measured. Phase 1: the other organisation ("flood",
// quota `dumpsPerSec`) is idle. Phase 2: its agents upload, together, at 90 % of its quota
// (flooding within it). Phase 3: they upload as fast as the collector answers - a refused
// upload sent again at once, no backoff (worse than real agents) - so its quota refuses the
// excess (retryable `busy` nacks, counted). Prints the quiet organisation's p50/p95/max in
// each phase and the flood organisation's accepted and refused dumps. Alert latency too: the
// quiet organisation has a threat-intel feed (its own org.json `analyzers`) listing addresses,
// and in each phase its agent uploads, about every second, a dump one of whose packets goes to
// a listed address not seen before (so each sample is a new alert row); the time from upload
// sent to the row visible in the organisation's database (read-only poll every 20 ms).
// `npm run bench` includes it; alone: npx tsx bench/org-isolation.ts [samples] [flood agents] [quota] [alert samples]
import Database from 'better-sqlite3';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { loadOrgCa } from '../certs/org-ca.js';
import { openCollectorState } from '../collector/orgs/collector-state.js';
import { orgPaths } from '../collector/orgs/org-paths.js';
import { createOrganisation } from '../collector/orgs/provision.js';
import { DumpWriter } from '../shared/dump/dump-writer.js';
import { parseIp } from '../shared/net/ip-address.js';
import { Direction, PacketRecord } from '../shared/packet/packet-record.js';
import { DEFAULT_ORG } from '../shared/orgs/org-id.js';
import { CollectorProcess } from '../test/helpers/processes.js';
import { RawAgent } from '../test/helpers/raw-agent.js';
import { issueAgent, makeDump, makeTestPki, referenceRecords, tmpDir, type TestPki } from '../test/helpers/transport-rig.js';

export interface LatencyFigures { p50Ms: number; p95Ms: number; maxMs: number; samples: number }
export interface FloodFigures { accepted: number; refused: number; seconds: number }
export interface OrgIsolationResult {
  quota: number;
  floodAgents: number;
  idle: LatencyFigures;
  within: LatencyFigures & { flood: FloodFigures };
  beyond: LatencyFigures & { flood: FloodFigures };
  /** the quiet organisation's alert latency (upload sent -> new alert row visible) per phase */
  alerts: { idle: LatencyFigures; within: LatencyFigures; beyond: LatencyFigures };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function connect(port: number, tp: TestPki): Promise<RawAgent> {
  const creds = issueAgent(tp);
  const a = await RawAgent.connect(port, creds);
  await a.next('welcome');
  (a as RawAgent & { id: string }).id = creds.agentId;
  return a;
}

/** The quiet agent: `n` uploads one at a time, every 100 ms; ack latency of each. */
async function quietRun(a: RawAgent, id: string, from: number, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const seq = from + i;
    const dump = makeDump(id, seq, i * 7);
    const t0 = performance.now();
    a.upload(seq, dump);
    await a.next('ack', 30_000);
    out.push(performance.now() - t0);
    await sleep(100);
  }
  return out;
}

/** A 200-packet dump like makeDump's whose first packet goes out to `listed` (a fresh copy: the reference records are shared). */
function listedDump(agentId: string, seq: number, start: number, listed: string): Uint8Array {
  const recs = referenceRecords();
  const w = new DumpWriter({ agentId, anonKeyId: '0123456789abcdef', snapLen: 0 });
  for (let i = 0; i < 200; i++) {
    const r = recs[(start + i) % recs.length]!;
    if (i > 0 || r.ipVersion !== 4) { w.add(r); continue; }
    const hit = new PacketRecord().copyFrom(r);
    hit.dst.set(parseIp(listed).bytes);
    hit.direction = Direction.Out;
    w.add(hit);
  }
  return w.finish(seq);
}

/** Listed addresses (documentation range: nothing is sent anywhere, they only appear in dumps). */
const listedAddr = (i: number): string => `198.51.100.${1 + i}`;

/**
 * The quiet agent's alert samples: every ~1 s a dump with a packet to listed address `first + i`
 * (a new alert row each); the time from upload sent until that row is visible in the database.
 */
async function alertRun(a: RawAgent, id: string, db: Database.Database, from: number, first: number, n: number): Promise<number[]> {
  const seen = db.prepare(`SELECT 1 FROM alerts WHERE category = 'threat-intel' AND peer = ? LIMIT 1`);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const peer = listedAddr(first + i);
    const t0 = performance.now();
    a.upload(from + i, listedDump(id, from + i, i * 7, peer));
    const ack = a.next('ack', 30_000);
    ack.catch(() => undefined); // awaited below; not an unhandled rejection if the poll gives up first
    let lat: number | undefined;
    while (lat === undefined) {
      if (seen.get(peer) !== undefined) lat = performance.now() - t0;
      else if (performance.now() - t0 > 30_000) throw new Error(`no alert for ${peer} within 30 s`);
      else await sleep(20);
    }
    await ack;
    out.push(lat);
    await sleep(Math.max(0, 1000 - (performance.now() - t0)));
  }
  return out;
}

interface FloodCount { acked: number; refused: number }

/** A flooding agent: upload, wait for the answer, again (every `everyMs` at most) - until stopped. */
async function flood(a: RawAgent, id: string, firstSeq: number, everyMs: number, stop: () => boolean, count: FloodCount): Promise<number> {
  let seq = firstSeq;
  let epoch = 0;
  while (!stop()) {
    const t0 = performance.now();
    // a dump sent again after a retryable nack carries the next epoch (docs/protocol.md)
    a.upload(seq, makeDump(id, seq, seq * 3), epoch);
    for (;;) {
      const m = await a.next(undefined, 30_000);
      if (m.type === 'ack') { count.acked++; seq++; epoch = 0; break; }
      if (m.type === 'nack') { count.refused++; epoch = (epoch + 1) & 0xffff; break; }
    }
    const left = everyMs - (performance.now() - t0);
    if (left > 0) await sleep(left);
  }
  return seq;
}

function figures(xs: number[]): LatencyFigures {
  return { p50Ms: pct(xs, 50), p95Ms: pct(xs, 95), maxMs: Math.max(...xs), samples: xs.length };
}

export async function benchOrgIsolation(o: { samples?: number; floodAgents?: number; quota?: number; alertSamples?: number } = {}): Promise<OrgIsolationResult> {
  const SAMPLES = Math.min(o.samples ?? 100, 400); // the quiet agent's sequence ranges below leave room for 400 a phase
  const ALERT_SAMPLES = Math.min(o.alertSamples ?? 8, 60); // listed addresses: 198.51.100.1 up to .180
  const FLOOD_AGENTS = o.floodAgents ?? 6;
  const QUOTA = o.quota ?? 40;
  const root = tmpDir('org-isolation');
  const stateDir = join(root, 'state');
  mkdirSync(stateDir);
  const tp = makeTestPki(root, ['localhost'], ['127.0.0.1'], { stateDir });
  const state = openCollectorState({ stateDir, pkiDir: tp.dir });
  createOrganisation(state, { id: 'flood', actor: 'bench', caBits: 2048 });
  state.close();
  writeFileSync(orgPaths(stateDir, 'flood').config, JSON.stringify({ quotas: { dumpsPerSec: QUOTA } }));
  // the quiet organisation's own threat-intel feed; the flood organisation has none
  const feed = join(root, 'quiet-feed.txt');
  writeFileSync(feed, Array.from({ length: 3 * ALERT_SAMPLES }, (_, i) => listedAddr(i)).join('\n') + '\n');
  const quietPaths = orgPaths(stateDir, DEFAULT_ORG);
  mkdirSync(quietPaths.dir, { recursive: true });
  writeFileSync(quietPaths.config, JSON.stringify({ analyzers: [{ builtin: 'threat-intel', config: { feeds: [{ name: 'bench-list', path: feed, severity: 'high' }] } }] }));
  const floodTp: TestPki = { ...tp, org: { ...tp.org!, id: 'flood', ca: loadOrgCa(tp.dir, 'flood') } };
  const col = await CollectorProcess.start(join(root, 'collector.json'), { stateDir, pkiDir: tp.dir, logLevel: 'warn' });
  let db: Database.Database | undefined;
  try {
    const quiet = await connect(col.port, tp);
    const qid = (quiet as RawAgent & { id: string }).id;
    await quietRun(quiet, qid, 1, 20); // warm-up
    db = new Database(quietPaths.db, { readonly: true, fileMustExist: true });
    const qdb = db;
    const idle = await quietRun(quiet, qid, 100, SAMPLES);
    const idleAlerts = await alertRun(quiet, qid, qdb, 500, 0, ALERT_SAMPLES);
    const floods = await Promise.all(Array.from({ length: FLOOD_AGENTS }, () => connect(col.port, floodTp)));
    const seqs = floods.map(() => 1);
    /** The quiet organisation's samples while the flood organisation's agents upload every `everyMs`. */
    const phase = async (everyMs: number, quietFrom: number, firstListed: number): Promise<{ lat: number[]; alerts: number[]; count: FloodCount; secs: number }> => {
      let stopped = false;
      const count = { acked: 0, refused: 0 };
      const t0 = performance.now();
      const running = floods.map((a, i) => flood(a, (a as RawAgent & { id: string }).id, seqs[i]!, everyMs, () => stopped, count));
      await sleep(2000); // past the quota's burst
      const lat = await quietRun(quiet, qid, quietFrom, SAMPLES);
      const alerts = await alertRun(quiet, qid, qdb, quietFrom + 500, firstListed, ALERT_SAMPLES);
      stopped = true;
      (await Promise.all(running)).forEach((next, i) => { seqs[i] = next; });
      return { lat, alerts, count, secs: (performance.now() - t0) / 1000 };
    };
    const within = await phase((1000 * FLOOD_AGENTS) / (QUOTA * 0.9), 1000, ALERT_SAMPLES);
    const beyond = await phase(0, 5000, 2 * ALERT_SAMPLES);
    for (const a of [quiet, ...floods]) a.close();
    const flooding = (r: { count: FloodCount; secs: number }): FloodFigures => ({ accepted: r.count.acked, refused: r.count.refused, seconds: r.secs });
    return {
      quota: QUOTA, floodAgents: FLOOD_AGENTS, idle: figures(idle),
      within: { ...figures(within.lat), flood: flooding(within) }, beyond: { ...figures(beyond.lat), flood: flooding(beyond) },
      alerts: { idle: figures(idleAlerts), within: figures(within.alerts), beyond: figures(beyond.alerts) },
    };
  } finally {
    db?.close();
    await col.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

// `npx tsx bench/org-isolation.ts [samples] [flood agents] [quota] [alert samples]`
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [samples, agents, quota, alertSamples] = process.argv.slice(2).map(Number);
  benchOrgIsolation({ ...(samples ? { samples } : {}), ...(agents ? { floodAgents: agents } : {}), ...(quota ? { quota } : {}), ...(alertSamples ? { alertSamples } : {}) }).then((r) => {
    const line = (name: string, x: LatencyFigures): string => `${name}: p50 ${x.p50Ms.toFixed(1)} ms, p95 ${x.p95Ms.toFixed(1)} ms, max ${x.maxMs.toFixed(1)} ms (${x.samples} dumps)`;
    const flood = (f: FloodFigures): string => `flood: ${f.accepted} accepted (${(f.accepted / f.seconds).toFixed(1)}/s), ${f.refused} refused by its quota (${(f.refused / f.seconds).toFixed(0)}/s)`;
    process.stdout.write([
      `organisation isolation: the quiet organisation's ack latency (upload -> ack, 200-packet dumps); the flood organisation has ${r.floodAgents} agents and a quota of ${r.quota} dumps/s`,
      `  ${line('flood organisation idle              ', r.idle)}`,
      `  ${line('flooding within its quota (90 %)     ', r.within)}  ${flood(r.within.flood)}`,
      `  ${line('flooding beyond it, resent at once   ', r.beyond)}  ${flood(r.beyond.flood)}`,
      `the quiet organisation's alert latency (upload of a dump with a packet to a newly listed address -> its alert row in the database)`,
      `  ${line('flood organisation idle              ', r.alerts.idle)}`,
      `  ${line('flooding within its quota (90 %)     ', r.alerts.within)}`,
      `  ${line('flooding beyond it, resent at once   ', r.alerts.beyond)}`,
    ].join('\n') + '\n');
  }, (e: unknown) => { process.stderr.write(String(e) + '\n'); process.exitCode = 1; });
}
