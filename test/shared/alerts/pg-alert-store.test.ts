// The AsyncAlertStore contract on a real PostgreSQL cluster this test starts (test/helpers/pg-cluster.ts),
// one fresh organisation schema per test; plus what is PostgreSQL's own: the table lives in the
// organisation's schema, a batch written inside a caller's transaction that rolls back leaves
// nothing, the read interface for the operators' API.
import assert from 'node:assert/strict';
import type pg from 'pg';
import { inPgTransaction } from '../../../shared/store/postgres/pg-transaction.js';
import { PgAlertStore, openPgAlertReader } from '../../../shared/alerts/pg-alert-store.js';
import { AlertPipeline } from '../../../collector/alerts/alert-pipeline.js';
import { startPgWithPool } from '../../helpers/pg-cluster.js';
import { alert } from '../../helpers/alert-gen.js';
import { asyncAlertStoreContract } from './async-alert-store-contract.js';

describe('PgAlertStore', function () {
  this.timeout(120_000);
  let db: Awaited<ReturnType<typeof startPgWithPool>>;
  let pool: pg.Pool;
  let n = 0;

  before(async () => { db = await startPgWithPool(); pool = db.pool; });
  after(async () => { await db?.stop(); });

  asyncAlertStoreContract('postgres', (o) => PgAlertStore.open(pool, `alerts-${++n}`, { nowUs: o.nowUs }));

  it('keeps each organisation\'s alerts in its own schema; a rolled-back transaction records nothing', async () => {
    const a = await PgAlertStore.open(pool, 'al-a');
    const b = await PgAlertStore.open(pool, 'al-b');
    assert.equal(a.schema, 'org_al_a');
    const p = new AlertPipeline(null, [], { autoFlush: false });
    p.add(alert());
    const one = p.takeBatch();
    await assert.rejects(inPgTransaction(pool, async (tx) => {
      const ch = await a.recordIn(tx, one);
      assert.equal(ch.length, 1);
      throw new Error('the dump commit failed');
    }), /dump commit failed/);
    assert.equal(await a.count(), 0, 'the alert went with the rolled-back transaction');
    await inPgTransaction(pool, (tx) => a.recordIn(tx, one));
    assert.equal(await a.count(), 1);
    assert.equal(await b.count(), 0);
    // opening again (another worker, another front-end) keeps the rows
    const reader = await openPgAlertReader(pool, 'al-a');
    const page = await reader.page({ severity: 'medium', agentId: 'agent-a' }, 10, null);
    assert.equal(page.alerts.length, 1);
    assert.equal(page.alerts[0]!.peer, '198.51.100.7');
  });
});
