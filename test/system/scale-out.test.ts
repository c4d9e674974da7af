// Scale-out end to end with the real engines (docs/scale-out.md): a NATS JetStream server and a
// PostgreSQL cluster started here, two front-ends (the collector's real agent server publishing
// to JetStream) in this process and a third as a `meerkat-collector run --role frontend`
// process, two flow workers as `meerkat-collector run --role worker` processes, and agents
// uploading real dumps over mutual TLS, resending what is nacked or unacked as the shipper does.
// During the uploads a worker, the front-end process and the NATS server are killed with SIGKILL
// in turn (NATS is restarted), then PostgreSQL is stopped as by a crash and restarted; afterwards every dump is stored exactly once and the flow records
// equal those of the single-process SQLite path fed the same dumps. A command given to one
// front-end reaches an agent connected to another; the agents' heartbeat watermarks end idle
// flows through the stream as the single process ends them.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import { SqliteFlowStore } from '../../shared/store/sqlite-flow-store.js';
import { openPgPool } from '../../shared/store/postgres/pg-connect.js';
import { PgFlowStore } from '../../shared/store/postgres/pg-flow-store.js';
import { DumpIngest } from '../../collector/import/dump-ingest.js';
import { startFrontend, type Frontend } from '../../collector/scale/frontend.js';
import { scaleOutSchema } from '../../collector/scale/scale-config.js';
import { partitionOf } from '../../collector/scale/dump-stream.js';
import { collectorServerConfigSchema } from '../../collector/server/server-config.js';
import { logger } from '../../shared/log.js';
import { RawAgent } from '../helpers/raw-agent.js';
import { issueAgent, makeDump, makeTestPki, metricFromText, referenceRecords, tmpDir, waitFor, type AgentCreds } from '../helpers/transport-rig.js';
import { freePort, waitExit, waitHttpOk } from '../helpers/processes.js';
import { collectorProgramArgs } from '../helpers/node-script.js';
import { startPgCluster, type PgCluster } from '../helpers/pg-cluster.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';

const PACKETS_PER_DUMP = 60;

