// The organisation records in PostgreSQL's `meerkat` schema (a PostgreSQL cluster started
// here): a token made through one connection pool (one front-end) is used through another,
// exactly once also when both use it at the same moment; the refusals keep the token's use; an
// organisation's agents quota holds when two front-ends enroll into it at once.
import assert from 'node:assert/strict';
import type pg from 'pg';
import { EnrollTokenError } from '../../../certs/errors.js';
import { TokenIdError } from '../../../certs/enroll-tokens.js';
import { PgOrgRecords } from '../../../collector/scale/org-records.js';
import { EnrollRefusedError } from '../../../collector/server/enroll-handler.js';
import { OrgStateError } from '../../../collector/orgs/org-registry.js';
import { openPgPool } from '../../../shared/store/postgres/pg-connect.js';
import { startPgCluster, type PgCluster } from '../../helpers/pg-cluster.js';

const FP = 'A'.repeat(43);
const agent = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('PgOrgRecords (PostgreSQL)', function () {
  this.timeout(60_000);
  let cluster: PgCluster;
  let poolA: pg.Pool;
  let poolB: pg.Pool;
  let a: PgOrgRecords;
  let b: PgOrgRecords;

  before(async () => {
    cluster = await startPgCluster();
    poolA = openPgPool({ url: cluster.url, passwordFile: cluster.passwordFile });
    poolB = openPgPool({ url: cluster.url, passwordFile: cluster.passwordFile });
    // two "front-ends" creating the tables at the same time
    [a, b] = await Promise.all([PgOrgRecords.open(poolA), PgOrgRecords.open(poolB)]);
    assert.equal(await a.put({ id: 'acme', caCerts: ['-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n'] }), true);
    assert.equal(await b.put({ id: 'acme', caCerts: [] }, { onlyIfMissing: true }), false, 'an organisation already there is left as it is');
    await a.put({ id: 'blue', caCerts: [] });
  });
  after(async () => {
    await poolA?.end();
    await poolB?.end();
    cluster?.stop();
  });

  it('keeps the organisations every front-end sees', async () => {
    const list = await b.list();
    assert.deepEqual(list.map((o) => [o.id, o.state, o.caCerts.length]), [['acme', 'active', 1], ['blue', 'active', 0]]);
    await a.setQuotas('blue', { agents: 5, dumpsPerSec: 10 });
    assert.deepEqual((await b.get('blue'))!.quotas, { agents: 5, dumpsPerSec: 10 });
    await assert.rejects(a.setQuotas('blue', { agents: -1 } as never));
    await assert.rejects(a.setState('nope', 'suspended'), (e: Error) => e instanceof OrgStateError && e.reason === 'unknown');
  });

  it('a token made on one front-end enrolls on the other, once; the agent is recorded in the token\'s organisation', async () => {
    const t = await a.createToken({ org: 'acme', uses: 1, expiresInSec: 60, caFingerprint: FP });
    assert.deepEqual(await b.peekToken(t.token), { id: t.id, org: 'acme' });
    assert.deepEqual(await b.consumeToken(t.token, agent(1)), { id: t.id, org: 'acme' });
    assert.deepEqual(await a.orgOfAgent(agent(1)), { org: 'acme', revoked: false });
    await assert.rejects(a.consumeToken(t.token, agent(2)), (e: Error) => e instanceof EnrollTokenError && e.reason === 'used-up');
    assert.equal(await a.orgOfAgent(agent(2)), null, 'a refused use records no agent');
    const [row] = await b.listTokens('acme');
    assert.equal(row!.usesLeft, 0);
    assert.equal(row!.usesTotal, 1);
  });

  it('a single-use token used at the same moment on two front-ends enrolls exactly one agent', async () => {
    for (let round = 0; round < 5; round++) {
      const t = await a.createToken({ org: 'acme', uses: 1, expiresInSec: 60, caFingerprint: FP });
      const ids = [agent(100 + 2 * round), agent(101 + 2 * round)];
      const results = await Promise.allSettled([a.consumeToken(t.token, ids[0]!), b.consumeToken(t.token, ids[1]!)]);
      const ok = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(ok.length, 1, `round ${round}: one enrollment`);
      assert.equal(refused.length, 1);
      assert.ok(refused[0]!.reason instanceof EnrollTokenError && refused[0]!.reason.reason === 'used-up', String(refused[0]!.reason));
      const recorded = await Promise.all(ids.map((id) => a.orgOfAgent(id)));
      assert.equal(recorded.filter((r) => r !== null).length, 1, 'one agent recorded');
    }
  });

  it('an organisation at its agents quota enrolls no more, also when two front-ends enroll at once; the token keeps its uses', async () => {
    await a.put({ id: 'quota', caCerts: [] });
    await a.setQuotas('quota', { agents: 3 });
    const t = await a.createToken({ org: 'quota', uses: 10, expiresInSec: 60, caFingerprint: FP });
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).consumeToken(t.token, agent(200 + i))));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3);
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof EnrollRefusedError && r.reason.error === 'quota-agents', String(r.reason));
    assert.equal(await a.countAgents('quota'), 3);
    assert.equal((await a.listTokens('quota'))[0]!.usesLeft, 7);
  });

  it('a suspended organisation enrolls nobody and gets no tokens; resumed, its token works', async () => {
    const t = await a.createToken({ org: 'blue', uses: 1, expiresInSec: 60, caFingerprint: FP });
    await b.setState('blue', 'suspended', 'test');
    await assert.rejects(a.consumeToken(t.token, agent(300)), (e: Error) => e instanceof EnrollRefusedError && e.error === 'org-suspended' && e.status === 403);
    await assert.rejects(a.createToken({ org: 'blue', uses: 1, expiresInSec: 60, caFingerprint: FP }), (e: Error) => e instanceof OrgStateError && e.reason === 'state');
    await b.setState('blue', 'active');
    assert.equal((await a.consumeToken(t.token, agent(300))).org, 'blue');
    await b.setState('blue', 'deleted', 'gone');
    await assert.rejects(b.setState('blue', 'active'), (e: Error) => e instanceof OrgStateError && e.reason === 'deleted');
    assert.equal(await a.put({ id: 'blue', caCerts: [] }), false, 'a deleted organisation is not brought back');
  });

  it('tokens: unknown, expired, revoked by id prefix', async () => {
    await assert.rejects(a.peekToken(`mk1.${'B'.repeat(43)}.${FP}`), (e: Error) => e instanceof EnrollTokenError && e.reason === 'unknown');
    await assert.rejects(a.peekToken('nonsense'), (e: Error) => e instanceof EnrollTokenError && e.reason === 'malformed');
    const t = await a.createToken({ org: 'acme', uses: 2, expiresInSec: 60, caFingerprint: FP });
    const r = await b.revokeToken(t.id.slice(0, 8), { org: 'acme' });
    assert.equal(r.alreadyRevoked, false);
    assert.equal((await a.revokeToken(t.id)).alreadyRevoked, true);
    await assert.rejects(a.consumeToken(t.token, agent(400)), (e: Error) => e instanceof EnrollTokenError && e.reason === 'revoked');
    await assert.rejects(a.revokeToken('zz'), TokenIdError);
    const late = await PgOrgRecords.open(poolA, { now: () => Date.now() + 120_000 });
    const t2 = await a.createToken({ org: 'acme', uses: 1, expiresInSec: 60, caFingerprint: FP });
    await assert.rejects(late.consumeToken(t2.token, agent(401)), (e: Error) => e instanceof EnrollTokenError && e.reason === 'expired');
  });
});
