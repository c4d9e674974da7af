// Partition leases and fencing on a real PostgreSQL cluster started here.
import assert from 'node:assert/strict';
import type pg from 'pg';
import { PartitionLeases, FencedError, fenceAndAdvance } from '../../../collector/scale/partition-leases.js';
import { openPgPool, pgClientConfig } from '../../../shared/store/postgres/pg-connect.js';
import { PgFlowStore } from '../../../shared/store/postgres/pg-flow-store.js';
import { startPgCluster, type PgCluster } from '../../helpers/pg-cluster.js';
import { waitFor } from '../../helpers/transport-rig.js';

describe('PartitionLeases (PostgreSQL)', function () {
  this.timeout(120_000);
  let cluster: PgCluster;
  let pool: pg.Pool;
  let store: PgFlowStore;
  const opened: PartitionLeases[] = [];
  const open = async (id: string, onLost: (e: Error) => void = () => undefined): Promise<PartitionLeases> => {
    const l = await PartitionLeases.open(pgClientConfig({ url: cluster.url, passwordFile: cluster.passwordFile }), id, onLost);
    opened.push(l);
    return l;
  };

  before(async () => {
    cluster = await startPgCluster();
    pool = openPgPool({ url: cluster.url, passwordFile: cluster.passwordFile });
    store = await PgFlowStore.open(pool, 'default');
  });
  after(async () => {
    for (const l of opened) await l.close();
    await pool?.end();
    cluster?.stop();
  });

  it('one holder per partition; the next holder gets a higher epoch and the old one is fenced off', async () => {
    const a = await open('a');
    const b = await open('b');
    assert.equal(await a.liveWorkers(), 2);
    const ra = await a.tryTake('default', 0);
    assert.ok(ra);
    assert.equal(await b.tryTake('default', 0), null, 'held by a');
    const commit = (epoch: number, seq: number): Promise<unknown> => store.commitDump(
      { agentId: 'ag', sequence: seq, info: { receivedUs: 1, firstTsUs: 1, lastTsUs: 2, packetCount: 1 }, flows: [], dns: [], tls: [] },
      { before: (tx) => fenceAndAdvance(tx, 'default', 0, epoch, seq + 1) });
    await commit(ra.epoch, 1);
    await a.release('default', 0);
    const rb = await b.tryTake('default', 0);
    assert.ok(rb && rb.epoch > ra.epoch);
    assert.equal(rb.nextSeq, 2, 'the position a committed');
    await assert.rejects(commit(ra.epoch, 2), FencedError);
    assert.equal(await store.hasDump('ag', 2), false, 'the fenced commit wrote nothing');
    await commit(rb.epoch, 2);
    assert.equal(await store.hasDump('ag', 2), true);
  });

  it('a holder whose connection dies loses its partitions to the others at once', async () => {
    let lost = false;
    const a = await open('dying', () => { lost = true; });
    const b = await open('survivor');
    assert.ok(await a.tryTake('default', 5));
    assert.equal(await b.tryTake('default', 5), null);
    // kill a's backend from the server side, as a crashed host or a cut network would
    await pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'meerkat-worker-leases dying'`);
    await waitFor(() => lost, 10_000, 'the lease holder notices');
    assert.ok(await b.tryTake('default', 5), 'taken by the survivor');
  });
});
