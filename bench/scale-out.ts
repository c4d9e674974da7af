// Scale-out ingest benchmark (docs/scale-out.md "Measured"): the same simulated agents (real
// mutual-TLS connections, real dumps of the reference capture) upload the same dumps to
//   1. the single process on SQLite (agent server + flows in one process, the default path),
//   2. a front-end -> JetStream -> 1 flow worker -> PostgreSQL,
//   3. the same with 2 flow workers,
//   4. dumps published straight to the stream (no agents, no TLS) for 1, then 2 workers,
// all in one run on this machine. Throughput is wall clock from the first upload until every
// dump's flows are committed; CPU per dump is read per role from /proc (worker processes,
// nats-server, the PostgreSQL server processes; the front-end and the simulated agents share
// this process). Standalone: node dist/bench/scale-out.js [--agents=N] [--dumps=N per agent] [--packets=N per dump] [--json].
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteFlowStore } from '../shared/store/sqlite-flow-store.js';
import { openPgPool } from '../shared/store/postgres/pg-connect.js';
import { PgFlowStore } from '../shared/store/postgres/pg-flow-store.js';
import { DumpIngest } from '../collector/import/dump-ingest.js';
import { CollectorServer } from '../collector/server/collector-server.js';
import { startFrontend } from '../collector/scale/frontend.js';
import { PgOrgRecords } from '../collector/scale/org-records.js';
import { scaleOutSchema } from '../collector/scale/scale-config.js';
import { collectorServerConfigSchema } from '../collector/server/server-config.js';
import { JetStreamCommitter } from '../collector/scale/jetstream-committer.js';
import { connectNats } from '../collector/scale/nats-connect.js';
import { readDumpHeader } from '../shared/dump/dump-header.js';
import { logger, setLogLevel } from '../shared/log.js';
import { RawAgent } from '../test/helpers/raw-agent.js';
import { issueAgent, makeDump, makeTestPki, tmpDir, type AgentCreds, type TestPki } from '../test/helpers/transport-rig.js';
import { collectorCliArgs, freePort, waitExit, waitHttpOk } from '../test/helpers/processes.js';
import { startPgCluster, type PgCluster } from '../test/helpers/pg-cluster.js';
import { startNatsServer, type NatsServer } from '../test/helpers/nats-server.js';

export interface ScaleOutRun {
  name: string;
  dumps: number;
  packets: number;
  seconds: number;
  dumpsPerSec: number;
  packetsPerSec: number;
  /** CPU ms per dump by role */
  cpuMsPerDump: Record<string, number>;
  /** scale-out: mean dumps per commit transaction */
  dumpsPerCommit?: number;
}

const TICK_MS = 10; // clock ticks of /proc/<pid>/stat are 1/100 s on Linux

function cpuMsOf(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch { /* exited */ }
  }
  return ticks * TICK_MS;
}

function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Every agent uploads its dumps one after the other (each waits for its ack); agents run side by side. */
async function upload(ports: readonly number[], agents: readonly AgentCreds[], dumps: ReadonlyMap<string, Uint8Array[]>): Promise<void> {
  const conns = await Promise.all(agents.map((a, i) => RawAgent.connect(ports[i % ports.length]!, a)));
  await Promise.all(conns.map((c) => c.next('welcome')));
  await Promise.all(agents.map(async (a, i) => {
    const list = dumps.get(a.agentId)!;
    for (let s = 0; s < list.length; s++) {
      conns[i]!.upload(s, list[s]!);
      const ack = await conns[i]!.next('ack', 60_000);
      if (ack.seq !== s || ack.dup) throw new Error(`agent ${a.agentId}: unexpected ack ${JSON.stringify(ack)}`);
    }
  }));
  for (const c of conns) c.ws.close();
}

