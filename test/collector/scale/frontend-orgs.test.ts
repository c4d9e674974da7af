// Organisations across scale-out front-ends with the real engines (a NATS JetStream server and a
// PostgreSQL cluster started here): two front-ends in this process over the same PostgreSQL,
// one flow worker (configured with one of the organisations: it serves the other once
// PostgreSQL holds it), two organisations with their own CAs. Agents enroll over HTTPS with a token
// made through the other front-end and ship over mutual TLS; each organisation's dumps land in
// its own schema and nowhere else; one single-use token used on both front-ends at the same
// moment enrolls one agent; a suspended organisation's agents are cut off and refused (the other
// organisation's ship on), and come back when it is resumed.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { enrollAgent, EnrollError } from '../../../agent/transport/enroll-client.js';
import { loadAgentIdentity, type AgentIdentity } from '../../../agent/transport/agent-identity.js';
import { subjectValues } from '../../../certs/cert-chain.js';
import { createOrgCa } from '../../../certs/org-ca.js';
import { startFrontend, type Frontend } from '../../../collector/scale/frontend.js';
import { FlowWorker } from '../../../collector/scale/flow-worker.js';
import { scaleOutSchema } from '../../../collector/scale/scale-config.js';
import { collectorServerConfigSchema } from '../../../collector/server/server-config.js';
import { logger } from '../../../shared/log.js';
import { CloseCode } from '../../../shared/protocol/agent-protocol.js';
import { openPgPool } from '../../../shared/store/postgres/pg-connect.js';
import { RawAgent } from '../../helpers/raw-agent.js';
import { makeDump, makeTestPki, tmpDir, waitFor, type TestPki } from '../../helpers/transport-rig.js';
import { startPgCluster, type PgCluster } from '../../helpers/pg-cluster.js';
import { startNatsServer, type NatsServer } from '../../helpers/nats-server.js';

