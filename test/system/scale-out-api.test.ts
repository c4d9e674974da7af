// The operators' API on scale-out front-ends with the real engines (docs/scale-out.md "Operators'
// API on the front-ends"): NATS JetStream and PostgreSQL started here, two front-ends (A with its
// API on, B with it off) and a flow worker in this process, one agent connected to each front-end
// uploading real dumps over mutual TLS. The `meerkat` CLI (a real process with an operator
// certificate and signing key made by the real CLIs) pointed at A lists both agents, sends a
// signed dump-size command that reaches the agent on B and sees its result, and lists the flows
// the worker wrote, equal to the records in PostgreSQL, their summary (`meerkat top`) and the web
// console's overview; what A does not serve yet answers 501.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openPgPool } from '../../shared/store/postgres/pg-connect.js';
import { PgFlowStore } from '../../shared/store/postgres/pg-flow-store.js';
import { startFrontend, type Frontend } from '../../collector/scale/frontend.js';
import { startWorkerService, type WorkerService } from '../../collector/scale/worker-service.js';
import { scaleOutSchema } from '../../collector/scale/scale-config.js';
import { collectorServerConfigSchema } from '../../collector/server/server-config.js';
import { logger } from '../../shared/log.js';
import { RawAgent } from '../helpers/raw-agent.js';
import { makeDump, makeTestPki, tmpDir, waitFor } from '../helpers/transport-rig.js';
import { enrollAgent } from '../../agent/transport/enroll-client.js';
import { loadAgentIdentity } from '../../agent/transport/agent-identity.js';
import { freePort } from '../helpers/processes.js';
import { collectorProgramArgs, nodeScriptArgs } from '../helpers/node-script.js';
import { startPgCluster, type PgCluster } from '../helpers/pg-cluster.js';
import { AdminClient, AdminApiError } from '../../console/admin-client.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';

const MEERKAT = nodeScriptArgs('../../console/cli', import.meta.url);
const COLLECTOR = collectorProgramArgs();

interface Run { code: number | null; stdout: string; stderr: string }

/** A CLI as a child process (asynchronous: the test answers for the agent meanwhile). */
function run(args: string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MEERKAT_LOG_LEVEL: 'warn' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const t = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`${args.slice(-6).join(' ')}: no exit within ${timeoutMs} ms; ${stderr}`)); }, timeoutMs);
    p.on('exit', (code) => { clearTimeout(t); resolve({ code, stdout, stderr }); });
  });
}

