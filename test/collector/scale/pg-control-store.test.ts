// The scale-out command queue, audit and agent list in PostgreSQL (a real cluster started here),
// opened twice on one schema as two front-ends open it: a command is submitted once, claimed for
// delivery by one of them, answered once, expired once; audit rows keep their order.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { PgControlStore, STALE_CLAIM_MS } from '../../../collector/scale/pg-control-store.js';
import { SubmitError } from '../../../collector/control/command-queue.js';
import { buildSignedCommand } from '../../../shared/commands/command-signing.js';
import { initOperatorKeys, loadOperatorSigningKey, type OperatorSigningKey } from '../../../shared/commands/operator-keys.js';
import type { CommandEnvelope } from '../../../shared/commands/command-schema.js';
import { openPgPool } from '../../../shared/store/postgres/pg-connect.js';
import { PgFlowStore } from '../../../shared/store/postgres/pg-flow-store.js';
import { logger } from '../../../shared/log.js';
import { startPgCluster, type PgCluster } from '../../helpers/pg-cluster.js';
import { tmpDir } from '../../helpers/transport-rig.js';

const A1 = '11111111-1111-4111-8111-111111111111';
const A2 = '22222222-2222-4222-8222-222222222222';
const HOUR = 3_600_000;

describe('PgControlStore (PostgreSQL)', function () {
  this.timeout(120_000);
  let cluster: PgCluster;
  let pool: pg.Pool;
  let key: OperatorSigningKey;
  let dir: string;
  let clock = Date.now();
  const now = (): number => clock;
  let fa: PgControlStore;
  let fb: PgControlStore;
  const log = logger('test-pg-control');
  log.level = 'silent';
  const sign = (agentId: string, lifetimeMs = HOUR, signedAgoMs = 0): CommandEnvelope =>
    buildSignedCommand(key, { agentId, kind: 'capture.snaplen', params: { snapLen: 64 }, lifetimeMs, nowMs: clock - signedAgoMs });

  before(async () => {
    dir = tmpDir('pg-control');
    initOperatorKeys(join(dir, 'op'), { name: 'alice' });
    key = loadOperatorSigningKey(join(dir, 'op', 'op.key'));
    cluster = await startPgCluster();
    pool = openPgPool({ url: cluster.url, passwordFile: cluster.passwordFile });
    await PgFlowStore.open(pool, 'default');
    // two front-ends on one schema; the second open finds the tables made
    fa = await PgControlStore.open(pool, 'default', log, now);
    fb = await PgControlStore.open(pool, 'default', log, now);
  });
  after(async () => {
    await pool?.end();
    cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('submits once: a second submission of the same signed command is refused on any front-end; malformed and expired ones too', async () => {
    const env = sign(A1);
    const c = await fa.submit(env, 'alice');
    assert.deepEqual([c.state, c.agentId, c.kind, c.submittedBy, c.deliveries], ['queued', A1, 'capture.snaplen', 'alice', 0]);
    assert.deepEqual(await fb.get(c.id), c, 'the other front-end reads the same row');
    await assert.rejects(fb.submit(env, 'alice'), (e: SubmitError) => e.reason === 'duplicate' && e.status === 409 && e.message.includes(c.id));
    await assert.rejects(fa.submit({ agentId: A1 }, 'alice'), (e: SubmitError) => e.reason === 'malformed' && e.status === 400);
    await assert.rejects(fa.submit(sign(A1, 1000, 5000), 'alice'), (e: SubmitError) => e.reason === 'expired');
    const list = await fb.list({ agentId: A1 });
    assert.deepEqual(list.map((x) => x.id), [c.id]);
  });

  it('one front-end claims a delivery; a redelivery only on another connection; an answer ends it once', async () => {
    const c = await fa.submit(sign(A2), 'alice');
    const claims = await Promise.all([fa.claim(c.id), fb.claim(c.id)]);
    assert.deepEqual(claims.sort(), [false, true], 'exactly one front-end delivers it');
    await fa.deliveredOn(c.id, 'fb/t1');
    assert.equal(await fb.claimRedelivery(c.id, 'fb/t1'), false, 'same connection: not again');
    assert.equal(await fa.claimRedelivery(c.id, 'fa/t2'), true, 'the agent came back on another connection');
    assert.equal(await fb.claimRedelivery(c.id, 'fa/t2'), false, 'claimed, delivery under way');
    clock += STALE_CLAIM_MS + 1;
    assert.equal(await fb.claimRedelivery(c.id, 'fa/t2'), true, 'a claim never completed is taken again');
    await fb.deliveredOn(c.id, 'fa/t2');
    assert.equal((await fa.get(c.id))!.deliveries, 3);
    const outcome = { status: 'done' as const, kind: 'capture.snaplen', data: { snapLen: 64 } };
    const ends = await Promise.all([fa.complete(c.id, outcome), fb.complete(c.id, outcome)]);
    assert.equal(ends.filter((x) => x !== null).length, 1, 'recorded once');
    const done = (await fb.get(c.id))!;
    assert.deepEqual([done.state, done.error, done.result], ['done', null, outcome]);
    assert.equal(await fa.claim(c.id), false, 'an ended command is not delivered');
    assert.deepEqual((await fa.unansweredByAgent()).get(A2), undefined);
  });

  it('an undeliverable claim goes back to the queue', async () => {
    const c = await fa.submit(sign(A2), 'alice');
    assert.equal(await fa.claim(c.id), true);
    await fa.unclaim(c.id, false);
    const back = (await fb.get(c.id))!;
    assert.deepEqual([back.state, back.deliveries], ['queued', 0]);
    assert.deepEqual((await fb.unanswered([A2])).map((x) => x.id), [c.id]);
  });

  it('expires each command once: queued past expiry, delivered without an answer past the grace', async () => {
    const q = await fa.submit(sign(A1, 60_000), 'alice');
    const d = await fa.submit(sign(A1, 60_000), 'alice');
    assert.equal(await fa.claim(d.id), true);
    clock += 61_000;
    const [ea, eb] = await Promise.all([fa.expireDue(), fb.expireDue()]);
    const ended = [...ea, ...eb];
    assert.deepEqual(ended.map((c) => [c.id, c.state]), [[q.id, 'expired']], 'the queued one, once; the delivered one waits for its answer');
    clock += 10 * 60_000;
    const late = await fb.expireDue();
    assert.deepEqual(late.map((c) => [c.id, c.state, c.error]), [[d.id, 'failed', 'no-answer']]);
    // a no-answer failure still takes the answer when it comes
    assert.ok(await fa.complete(d.id, { status: 'done' }));
  });

  it('audit rows in the order recorded, from both front-ends, with filters', async () => {
    const rows = Array.from({ length: 20 }, (_, i) => ({ actor: 'operator:alice', action: `test.${i}`, agentId: A1, outcome: 'ok', detail: { i } }));
    await Promise.all(rows.map((r) => fa.record(r)));
    await fb.record({ actor: 'collector', action: 'test.other', agentId: A2, outcome: 'ok' });
    const mine = (await fb.listAudit({ agentId: A1 })).filter((e) => e.action.startsWith('test.'));
    assert.deepEqual(mine.map((e) => e.action), rows.map((r) => r.action));
    assert.deepEqual(mine[3]!.detail, { i: 3 });
    const last = (await fa.listAudit({ limit: 1 }))[0]!;
    assert.equal(last.action, 'test.other');
    assert.deepEqual(await fa.listAudit({ after: last.seq }), []);
  });

  it('lists agents from heartbeats, the workers\' agent rows and presence; knows them; keeps the last inventory', async () => {
    fa.heartbeat(A1, { agentVersion: '9.9.9', spoolFiles: 0 });
    await pool.query(`INSERT INTO org_default.agents (agent_id, first_seen_us, last_seen_us) VALUES ($1, $2, $2)`, [A2, clock * 1000]);
    const live = [{ agentId: A1, connected: true, connectedSince: new Date(clock).toISOString() }];
    const list = await fb.listAgents(live);
    const byId = new Map(list.map((a) => [a.agentId, a]));
    assert.deepEqual([...byId.keys()], [A1, A2]);
    assert.deepEqual([byId.get(A1)!.online, byId.get(A1)!.version], [true, null], 'connected (presence); its heartbeat not written until fa flushes it');
    await fa.flushHeartbeats();
    const again = new Map((await fb.listAgents(live)).map((a) => [a.agentId, a]));
    assert.deepEqual([again.get(A1)!.online, again.get(A1)!.version], [true, '9.9.9']);
    assert.deepEqual([again.get(A2)!.online, again.get(A2)!.lastSeen], [false, new Date(clock).toISOString()]);
    assert.equal(await fb.knows(A2), true);
    assert.equal(await fb.knows('33333333-3333-4333-8333-333333333333'), false);
    await fa.saveInventory(A1, 'c1', { sealed: 'x' });
    await fb.saveInventory(A1, 'c2', { sealed: 'y' });
    assert.deepEqual(await fa.inventory(A1), { agentId: A1, at: new Date(clock).toISOString(), commandId: 'c2', report: { sealed: 'y' } });
    assert.equal(await fa.inventory(A2), null);
  });
});