describe('scale-out front-ends: organisations from PostgreSQL (NATS, PostgreSQL, mutual TLS)', function () {
  this.timeout(120_000);
  let root: string;
  let pgc: PgCluster | undefined;
  let nats: NatsServer | undefined;
  let pool: pg.Pool | undefined;
  let tp: TestPki;
  let fa: Frontend | undefined;
  let fb: Frontend | undefined;
  let worker: FlowWorker | undefined;
  const open: RawAgent[] = [];

  const connect = async (port: number, id: AgentIdentity): Promise<RawAgent> => {
    const a = await RawAgent.connect(port, { agentId: id.agentId, key: id.keyPem, cert: id.certPem, ca: id.caPem });
    open.push(a);
    return a;
  };
  const enrollOn = (fe: Frontend, token: string, name: string): Promise<AgentIdentity> =>
    enrollAgent({ collectorUrl: `https://localhost:${fe.server.port}`, token, stateDir: join(root, name), keyBits: 2048 }).then(() => loadAgentIdentity(join(root, name)));
  /** dumps rows per organisation schema for an agent */
  const dumpsOf = async (agentId: string): Promise<Record<string, number>> => {
    const schemas = (await pool!.query<{ s: string }>("SELECT table_schema AS s FROM information_schema.tables WHERE table_name = 'dumps' AND table_schema LIKE 'org\\_%' ORDER BY 1")).rows.map((r) => r.s);
    const out: Record<string, number> = {};
    for (const s of schemas) {
      const n = (await pool!.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${s}.dumps WHERE agent_id = $1`, [agentId])).rows[0]!.n;
      if (n > 0) out[s] = n;
    }
    return out;
  };

  before(async () => {
    root = tmpDir('frontend-orgs');
    [pgc, nats] = await Promise.all([startPgCluster(), startNatsServer()]);
    pool = openPgPool({ url: pgc.url, passwordFile: pgc.passwordFile });
    tp = makeTestPki(root);
    // the organisations' CAs in the PKI directory both front-ends use (the deployment copies it to each front-end host)
    createOrgCa(tp.dir, 'org-a', tp.pki.ca, { bits: 2048 });
    createOrgCa(tp.dir, 'org-b', tp.pki.ca, { bits: 2048 });
    const scaleOut = { natsUrl: nats.url, natsCredsFile: nats.credsFile, pgUrl: pgc.url, pgPasswordFile: pgc.passwordFile, partitions: 2, orgs: ['org-a', 'org-b'], orgRefreshMs: 200, rebalanceMs: 300 };
    const start = (id: string): Promise<Frontend> => startFrontend(
      collectorServerConfigSchema.parse({ pkiDir: tp.dir, stateDir: join(root, id), listen: '127.0.0.1:0', ops: 'off', api: 'off', logLevel: 'warn' }),
      scaleOutSchema.parse({ ...scaleOut, workerId: id }), { log: logger(`frontend-${id}`), defaultMetrics: false });
    // the worker starts first and lists only org-a: it serves org-b once the front-ends have written it to PostgreSQL
    worker = await FlowWorker.start(scaleOutSchema.parse({ ...scaleOut, orgs: ['org-a'], workerId: 'w' }), { log: logger('worker') });
    fa = await start('fa');
    fb = await start('fb');
  });

  after(async () => {
    for (const a of open) a.close();
    await worker?.stop({ flush: false }).catch(() => undefined);
    for (const f of [fa, fb]) await f?.stop().catch(() => undefined);
    await pool?.end();
    await nats?.stop();
    pgc?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const b3Id = (): string => loadAgentIdentity(join(root, 'agent-b3')).agentId;
  let agentA: AgentIdentity;
  let agentB: AgentIdentity;

  it('an agent enrolls on one front-end with a token made on the other; each organisation\'s dumps land in its own schema only', async () => {
    // the organisations as PostgreSQL holds them, written by the front-ends from the PKI directory
    assert.deepEqual((await fa!.records.list()).map((o) => [o.id, o.state, o.caCerts.length]), [['org-a', 'active', 1], ['org-b', 'active', 1]]);
    const ta = await fa!.records.createToken({ org: 'org-a', uses: 1, expiresInSec: 60, caFingerprint: tp.caFingerprint });
    const tb = await fb!.records.createToken({ org: 'org-b', uses: 1, expiresInSec: 60, caFingerprint: tp.caFingerprint });
    agentA = await enrollOn(fb!, ta.token, 'agent-a');
    agentB = await enrollOn(fa!, tb.token, 'agent-b');
    assert.deepEqual(subjectValues(new X509Certificate(agentA.certPem).subject, 'OU'), ['org-a']);
    assert.deepEqual(subjectValues(new X509Certificate(agentB.certPem).subject, 'OU'), ['org-b']);
    assert.deepEqual(await fa!.records.orgOfAgent(agentA.agentId), { org: 'org-a', revoked: false });
    // the tokens are used up for both front-ends
    await assert.rejects(enrollOn(fa!, ta.token, 'agent-a2'), (e: Error) => e instanceof EnrollError && /used-up/.test(e.message));

    // each ships through the front-end it did not enroll on
    const a = await connect(fa!.server.port, agentA);
    const b = await connect(fb!.server.port, agentB);
    await a.next('welcome');
    await b.next('welcome');
    for (const [c, id] of [[a, agentA], [b, agentB]] as const) {
      for (let s = 0; s < 2; s++) {
        c.upload(s, makeDump(id.agentId, s, s * 50, 50));
        assert.equal((await c.next('ack')).seq, s);
      }
    }
    await waitFor(async () => Object.keys(await dumpsOf(agentA.agentId)).length > 0 && Object.keys(await dumpsOf(agentB.agentId)).length > 0, 30_000, 'the worker committed both agents\' dumps');
    await waitFor(async () => (await dumpsOf(agentA.agentId)).org_org_a === 2 && (await dumpsOf(agentB.agentId)).org_org_b === 2, 30_000, 'all four dumps committed');
    assert.deepEqual(await dumpsOf(agentA.agentId), { org_org_a: 2 }, 'organisation a\'s dumps are in org_org_a and nowhere else');
    assert.deepEqual(await dumpsOf(agentB.agentId), { org_org_b: 2 }, 'organisation b\'s dumps are in org_org_b and nowhere else');
  });

  it('a single-use token used on both front-ends at the same moment enrolls one agent', async () => {
    const t = await fa!.records.createToken({ org: 'org-a', uses: 1, expiresInSec: 60, caFingerprint: tp.caFingerprint });
    const results = await Promise.allSettled([enrollOn(fa!, t.token, 'race-1'), enrollOn(fb!, t.token, 'race-2')]);
    const ok = results.filter((r): r is PromiseFulfilledResult<AgentIdentity> => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(ok.length, 1, JSON.stringify(results.map((r) => r.status === 'rejected' ? String(r.reason) : 'ok')));
    assert.ok(refused[0]!.reason instanceof EnrollError && /used-up/.test(String(refused[0]!.reason)), String(refused[0]!.reason));
    assert.equal(await fa!.records.countAgents('org-a'), 2, 'agent-a and the one winner');
  });

  it('a suspended organisation\'s agents are cut off and refused (retryable), enroll nobody, and the other organisation ships on; resumed, they connect again', async () => {
    const b = open[1]!;
    const tb = await fa!.records.createToken({ org: 'org-b', uses: 1, expiresInSec: 60, caFingerprint: tp.caFingerprint });
    await fa!.records.setState('org-b', 'suspended', 'test');
    assert.equal((await b.waitClosed(15_000)).code, CloseCode.OrgSuspended);
    // each front-end re-reads the organisations on its own period: a loaded machine may leave one a beat behind the other
    await waitFor(() => !fa!.orgs.activeOrgs().includes('org-b') && !fb!.orgs.activeOrgs().includes('org-b'), 15_000, 'both front-ends see org-b suspended');
    for (const fe of [fa!, fb!]) {
      await assert.rejects(connect(fe.server.port, agentB), (e: Error & { refusal?: string; status?: number }) => e.refusal === 'org-suspended' && e.status === 503);
    }
    await assert.rejects(enrollOn(fb!, tb.token, 'agent-b2'), (e: Error) => e instanceof EnrollError && /org-suspended|suspended/.test(e.message));
    const a = open[0]!;
    a.upload(2, makeDump(agentA.agentId, 2, 100, 50));
    assert.equal((await a.next('ack')).seq, 2);
    await fb!.records.setState('org-b', 'active');
    await waitFor(() => fb!.orgs.activeOrgs().includes('org-b') && fa!.orgs.activeOrgs().includes('org-b'), 15_000, 'both front-ends see org-b active again');
    const again = await connect(fb!.server.port, agentB);
    await again.next('welcome');
    again.upload(2, makeDump(agentB.agentId, 2, 100, 50));
    assert.equal((await again.next('ack')).seq, 2);
    // its token kept its use while it was suspended
    assert.equal((await enrollOn(fb!, tb.token, 'agent-b3')).agentId.length, 36);
  });

  it('a certificate of one organisation is refused when its agent id was enrolled into the other; a front-end that never saw an agent relays a command to it', async () => {
    // agent-b's certificate is fine; an agent of org-a presenting it under org-a's name cannot be made without org-b's key,
    // so the check left is the directory's: an id recorded in org-a signed by org-b's CA
    await pool!.query("UPDATE meerkat.agent_orgs SET org = 'org-a' WHERE agent_id = $1", [agentB.agentId]);
    // a front-end remembers the organisation of agents it accepted; a fresh one looks it up
    const fresh = await startFrontend(
      collectorServerConfigSchema.parse({ pkiDir: tp.dir, stateDir: join(root, 'fc'), listen: '127.0.0.1:0', ops: 'off', api: 'off', logLevel: 'warn' }),
      scaleOutSchema.parse({ natsUrl: nats!.url, natsCredsFile: nats!.credsFile, pgUrl: pgc!.url, pgPasswordFile: pgc!.passwordFile, partitions: 2, orgs: ['org-a', 'org-b'], workerId: 'fc' }),
      { log: logger('frontend-fc'), defaultMetrics: false });
    try {
      await assert.rejects(connect(fresh.server.port, agentB), (e: Error & { refusal?: string; status?: number }) => e.refusal === 'org-mismatch' && e.status === 403);
      await pool!.query("UPDATE meerkat.agent_orgs SET org = 'org-b' WHERE agent_id = $1", [agentB.agentId]);
      // agent-b (org-b, not the first organisation) is connected to fb: the new front-end finds it through the presence bucket
      const b = open[2]!;
      let delivered = false;
      await waitFor(async () => (delivered = await fresh.relay.sendCommand(agentB.agentId, 'cmd-1', { action: 'status' })), 10_000, 'the command delivered through fb');
      assert.equal(delivered, true);
      assert.equal((await b.next('command')).id, 'cmd-1');
    } finally {
      await pool!.query("UPDATE meerkat.agent_orgs SET org = 'org-b' WHERE agent_id = $1", [agentB.agentId]);
      await fresh.stop();
    }
  });

  it('while PostgreSQL is down an agent the front-end has not seen yet is refused as retryable (503 org-unavailable), one it knows connects; afterwards both do', async () => {
    // agent-b3 enrolled through fb (which remembers it); fa has never seen it
    const b3 = loadAgentIdentity(join(root, 'agent-b3'));
    pgc!.kill();
    try {
      await assert.rejects(connect(fa!.server.port, b3), (e: Error & { refusal?: string; status?: number }) => e.refusal === 'org-unavailable' && e.status === 503);
      const known = await connect(fb!.server.port, b3);
      await known.next('welcome');
      known.close();
    } finally {
      pgc!.restart();
    }
    const later = await connect(fa!.server.port, b3);
    await later.next('welcome');
  });

  it('an organisation\'s own dumps/s quota in PostgreSQL applies on the front-ends, to that organisation', async () => {
    await fb!.records.setQuotas('org-a', { dumpsPerSec: 0.001, dumpsBurst: 1 });
    await waitFor(() => fa!.orgs.record('org-a')?.quotas.dumpsPerSec === 0.001, 5000, 'fa follows the quota');
    const a = open[0]!;
    a.upload(3, makeDump(agentA.agentId, 3, 150, 50));
    assert.equal((await a.next('ack')).seq, 3, 'the burst of one');
    a.upload(4, makeDump(agentA.agentId, 4, 200, 50));
    const n = await a.next('nack');
    assert.equal(n.seq, 4);
    assert.match(n.reason, /quota|dumps\/s/);
    assert.equal(n.retry, true, 'retryable: the agent keeps the dump');
    // org-b's agent on the same front-end is not held back by org-a's quota
    const b3 = await connect(fa!.server.port, loadAgentIdentity(join(root, 'agent-b3')));
    await b3.next('welcome');
    for (let s = 0; s < 3; s++) {
      b3.upload(s, makeDump(b3Id(), s, s * 50, 50));
      assert.equal((await b3.next('ack')).seq, s);
    }
    await fb!.records.setQuotas('org-a', {});
  });
});
