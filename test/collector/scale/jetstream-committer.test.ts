// The front-end's publish-before-ack on a real NATS JetStream server (and PostgreSQL for the
// dedupe read), started here: stored after the PubAck, duplicates by message id and by the
// store, the organisation quota, and a dead NATS server turning into a retryable StorageError.
import assert from 'node:assert/strict';
import type { NatsConnection } from 'nats';
import type pg from 'pg';
import { JetStreamCommitter } from '../../../collector/scale/jetstream-committer.js';
import { DUMP_STREAM, ensureDumpStream } from '../../../collector/scale/dump-stream.js';
import { connectNats } from '../../../collector/scale/nats-connect.js';
import { StorageError } from '../../../collector/server/dump-committer.js';
import { readDumpHeader } from '../../../shared/dump/dump-header.js';
import { openPgPool } from '../../../shared/store/postgres/pg-connect.js';
import { PgFlowStore } from '../../../shared/store/postgres/pg-flow-store.js';
import { startPgCluster, type PgCluster } from '../../helpers/pg-cluster.js';
import { startNatsServer, type NatsServer } from '../../helpers/nats-server.js';
import { makeDump } from '../../helpers/transport-rig.js';

describe('JetStreamCommitter (NATS JetStream, PostgreSQL)', function () {
  this.timeout(120_000);
  let cluster: PgCluster;
  let nats: NatsServer;
  let nc: NatsConnection;
  let pool: pg.Pool;
  let store: PgFlowStore;

  before(async () => {
    cluster = await startPgCluster();
    nats = await startNatsServer();
    pool = openPgPool({ url: cluster.url, passwordFile: cluster.passwordFile });
    store = await PgFlowStore.open(pool, 'default');
    nc = await connectNats({ natsUrl: nats.url, natsCredsFile: nats.credsFile }, 'test');
    await ensureDumpStream(await nc.jetstreamManager(), { maxAgeDays: 1 });
  });
  after(async () => {
    await nc?.close();
    await pool?.end();
    await nats?.stop();
    cluster?.stop();
  });

  const committer = (quota = { perSec: 1000, burst: 1000 }): JetStreamCommitter => new JetStreamCommitter({
    js: nc.jetstream(), partitions: 2, orgOf: () => 'default', storeOf: () => store, quota, publishTimeoutMs: 2000,
  });

  it('stores once JetStream acked, and a resend is a duplicate by message id', async () => {
    const c = committer();
    const bytes = makeDump('00000000-0000-4000-8000-00000000000a', 1, 0, 50);
    const h = readDumpHeader(bytes);
    assert.equal(await c.commit('00000000-0000-4000-8000-00000000000a', h, bytes, Date.now()), 'stored');
    const info = await (await nc.jetstreamManager()).streams.info(DUMP_STREAM);
    assert.equal(info.state.messages, 1);
    assert.equal(c.isDuplicate('00000000-0000-4000-8000-00000000000a', 1), true);
    // another front-end (no memory of it) publishing the same dump again
    assert.equal(await committer().commit('00000000-0000-4000-8000-00000000000a', h, bytes, Date.now()), 'duplicate');
    assert.equal((await (await nc.jetstreamManager()).streams.info(DUMP_STREAM)).state.messages, 1);
  });

  it('a dump already committed in the store is a duplicate without a publish', async () => {
    await store.commitDump({ agentId: '00000000-0000-4000-8000-00000000000b', sequence: 4, info: { receivedUs: 1, firstTsUs: 1, lastTsUs: 2, packetCount: 1 }, flows: [], dns: [], tls: [] });
    const bytes = makeDump('00000000-0000-4000-8000-00000000000b', 4, 0, 10);
    const before = (await (await nc.jetstreamManager()).streams.info(DUMP_STREAM)).state.messages;
    assert.equal(await committer().commit('00000000-0000-4000-8000-00000000000b', readDumpHeader(bytes), bytes, Date.now()), 'duplicate');
    assert.equal((await (await nc.jetstreamManager()).streams.info(DUMP_STREAM)).state.messages, before);
  });

  it('refuses (retryably) past the organisation quota', async () => {
    const c = committer({ perSec: 0.001, burst: 1 });
    const d1 = makeDump('00000000-0000-4000-8000-00000000000c', 1, 0, 10);
    const d2 = makeDump('00000000-0000-4000-8000-00000000000c', 2, 10, 10);
    assert.equal(await c.commit('00000000-0000-4000-8000-00000000000c', readDumpHeader(d1), d1, Date.now()), 'stored');
    await assert.rejects(c.commit('00000000-0000-4000-8000-00000000000c', readDumpHeader(d2), d2, Date.now()), (e: Error) => e instanceof StorageError && /quota/.test(e.message));
  });

  it('a dead NATS server is a StorageError (the agent keeps the dump); after its restart the same dump is stored', async () => {
    const c = committer();
    const bytes = makeDump('00000000-0000-4000-8000-00000000000d', 1, 0, 20);
    const h = readDumpHeader(bytes);
    nats.kill();
    await assert.rejects(c.commit('00000000-0000-4000-8000-00000000000d', h, bytes, Date.now()), StorageError);
    await nats.restart();
    // the client reconnects on its own
    let outcome: string | null = null;
    for (let i = 0; i < 50 && outcome === null; i++) {
      outcome = await c.commit('00000000-0000-4000-8000-00000000000d', h, bytes, Date.now()).catch(() => null);
      if (outcome === null) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(outcome, 'stored');
  });
});