async function waitUntil(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function runSqlite(root: string, tp: TestPki, agents: readonly AgentCreds[], dumps: ReadonlyMap<string, Uint8Array[]>, total: number, packets: number): Promise<ScaleOutRun> {
  const store = new SqliteFlowStore(join(root, 'single', 'meerkat.db'));
  const ingest = new DumpIngest(store);
  const server = await CollectorServer.start({
    pkiDir: tp.dir, stateDir: join(root, 'single'), listen: { host: '127.0.0.1', port: 0 }, ops: false, defaultMetrics: false, store,
    limits: { maxAgents: 10_000 },
    onDumpCommitted: (agentId, _h, bytes) => { ingest.buildFlows(agentId, bytes); },
  });
  const cpu0 = selfCpuMs();
  const t0 = performance.now();
  await upload([server.port], agents, dumps);
  await waitUntil(async () => store.countDumps() === total && store.dumpsPendingFlows(1).length === 0, 120_000, 'all dumps built');
  const seconds = (performance.now() - t0) / 1000;
  const cpu = selfCpuMs() - cpu0;
  await server.close();
  store.close();
  return { name: 'single process, SQLite', dumps: total, packets, seconds, dumpsPerSec: total / seconds, packetsPerSec: packets / seconds, cpuMsPerDump: { 'collector + simulated agents': cpu / total } };
}

interface WorkerChild {
  proc: ChildProcess;
  opsPort: number;
}

/** Sums a worker metric over its series (all partitions). */
async function workerMetric(w: WorkerChild, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${w.opsPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

/** Mean dumps per commit transaction of the workers (read before they stop). */
async function meanGroup(ws: readonly WorkerChild[]): Promise<number> {
  let dumps = 0;
  let commits = 0;
  for (const w of ws) {
    dumps += await workerMetric(w, 'meerkat_worker_dumps_committed');
    commits += await workerMetric(w, 'meerkat_worker_commits');
  }
  return commits > 0 ? dumps / commits : 0;
}

async function startWorker(root: string, name: string, cfg: Record<string, unknown>): Promise<WorkerChild> {
  const admin = await freePort();
  const file = join(root, `${name}.json`);
  writeFileSync(file, JSON.stringify({ ...cfg, stateDir: join(root, name), ops: `127.0.0.1:${admin}`, logLevel: 'warn' }));
  const p = spawn(process.execPath, [...collectorCliArgs(), 'run', '--role', 'worker', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-3000); });
  await waitHttpOk(`http://127.0.0.1:${admin}/healthz`, 30_000, p, () => err);
  return { proc: p, opsPort: admin };
}

async function runScaleOut(root: string, tp: TestPki, pgc: PgCluster, nats: NatsServer, workers: number, agents: readonly AgentCreds[],
  dumps: ReadonlyMap<string, Uint8Array[]>, total: number, packets: number): Promise<ScaleOutRun> {
  // a fresh organisation per run: its own partitions, consumers and schema
  const org = `bench${workers}`;
  const scaleOut = { natsUrl: nats.url, natsCredsFile: nats.credsFile, pgUrl: pgc.url, pgPasswordFile: pgc.passwordFile, partitions: 8, orgs: [org], rebalanceMs: 300 };
  const ws: WorkerChild[] = [];
  for (let i = 0; i < workers; i++) ws.push(await startWorker(root, `${org}-w${i}`, { pkiDir: tp.dir, scaleOut: { ...scaleOut, workerId: `${org}-w${i}` } }));
  const procs = ws.map((w) => w.proc);
  const fcfg = collectorServerConfigSchema.parse({ pkiDir: tp.dir, stateDir: join(root, `${org}-f`), listen: '127.0.0.1:0', ops: 'off', api: 'off', limits: { maxAgents: 10_000 } });
  // the simulated agents' certificates come from the test root: the run's organisation is one the root signs for (as `default` is)
  const orgPool = openPgPool({ url: pgc.url, passwordFile: pgc.passwordFile, max: 1 });
  try {
    const records = await PgOrgRecords.open(orgPool);
    // the root signs for one organisation only: the previous run's gives way to this one
    await orgPool.query('DELETE FROM meerkat.agent_orgs WHERE org IN (SELECT id FROM meerkat.orgs WHERE legacy_root AND id <> $1)', [org]);
    await orgPool.query('DELETE FROM meerkat.orgs WHERE legacy_root AND id <> $1', [org]);
    await records.put({ id: org, name: `bench ${org}`, legacyRoot: true, caCerts: [] }, { onlyIfMissing: true });
  } finally {
    await orgPool.end();
  }
  const fe = await startFrontend(fcfg, scaleOutSchema.parse({ ...scaleOut, workerId: `${org}-f`, orgDumpsPerSec: 1e6, orgDumpsBurst: 1e6 }), { log: logger('bench-frontend'), defaultMetrics: false });
  const pool = openPgPool({ url: pgc.url, passwordFile: pgc.passwordFile, max: 2 });
  const store = await PgFlowStore.open(pool, org);
  // partitions spread over the workers before the clock starts
  await new Promise((r) => setTimeout(r, 1500));
  const natsPid = nats.pid();
  const pidsNow = (): { w: number[]; n: number[]; pg: number[] } => ({ w: procs.map((p) => p.pid!), n: natsPid ? [natsPid] : [], pg: pgc.pids() });
  const p0 = pidsNow();
  const c0 = { w: cpuMsOf(p0.w), n: cpuMsOf(p0.n), pg: cpuMsOf(p0.pg), self: selfCpuMs() };
  const t0 = performance.now();
  await upload([fe.server.port], agents, dumps);
  await waitUntil(async () => (await store.countDumps()) === total, 300_000, 'all dumps committed');
  const seconds = (performance.now() - t0) / 1000;
  const p1 = pidsNow();
  const c1 = { w: cpuMsOf(p1.w), n: cpuMsOf(p1.n), pg: cpuMsOf(p1.pg), self: selfCpuMs() };
  const group = await meanGroup(ws);
  await fe.stop();
  for (const p of procs) { p.kill('SIGTERM'); await waitExit(p, 30_000).catch(() => p.kill('SIGKILL')); }
  await store.close();
  await pool.end();
  return {
    name: `front-end -> JetStream -> ${workers} worker${workers > 1 ? 's' : ''} -> PostgreSQL`,
    dumps: total, packets, seconds, dumpsPerSec: total / seconds, packetsPerSec: packets / seconds, dumpsPerCommit: group,
    cpuMsPerDump: {
      'flow workers': (c1.w - c0.w) / total,
      'nats-server': (c1.n - c0.n) / total,
      'PostgreSQL': (c1.pg - c0.pg) / total,
      'front-end + simulated agents': (c1.self - c0.self) / total,
    },
  };
}

/**
 * Worker scaling without agents or front-end: 1 or 2 workers are started and given time to
 * share the partitions, then the dumps are published straight to the stream as fast as
 * JetStream takes them, and the time until PostgreSQL holds them all is measured.
 */
async function runDrain(root: string, tp: TestPki, pgc: PgCluster, nats: NatsServer, workers: number, agents: readonly AgentCreds[],
  dumps: ReadonlyMap<string, Uint8Array[]>, total: number, packets: number): Promise<ScaleOutRun> {
  const org = `drain${workers}`;
  const scaleOut = { natsUrl: nats.url, natsCredsFile: nats.credsFile, pgUrl: pgc.url, pgPasswordFile: pgc.passwordFile, partitions: 8, orgs: [org], rebalanceMs: 300 };
  const pool = openPgPool({ url: pgc.url, passwordFile: pgc.passwordFile, max: 2 });
  const store = await PgFlowStore.open(pool, org);
  const ws: WorkerChild[] = [];
  for (let i = 0; i < workers; i++) ws.push(await startWorker(root, `${org}-w${i}`, { pkiDir: tp.dir, scaleOut: { ...scaleOut, workerId: `${org}-w${i}` } }));
  const procs = ws.map((w) => w.proc);
  await new Promise((r) => setTimeout(r, 2000));
  const nc = await connectNats(scaleOut, 'bench-publisher');
  const committer = new JetStreamCommitter({ js: nc.jetstream(), partitions: 8, orgOf: () => org, storeOf: () => store, quota: { perSec: 1e9, burst: 1e9 } });
  const natsPid = nats.pid();
  const pidsW = procs.map((p) => p.pid!);
  const c0 = { w: cpuMsOf(pidsW), n: cpuMsOf(natsPid ? [natsPid] : []), pg: cpuMsOf(pgc.pids()) };
  const t0 = performance.now();
  await Promise.all(agents.map(async (a) => {
    for (const d of dumps.get(a.agentId)!) await committer.commit(a.agentId, readDumpHeader(d), d, Date.now());
  }));
  await waitUntil(async () => (await store.countDumps()) === total, 300_000, 'all dumps committed');
  const seconds = (performance.now() - t0) / 1000;
  const c1 = { w: cpuMsOf(pidsW), n: cpuMsOf(natsPid ? [natsPid] : []), pg: cpuMsOf(pgc.pids()) };
  const group = await meanGroup(ws);
  await nc.close();
  for (const p of procs) { p.kill('SIGTERM'); await waitExit(p, 30_000).catch(() => p.kill('SIGKILL')); }
  await store.close();
  await pool.end();
  return {
    name: `published straight to JetStream -> ${workers} worker${workers > 1 ? 's' : ''} -> PostgreSQL`,
    dumps: total, packets, seconds, dumpsPerSec: total / seconds, packetsPerSec: packets / seconds, dumpsPerCommit: group,
    cpuMsPerDump: { 'flow workers': (c1.w - c0.w) / total, 'nats-server': (c1.n - c0.n) / total, 'PostgreSQL': (c1.pg - c0.pg) / total },
  };
}

export async function benchScaleOut(opts: { agents?: number; dumpsPerAgent?: number; packetsPerDump?: number } = {}): Promise<ScaleOutRun[]> {
  const nAgents = opts.agents ?? 40;
  const perAgent = opts.dumpsPerAgent ?? 8;
  const ppd = opts.packetsPerDump ?? 200;
  // the roles' start-up and refusal lines would bury the figures
  setLogLevel('warn');
  const root = tmpDir('bench-scaleout');
  const pgc = await startPgCluster();
  const nats = await startNatsServer();
  try {
    const tp = makeTestPki(root);
    const agents = Array.from({ length: nAgents }, () => issueAgent(tp));
    const dumps = new Map(agents.map((a) => [a.agentId, Array.from({ length: perAgent }, (_, s) => makeDump(a.agentId, s, s * ppd, ppd))]));
    const total = nAgents * perAgent;
    const packets = total * ppd;
    const runs: ScaleOutRun[] = [];
    runs.push(await runSqlite(root, tp, agents, dumps, total, packets));
    runs.push(await runScaleOut(root, tp, pgc, nats, 1, agents, dumps, total, packets));
    runs.push(await runScaleOut(root, tp, pgc, nats, 2, agents, dumps, total, packets));
    runs.push(await runDrain(root, tp, pgc, nats, 1, agents, dumps, total, packets));
    runs.push(await runDrain(root, tp, pgc, nats, 2, agents, dumps, total, packets));
    return runs;
  } finally {
    await nats.stop();
    pgc.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

/** Worker cores for `dumpsPerSec` from the measured CPU per dump of the workers (and of PostgreSQL, on its own machines). */
export function coresNeeded(run: ScaleOutRun, dumpsPerSec: number): { workers: number; postgres: number; nats: number } {
  return {
    workers: (run.cpuMsPerDump['flow workers']! * dumpsPerSec) / 1000,
    postgres: (run.cpuMsPerDump['PostgreSQL']! * dumpsPerSec) / 1000,
    nats: (run.cpuMsPerDump['nats-server']! * dumpsPerSec) / 1000,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string): number | undefined => {
    const a = process.argv.find((x) => x.startsWith(`--${name}=`));
    return a ? Number(a.slice(name.length + 3)) : undefined;
  };
  setLogLevel('warn');
  const agents = arg('agents');
  const dumpsPerAgent = arg('dumps');
  const packetsPerDump = arg('packets');
  benchScaleOut({ ...(agents ? { agents } : {}), ...(dumpsPerAgent ? { dumpsPerAgent } : {}), ...(packetsPerDump ? { packetsPerDump } : {}) }).then((runs) => {
    if (process.argv.includes('--json')) {
      process.stdout.write(JSON.stringify({ runs, coresFor833DumpsPerSec: coresNeeded(runs[1]!, 833) }, null, 2) + '\n');
      return;
    }
    for (const r of runs) {
      const cpu = Object.entries(r.cpuMsPerDump).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
      const group = r.dumpsPerCommit !== undefined ? `; ${r.dumpsPerCommit.toFixed(1)} dumps per commit` : '';
      process.stdout.write(`${r.name}: ${r.dumps} dumps (${r.packets} packets) in ${r.seconds.toFixed(2)} s = ${r.dumpsPerSec.toFixed(0)} dumps/s, ${r.packetsPerSec.toFixed(0)} packets/s; CPU ms/dump: ${cpu}${group}\n`);
    }
    const c = coresNeeded(runs[1]!, 833);
    process.stdout.write(`833 dumps/s (100,000 agents, one dump per 2 min): ${c.workers.toFixed(2)} worker cores, ${c.postgres.toFixed(2)} PostgreSQL cores, ${c.nats.toFixed(2)} NATS cores (from the 1-worker run)\n`);
  }).catch((e: unknown) => { process.stderr.write(`${(e as Error).stack ?? String(e)}\n`); process.exit(1); });
}
