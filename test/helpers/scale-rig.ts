// What the scale-out integration tests of the workers share: a real PostgreSQL cluster and a real
// NATS JetStream server with the dump stream, a connection and a pool to them, the scaleOut
// section a worker of the test runs with, the front-end's committer publishing the reference
// capture's dumps, and a poll until a condition holds.
import assert from 'node:assert/strict';
import type { NatsConnection } from 'nats';
import type pg from 'pg';
import { JetStreamCommitter } from '../../collector/scale/jetstream-committer.js';
import { ensureDumpStream } from '../../collector/scale/dump-stream.js';
import { connectNats } from '../../collector/scale/nats-connect.js';
import { scaleOutSchema, type ScaleOutConfig } from '../../collector/scale/scale-config.js';
import { readDumpHeader } from '../../shared/dump/dump-header.js';
import type { PgFlowStore } from '../../shared/store/postgres/pg-flow-store.js';
import { startPgWithPool, type PgCluster } from './pg-cluster.js';
import { startNatsServer, type NatsServer } from './nats-server.js';
import { makeDump } from './transport-rig.js';

export interface ScaleRig {
  cluster: PgCluster;
  nats: NatsServer;
  nc: NatsConnection;
  pool: pg.Pool;
  /** a worker's scaleOut section: one partition per organisation, quick re-balancing */
  workerConfig(orgs: string[], workerId: string): ScaleOutConfig;
  /** publishes dumps `from`..`to` of the reference capture (perDump packets each) as the front-end does */
  publish(org: string, store: PgFlowStore, agentId: string, from: number, to: number, perDump?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startScaleRig(): Promise<ScaleRig> {
  const { cluster, pool, stop: stopPg } = await startPgWithPool();
  let nats: NatsServer | null = null;
  try {
    nats = await startNatsServer();
    const nc = await connectNats({ natsUrl: nats.url, natsCredsFile: nats.credsFile }, 'test');
    await ensureDumpStream(await nc.jetstreamManager(), { maxAgeDays: 1 });
    const n = nats;
    return {
      cluster, nats: n, nc, pool,
      workerConfig: (orgs, workerId) => scaleOutSchema.parse({
        natsUrl: n.url, natsCredsFile: n.credsFile, pgUrl: cluster.url, pgPasswordFile: cluster.passwordFile,
        partitions: 1, orgs, workerId, rebalanceMs: 200, streamMaxAgeDays: 1,
      }),
      async publish(org, store, agentId, from, to, perDump = 100) {
        const c = new JetStreamCommitter({ js: nc.jetstream(), partitions: 1, orgOf: () => org, storeOf: () => store, quota: { perSec: 1000, burst: 1000 } });
        for (let s = from; s <= to; s++) {
          const bytes = makeDump(agentId, s, (s - 1) * perDump, perDump);
          assert.equal(await c.commit(agentId, readDumpHeader(bytes), bytes, Date.now()), 'stored');
        }
      },
      async stop() {
        await nc.close();
        await n.stop();
        await stopPg();
      },
    };
  } catch (e) {
    await nats?.stop();
    await stopPg();
    throw e;
  }
}

/** Polls `cond` every 100 ms until it holds; throws naming `what` after timeoutMs. */
export async function until(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
