// The AsyncFlowStore contract on a real PostgreSQL cluster this test starts (initdb/pg_ctl as
// the postgres user, loopback, random port, password from a file), one fresh organisation
// schema per test; plus what is PostgreSQL's own: schemas per organisation, connection options.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { openPgPool, pgClientConfig } from '../../../../shared/store/postgres/pg-connect.js';
import { PgFlowStore } from '../../../../shared/store/postgres/pg-flow-store.js';
import { orgSchema } from '../../../../shared/store/postgres/pg-schema.js';
import { StoreError } from '../../../../shared/store/flow-store.js';
import { ConnectionConfigError } from '../../../../shared/store/postgres/pg-connect.js';
import { startPgCluster, type PgCluster } from '../../../helpers/pg-cluster.js';
import { tmpDir } from '../../../helpers/transport-rig.js';
import { asyncFlowStoreContract, referenceFlows } from '../async-flow-store-contract.js';

describe('PgFlowStore', function () {
  this.timeout(120_000);
  let cluster: PgCluster;
  let pool: pg.Pool;
  let n = 0;

  before(async () => {
    cluster = await startPgCluster();
    pool = openPgPool({ url: cluster.url, passwordFile: cluster.passwordFile });
  });
  after(async () => {
    await pool?.end();
    cluster?.stop();
  });

  asyncFlowStoreContract('postgres', (o) => PgFlowStore.open(pool, `contract-${++n}`, { nowUs: o.nowUs, retention: { flowsDays: o.flowsDays } }));

  it('keeps each organisation in its own schema', async () => {
    const a = await PgFlowStore.open(pool, 'org-a');
    const b = await PgFlowStore.open(pool, 'org-b');
    assert.equal(a.schema, 'org_org_a');
    const flows = referenceFlows('agent-1').slice(0, 6);
    await a.commitDump({ agentId: 'agent-1', sequence: 1, info: { receivedUs: 1, firstTsUs: 1, lastTsUs: 2, packetCount: 3 }, flows, dns: [], tls: [] });
    assert.equal(await a.countFlows(), 6);
    assert.equal(await b.countFlows(), 0);
    assert.equal(await b.hasDump('agent-1', 1), false);
  });

  it('pages flows newest first with the SQLite store\'s cursor: every record once, in queryFlows order, none after the last page', async () => {
    const st = await PgFlowStore.open(pool, 'paging');
    const flows = [...referenceFlows('agent-1'), ...referenceFlows('agent-2')];
    await st.commitDump({ agentId: 'agent-1', sequence: 1, info: { receivedUs: 1, firstTsUs: 1, lastTsUs: 2, packetCount: 3 }, flows, dns: [], tls: [] });
    for (const filter of [{}, { agentId: 'agent-2' }]) {
      const all = await st.queryFlows(filter);
      assert.ok(all.length > 7, 'several pages');
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; ; pages++) {
        assert.ok(pages < 100);
        const page: Awaited<ReturnType<PgFlowStore['pageFlows']>> = await st.pageFlows(filter, 7, cursor);
        assert.ok(page.records.length <= 7);
        seen.push(...page.records.map((r) => `${r.agent_id}/${r.uid}/${r.record_seq}`));
        if (page.next === null) break;
        cursor = page.next;
      }
      assert.deepEqual(seen, all.map((r) => `${r.agent_id}/${r.uid}/${r.record_seq}`));
    }
    await assert.rejects(st.pageFlows({}, 5, 'bm90IGEgY3Vyc29y'), StoreError);
    await assert.rejects(st.pageFlows({}, 0, null), StoreError);
  });

  it('refuses organisation ids that are not slugs, passwords in the URL, missing password files', () => {
    assert.throws(() => orgSchema('Org;drop'), StoreError);
    assert.throws(() => pgClientConfig({ url: 'postgres://u:secret@127.0.0.1/db' }), (e: Error) => e instanceof ConnectionConfigError && /password/.test(e.message));
    assert.throws(() => pgClientConfig({ url: 'mysql://u@127.0.0.1/db' }), /postgres:\/\//);
    assert.throws(() => pgClientConfig({ url: 'postgres://u@127.0.0.1/db', passwordFile: '/nonexistent/pw' }), /cannot read the PostgreSQL password file/);
    const d = tmpDir('pgpw');
    writeFileSync(join(d, 'pw'), '\n');
    assert.throws(() => pgClientConfig({ url: 'postgres://u@127.0.0.1/db', passwordFile: join(d, 'pw') }), /empty/);
  });

  it('a wrong password is refused by the server', async () => {
    const d = tmpDir('pgpw');
    writeFileSync(join(d, 'pw'), 'wrong\n');
    const bad = openPgPool({ url: cluster.url, passwordFile: join(d, 'pw') });
    await assert.rejects(bad.query('SELECT 1'), /password authentication failed/);
    await bad.end();
  });
});