function lines<T>(r: Run, what: string): T[] {
  assert.equal(r.code, 0, `${what} exited ${r.code}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T);
}

describe('scale-out: the operators\' API on the front-ends (system)', function () {
  this.timeout(120_000);
  let root: string;
  let pgc: PgCluster | undefined;
  let nats: NatsServer | undefined;
  const frontends: Frontend[] = [];
  let worker: WorkerService | undefined;
  const conns: RawAgent[] = [];

  before(async () => {
    root = tmpDir('scaleout-api');
    pgc = await startPgCluster();
    nats = await startNatsServer();
  });

  after(async () => {
    for (const c of conns) c.ws.terminate();
    for (const f of frontends) await f.stop().catch(() => undefined);
    await worker?.stop().catch(() => undefined);
    await nats?.stop();
    pgc?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('the CLI against one front-end lists every agent, commands an agent on another and lists the workers\' flows', async () => {
    const tp = makeTestPki(root);
    const scaleOut = { natsUrl: nats!.url, natsCredsFile: nats!.credsFile, pgUrl: pgc!.url, pgPasswordFile: pgc!.passwordFile, partitions: 2, rebalanceMs: 300 };
    const apiPort = await freePort();
    const cfgA = { pkiDir: tp.dir, stateDir: join(root, 'fa'), listen: '127.0.0.1:0', ops: 'off', api: `127.0.0.1:${apiPort}`, console: false, logLevel: 'warn', scaleOut };
    const cfgAFile = join(root, 'fa.json');
    writeFileSync(cfgAFile, JSON.stringify(cfgA));
    // the operator: a user of A's state with a certificate, and a signing key (the real CLIs)
    const op = join(root, 'operator');
    mkdirSync(cfgA.stateDir, { recursive: true });
    const add = await run([...COLLECTOR, 'user', 'add', 'alice', '--org', 'default', '--role', 'admin', '--cert-out', op, '--config', cfgAFile]);
    assert.equal(add.code, 0, add.stderr);
    const keys = await run([...MEERKAT, 'keys', 'operator-init', '--operator-dir', op, '--name', 'alice']);
    assert.equal(keys.code, 0, keys.stderr);

    worker = await startWorkerService(collectorServerConfigSchema.parse({ pkiDir: tp.dir, stateDir: join(root, 'w'), ops: 'off' }), scaleOutSchema.parse({ ...scaleOut, workerId: 'w' }), logger('worker'));
    frontends.push(await startFrontend(collectorServerConfigSchema.parse(cfgA), scaleOutSchema.parse({ ...scaleOut, workerId: 'fa' }), { log: logger('frontend-a'), defaultMetrics: false }));
    frontends.push(await startFrontend(collectorServerConfigSchema.parse({ ...cfgA, stateDir: join(root, 'fb'), api: 'off' }), scaleOutSchema.parse({ ...scaleOut, workerId: 'fb' }), { log: logger('frontend-b'), defaultMetrics: false }));
    const [a, b] = frontends as [Frontend, Frontend];
    assert.ok(a.control.api, 'A serves the API');
    assert.equal(b.control.api, null, 'B runs with its API port off');

    // one agent on each front-end, uploading the same real dumps
    // agents enroll as real ones do, with a token of the organisation in PostgreSQL (one on each front-end), so
    // every front-end knows their organisation (docs/scale-out.md "Organisations")
    const token = await a.records.createToken({ org: 'default', uses: 2, expiresInSec: 300, caFingerprint: tp.caFingerprint });
    const agents = await Promise.all([a, b].map(async (fe, i) => {
      const dir = join(root, `agent-${i}`);
      await enrollAgent({ collectorUrl: `https://localhost:${fe.server.port}`, token: token.token, stateDir: dir, keyBits: 2048 });
      const id = loadAgentIdentity(dir);
      return { agentId: id.agentId, key: id.keyPem, cert: id.certPem, ca: id.caPem };
    }));
    const dumps = 6;
    conns.push(await RawAgent.connect(a.server.port, agents[0]!), await RawAgent.connect(b.server.port, agents[1]!));
    for (const c of conns) await c.next('welcome');
    for (let s = 0; s < dumps; s++) {
      for (const [i, c] of conns.entries()) {
        c.upload(s, makeDump(agents[i]!.agentId, s, s * 80, 80));
        const m = await c.next('ack', 20_000);
        assert.equal(m.seq, s);
      }
    }

    const api = ['--api', `https://127.0.0.1:${apiPort}`, '--operator-dir', op];
    // every agent, from A: the one on B included, both online
    await waitFor(async () => (await a.relay.agents()).length === 2, 10_000, 'both agents in presence');
    const listed = lines<{ agentId: string; online: boolean }>(await run([...MEERKAT, 'agents', '--json', ...api]), 'meerkat agents');
    assert.deepEqual(listed.map((x) => [x.agentId, x.online]).sort(), agents.map((x) => [x.agentId, true]).sort());

    // a signed command submitted to A reaches the agent on B; its answer, recorded by B, is seen from A
    const onB = agents[1]!.agentId;
    const cli = run([...MEERKAT, 'dump-size', onB, '5000', '--wait', '30', '--json', ...api]);
    const cmd = await conns[1]!.next('command', 30_000);
    const env = cmd.command as { kind: string; agentId: string; params: { packets: number }; sig?: string };
    assert.deepEqual([env.kind, env.agentId, env.params.packets, typeof env.sig], ['capture.dump-size', onB, 5000, 'string']);
    conns[1]!.sendRaw(JSON.stringify({ type: 'command-result', id: cmd.id, ok: true, result: { status: 'done', kind: 'capture.dump-size', data: { packetsPerDump: 5000 } } }));
    const res = await cli;
    assert.equal(res.code, 0, `meerkat dump-size: ${res.stdout}\n${res.stderr}`);
    assert.match(res.stdout, /"state":\s*"done"/);
    const cmds = lines<{ id: string; state: string; agentId: string }>(await run([...MEERKAT, 'commands', '--json', ...api]), 'meerkat commands');
    assert.deepEqual(cmds.map((c) => [c.id, c.state, c.agentId]), [[cmd.id, 'done', onB]]);
    assert.equal(a.server.connectedAgents().includes(onB), false, 'the agent is on B, not A');
    const audit = await a.control.controls.get('default')!.audit.list({ commandId: cmd.id });
    const steps = audit.filter((e) => e.action.startsWith('command.'));
    assert.deepEqual(steps.map((e) => e.action), ['command.submit', 'command.deliver', 'command.result']);
    assert.equal(steps[2]!.actor, `agent:${onB}`);
    assert.ok(audit.some((e) => e.action === 'http POST /v1/orgs/default/commands' && e.actor === 'operator:alice'), 'the request itself audited with who sent it');

    // delivered, then the agent drops without an answer and comes back on A: it gets the command again there
    const sent = await run([...MEERKAT, 'dump-size', onB, '6000', '--json', ...api]);
    const queued = JSON.parse(sent.stdout) as { id: string };
    const first = await conns[1]!.next('command', 30_000);
    assert.equal(first.id, queued.id);
    conns[1]!.ws.terminate();
    await waitFor(() => !b.server.connectedAgents().includes(onB), 10_000, 'B sees the agent gone');
    conns[1] = await RawAgent.connect(a.server.port, agents[1]!);
    const again = await conns[1].next('command', 30_000);
    assert.equal(again.id, queued.id, 'delivered again on the new connection');
    conns[1].sendRaw(JSON.stringify({ type: 'command-result', id: again.id, ok: true, result: { status: 'done', kind: 'capture.dump-size', data: { packetsPerDump: 6000 } } }));
    const ended = await run([...MEERKAT, 'command', queued.id, '--wait', '20', '--json', ...api]);
    assert.equal(ended.code, 0, ended.stderr);
    assert.deepEqual(((o: { state: string; deliveries: number }) => [o.state, o.deliveries])(JSON.parse(ended.stdout) as { state: string; deliveries: number }), ['done', 2]);

    // the flows the worker wrote, through A, equal what PostgreSQL holds
    const pool = openPgPool({ url: pgc!.url, passwordFile: pgc!.passwordFile, max: 2 });
    try {
      const store = await PgFlowStore.open(pool, 'default');
      await waitFor(async () => (await store.countDumps()) === 2 * dumps, 30_000, 'every dump committed by the worker');
      await waitFor(async () => (await store.countFlows()) > 0, 30_000, 'flow records written');
      const stored = await store.queryFlows({});
      const viaA = lines<{ uid: string; record_seq: number; agent_id: string }>(await run([...MEERKAT, 'flows', '--json', '--all', ...api]), 'meerkat flows');
      const key = (r: { uid: string; record_seq: number; agent_id: string }): string => `${r.agent_id}/${r.uid}/${r.record_seq}`;
      assert.deepEqual(viaA.map(key).sort(), stored.map((r) => key(r)).sort());
      assert.ok(new Set(viaA.map((r) => r.agent_id)).size === 2, 'flows of both agents');
      // the flow summary (`meerkat top`) from the workers' schema
      const top = await run([...MEERKAT, 'top', '--json', '--since', '0', ...api]);
      assert.equal(top.code, 0, top.stderr);
      const summary = JSON.parse(top.stdout) as { records: number; talkers: unknown[] };
      assert.equal(summary.records, stored.length);
      assert.ok(summary.talkers.length > 0);
    } finally {
      await pool.end();
    }

    // the web console's overview and single alert, from the workers' schema (OrgViews on PostgreSQL)
    const client = AdminClient.fromOperatorDir(op, `https://127.0.0.1:${apiPort}`);
    const o = await client.get<{ agents: { total: number }; flowsInWindow: number; series: { flows: number }[]; topTalkers: unknown[]; protocols: unknown[] }>(client.scoped('/overview?minutes=60'));
    assert.equal(o.agents.total, 2);
    assert.ok(o.flowsInWindow > 0 && o.topTalkers.length > 0 && o.protocols.length > 0, 'the flows the worker wrote');
    assert.equal(o.series.reduce((n, x) => n + x.flows, 0), o.flowsInWindow);
    await assert.rejects(client.get(client.scoped('/alerts/999999')), (e: AdminApiError) => e.status === 404 && e.reason === 'no-alert');
    await assert.rejects(client.get(client.scoped('/flows/export?format=csv')), (e: AdminApiError) => e.status === 501 && /docs\/scale-out\.md/.test(e.message));
    await assert.rejects(client.get(client.scoped('/pcap')), (e: AdminApiError) => e.status === 501 && /packet export.*docs\/scale-out\.md/.test(e.message));

    // what a front-end does not serve yet: 501 naming the page, not a crash
    const byName = await run([...MEERKAT, 'dns', '--name', 'example.com', ...api]);
    assert.notEqual(byName.code, 0);
    assert.match(byName.stderr, /scale-out front-end.*docs\/scale-out\.md/);
  });
});