/** A `meerkat-collector run --role <role>` child, up once its ops port answers. */
class RoleProcess {
  stderr = '';
  constructor(readonly proc: ChildProcess) {
    proc.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString(); });
  }

  static async start(role: 'worker' | 'frontend', cfgFile: string, cfg: Record<string, unknown>): Promise<RoleProcess> {
    const adminPort = await freePort();
    writeFileSync(cfgFile, JSON.stringify({ ...cfg, ops: `127.0.0.1:${adminPort}` }));
    const w = new RoleProcess(spawn(process.execPath, [...collectorProgramArgs(), 'run', '--role', role, '--config', cfgFile], { stdio: ['ignore', 'pipe', 'pipe'] }));
    await waitHttpOk(`http://127.0.0.1:${adminPort}/healthz`, 30_000, w.proc, () => w.stderr.slice(-3000));
    return w;
  }

  lines(): Array<Record<string, unknown>> {
    return this.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

/** A flow record without what differs between two builds of the same packets (the engine's random uid prefix). */
function comparable(r: FlowRecord): string {
  const { uid: _uid, ...rest } = r;
  return JSON.stringify(rest, Object.keys(rest).sort());
}

function multiset(records: readonly FlowRecord[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of records) m.set(comparable(r), (m.get(comparable(r)) ?? 0) + 1);
  return m;
}

describe('scale-out: front-ends, flow workers, JetStream, PostgreSQL (system)', function () {
  this.timeout(240_000);
  let root: string;
  let pgc: PgCluster | undefined;
  let nats: NatsServer | undefined;
  const frontends: Frontend[] = [];
  const workers: RoleProcess[] = [];
  let feProc: RoleProcess | undefined;

  before(async () => {
    root = tmpDir('scaleout');
    pgc = await startPgCluster();
    nats = await startNatsServer();
  });

  after(async () => {
    for (const f of frontends) await f.stop().catch(() => undefined);
    for (const w of [...workers, ...(feProc ? [feProc] : [])]) { w.proc.kill('SIGKILL'); await waitExit(w.proc).catch(() => undefined); }
    await nats?.stop();
    pgc?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('stores every dump once and the same flows as one SQLite process, through a worker, a front-end and NATS killed mid-stream; commands cross front-ends', async () => {
    const tp = makeTestPki(root);
    const scaleOut = { natsUrl: nats!.url, natsCredsFile: nats!.credsFile, pgUrl: pgc!.url, pgPasswordFile: pgc!.passwordFile, partitions: 4, rebalanceMs: 300 };
    // a threat feed: every front-end builds the watchlist from it and pushes it to its agents
    const feed = join(root, 'bad-ips.txt');
    writeFileSync(feed, '203.0.113.66\n');
    // the operators' API of the front-ends is tested in scale-out-api.test.ts (here three front-ends would share its default port)
    const base = { pkiDir: tp.dir, logLevel: 'info', api: 'off', scaleOut, analyzers: [{ builtin: 'threat-intel', config: { watch: false, feeds: [{ name: 'bad', path: feed }] } }] };
    workers.push(await RoleProcess.start('worker', join(root, 'w1.json'), { ...base, stateDir: join(root, 'w1'), scaleOut: { ...scaleOut, workerId: 'w1' } }));
    workers.push(await RoleProcess.start('worker', join(root, 'w2.json'), { ...base, stateDir: join(root, 'w2'), scaleOut: { ...scaleOut, workerId: 'w2' } }));
    const f3Port = await freePort();
    feProc = await RoleProcess.start('frontend', join(root, 'f3.json'), { ...base, stateDir: join(root, 'f3'), listen: `127.0.0.1:${f3Port}`, scaleOut: { ...scaleOut, workerId: 'f3' } });
    for (const id of ['f1', 'f2']) {
      const cfg = collectorServerConfigSchema.parse({ ...base, stateDir: join(root, id), listen: '127.0.0.1:0', ops: 'off' });
      frontends.push(await startFrontend(cfg, scaleOutSchema.parse({ ...scaleOut, workerId: id }), { log: logger(`frontend-${id}`), defaultMetrics: false }));
    }
    // both workers hold partitions before the uploads start
    await waitFor(() => workers.every((w) => w.lines().some((l) => l.msg === 'partition taken')), 20_000, 'both workers own partitions');

    // one agent per partition: whichever partitions a worker holds, agents upload to them
    const ids = new Map<number, string>();
    while (ids.size < scaleOut.partitions) {
      const id = randomUUID();
      if (!ids.has(partitionOf(id, scaleOut.partitions))) ids.set(partitionOf(id, scaleOut.partitions), id);
    }
    const agents: AgentCreds[] = [...ids.values()].map((agentId) => issueAgent(tp, { agentId }));
    const dumpsPerAgent = Math.floor(referenceRecords().length / PACKETS_PER_DUMP);
    const dumps = new Map(agents.map((a) => [a.agentId, Array.from({ length: dumpsPerAgent }, (_, s) => makeDump(a.agentId, s, s * PACKETS_PER_DUMP, PACKETS_PER_DUMP))]));
    // agents 0 and 1 on the in-process front-ends, 2 and 3 on the front-end process
    const ports = [frontends[0]!.server.port, frontends[1]!.server.port, f3Port, f3Port];
    const conns: RawAgent[] = await Promise.all(agents.map((a, i) => RawAgent.connect(ports[i]!, a)));
    for (const c of conns) await c.next('welcome');
    // the same watchlist from every front-end, the process too
    const lists = await Promise.all(conns.map((c) => c.next('watchlist')));
    assert.ok(lists[0]!.v4.length > 0, 'the listed address is in the watchlist');
    for (const l of lists) assert.deepEqual([l.version, l.v4], [lists[0]!.version, lists[0]!.v4]);
    let resends = 0;
    // an agent's epoch only grows (the collector refuses epochs up to a failed one on a connection)
    const epochs = agents.map(() => 0);
    /** Uploads dump s of agent i until acked: resends after a nack (new epoch) or on a new connection after a lost one. */
    const ship = async (i: number, s: number): Promise<void> => {
      for (let attempt = 0; attempt < 200; attempt++) {
        if (conns[i]!.closed) {
          // reconnect, to the in-process front-ends when the process is gone
          ports[i] = frontends[i % 2]!.server.port;
          try {
            conns[i] = await RawAgent.connect(ports[i]!, agents[i]!);
            await conns[i]!.next('welcome');
          } catch { await new Promise((r) => setTimeout(r, 200)); continue; }
        }
        try {
          conns[i]!.upload(s, dumps.get(agents[i]!.agentId)![s]!, epochs[i]!);
          for (;;) {
            const m = await conns[i]!.next(undefined, 20_000);
            if (m.type === 'ack' && m.seq === s) return;
            if (m.type === 'nack' && m.seq === s) break;
          }
        } catch { /* connection lost: reconnect and resend */ }
        resends++;
        epochs[i]!++;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`dump ${s} of agent ${i} never acked`);
    };

    // uploads, round-robin over the agents; a worker, the front-end process and NATS die in turn
    const events: Record<number, () => Promise<void>> = {
      [Math.floor(dumpsPerAgent / 4)]: async () => { workers[0]!.proc.kill('SIGKILL'); await waitExit(workers[0]!.proc); },
      [Math.floor(dumpsPerAgent / 2)]: async () => { feProc!.proc.kill('SIGKILL'); await waitExit(feProc!.proc); },
      [Math.floor((3 * dumpsPerAgent) / 4)]: async () => {
        nats!.kill();
        await waitFor(() => frontends[0]!.server.health().reasons.some((r) => r.includes('NATS disconnected')), 10_000, 'the front-end reports NATS down');
        // uploads go on meanwhile and are nacked until NATS is back
        setTimeout(() => { void nats!.restart(); }, 1500);
      },
      [Math.floor((7 * dumpsPerAgent) / 8)]: async () => {
        // PostgreSQL crashes: front-ends nack (their duplicate check fails), the worker loses its
        // leases and partitions; all comes back when it restarts
        pgc!.kill();
        setTimeout(() => pgc!.restart(), 1500);
      },
    };
    for (let s = 0; s < dumpsPerAgent; s++) {
      await events[s]?.();
      await Promise.all(agents.map((_, i) => ship(i, s)));
    }
    assert.ok(resends > 0, 'the failures made agents resend');
    // (the storage nacks of the last minute keep it degraded a while, as on the single process)
    await waitFor(() => !frontends[0]!.server.health().reasons.some((r) => r.includes('NATS')), 10_000, 'the front-end sees NATS back');
    const metrics = await frontends[0]!.server.metrics.registry.metrics();
    assert.ok(metricFromText(metrics, 'meerkat_frontend_dumps_published_total', { org: 'default', result: 'stored' }) >= dumpsPerAgent, 'published dumps counted per organisation');
    assert.equal(metricFromText(metrics, 'meerkat_frontend_uploads_refused_total', { org: 'default', reason: 'quota' }), 0);

    // a command given to f1 reaches an agent connected to f2 (agents 1 and 3 are on f2)
    const onF2 = agents[1]!.agentId;
    assert.equal(ports[1], frontends[1]!.server.port);
    await waitFor(async () => (await frontends[0]!.relay.agents()).length === agents.length, 10_000, 'every agent listed by presence').catch(async (e) => { console.error(JSON.stringify(await frontends[0]!.relay.agents()), frontends.map((f) => f.server.connectedAgents())); throw e; });
    assert.equal(frontends[0]!.server.connectedAgents().includes(onF2), false);
    assert.equal(await frontends[0]!.relay.sendCommand(onF2, 'cmd-across', { op: 'status' }), true);
    const cmd = await conns[1]!.next('command', 10_000);
    assert.equal(cmd.id, 'cmd-across');
    assert.deepEqual(cmd.command, { op: 'status' });
    assert.equal(await frontends[0]!.relay.sendCommand('no-such-agent', 'x', {}), false);

    // the surviving worker commits everything, then stops (writing out the open flows)
    const pool = openPgPool({ url: pgc!.url, passwordFile: pgc!.passwordFile });
    const store = await PgFlowStore.open(pool, 'default');
    const total = agents.length * dumpsPerAgent;
    await waitFor(async () => (await store.countDumps()) === total, 60_000, `all ${total} dumps committed`).catch((e: Error) => {
      throw new Error(`${e.message}; the worker's last lines: ${workers[1]!.stderr.split('\n').filter((l) => !l.includes('"level":30')).slice(-8).join('\n')}`);
    });
    // the same dumps through the single-process SQLite path, then the agents' watermark (as the
    // single process applies a heartbeat with an empty spool), then the end of every open flow
    const watermarkUs = referenceRecords()[referenceRecords().length - 1]!.tsUs + 3_600_000_000;
    const sqlite = new SqliteFlowStore(join(root, 'single.db'));
    const ingest = new DumpIngest(sqlite);
    for (const a of agents) for (let s = 0; s < dumpsPerAgent; s++) ingest.ingest(dumps.get(a.agentId)![s]!, { receivedUs: Date.now() * 1000 });
    for (const a of agents) ingest.advanceAgent(a.agentId, watermarkUs - 1_000_000);
    const beforeFlush = sqlite.countFlows();
    ingest.flushAll();
    const single = sqlite.queryFlows({ order: 'asc' });
    sqlite.close();

    // heartbeats with an empty spool: the watermark goes through the stream to the worker, which
    // writes out the flows it ends (before the stop, which would end them as 'flush')
    for (const c of conns) c.sendRaw(JSON.stringify({ type: 'heartbeat', ts: Date.now(), health: { spoolFiles: 0, packetTimeUs: watermarkUs } }));
    await waitFor(async () => (await store.countFlows()) === beforeFlush, 30_000, `the watermark's flows written (${beforeFlush})`);
    workers[1]!.proc.kill('SIGTERM');
    assert.equal(await waitExit(workers[1]!.proc, 30_000), 0);
    // the survivor took over the dead worker's partitions and rebuilt their flow state by replay
    const taken = workers[1]!.lines().filter((l) => l.msg === 'partition taken');
    assert.ok(taken.some((l) => (l.replayDumps as number) > 0), `a partition was rebuilt by replay: ${JSON.stringify(taken)}; the killed worker: ${JSON.stringify(workers[0]!.lines().filter((l) => String(l.msg).includes('partition') || (l.level as number) >= 40))}`);

    // every dump once
    for (const a of agents) {
      assert.equal(await store.countDumps(a.agentId), dumpsPerAgent, `dumps of ${a.agentId}`);
      for (let s = 0; s < dumpsPerAgent; s++) assert.equal(await store.hasDump(a.agentId, s), true);
    }
    const scaled = await store.queryFlows({ order: 'asc' });
    await store.close();
    await pool.end();

    assert.ok(single.length > 50, `the reference makes flows (${single.length})`);
    assert.equal(scaled.length, single.length, 'as many flow records as the single process');
    assert.deepEqual(multiset(scaled), multiset(single));
    for (const c of conns) c.ws.close();
  });
});
