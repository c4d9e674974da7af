// Which flow worker owns which partition (docs/scale-out.md "Flow worker"): a session advisory
// lock per (organisation, partition) held on one dedicated PostgreSQL connection of the worker -
// released by PostgreSQL itself when the worker dies and its connection drops - plus a fencing
// epoch in meerkat.partitions, incremented by each new owner and checked (row locked) inside
// every commit, so a worker that lost a partition can no longer commit for it. Live workers are
// the holders of a presence lock; each takes up to its fair share of the partitions.
import pg from 'pg';
import { MeerkatError } from '../../shared/errors.js';

/** advisory lock namespaces (the first key of the two-key form) */
const WORKER_NS = 0x4d4b5752; // 'MKWR'
const PARTITION_NS_BASE = 0x4d4b0000;

export class FencedError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_PARTITION_FENCED';
  constructor(org: string, part: number, mine: number, now: number | null) {
    super(`partition ${org}/${part} was taken over (epoch ${now ?? 'none'}, this worker holds ${mine}): its commits are refused`);
    this.name = 'FencedError';
  }
}

/** The second key of a partition's lock: 16 bits of the organisation, 16 of the partition. */
function partitionKeys(org: string, part: number): [number, number] {
  let h = 0x811c9dc5;
  for (let i = 0; i < org.length; i++) h = Math.imul(h ^ org.charCodeAt(i), 0x01000193) >>> 0;
  return [PARTITION_NS_BASE + (h & 0xffff), part];
}

export interface PartitionRow {
  epoch: number;
  /** first stream sequence not yet committed for this partition */
  nextSeq: number;
}

export class PartitionLeases {
  private lost = false;

  private constructor(private readonly client: pg.Client, readonly workerId: string, onLost: (e: Error) => void) {
    client.on('error', (e: Error) => {
      if (this.lost) return;
      this.lost = true;
      onLost(e);
    });
  }

  /** Connects the lease connection and takes this worker's presence lock. `onLost`: the connection (and so every lease) is gone. */
  static async open(config: pg.ClientConfig, workerId: string, onLost: (e: Error) => void): Promise<PartitionLeases> {
    const client = new pg.Client({ ...config, application_name: `meerkat-worker-leases ${workerId}` });
    await client.connect();
    const l = new PartitionLeases(client, workerId, onLost);
    // a random second key: two workers never share one presence lock
    await client.query('SELECT pg_advisory_lock($1, $2)', [WORKER_NS, Math.floor(Math.random() * 0x7fffffff)]);
    return l;
  }

  get isLost(): boolean {
    return this.lost;
  }

  async liveWorkers(): Promise<number> {
    const r = await this.client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND classid = $1::bigint::oid`, [WORKER_NS]);
    return Math.max(1, r.rows[0]!.n);
  }

  /** Tries to take a partition: null when another worker holds it, else its new epoch and resume point. */
  async tryTake(org: string, part: number): Promise<PartitionRow | null> {
    const [k1, k2] = partitionKeys(org, part);
    const got = await this.client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [k1, k2]);
    if (!got.rows[0]!.ok) return null;
    try {
      const r = await this.client.query<{ epoch: number; next_seq: number }>(
        `INSERT INTO meerkat.partitions (org, part, epoch, owner, taken_us, next_seq) VALUES ($1, $2, 1, $3, $4, 1)
         ON CONFLICT (org, part) DO UPDATE SET epoch = meerkat.partitions.epoch + 1, owner = EXCLUDED.owner, taken_us = EXCLUDED.taken_us
         RETURNING epoch, next_seq`, [org, part, this.workerId, Date.now() * 1000]);
      return { epoch: r.rows[0]!.epoch, nextSeq: r.rows[0]!.next_seq };
    } catch (e) {
      await this.release(org, part).catch(() => undefined);
      throw e;
    }
  }

  async release(org: string, part: number): Promise<void> {
    const [k1, k2] = partitionKeys(org, part);
    await this.client.query('SELECT pg_advisory_unlock($1, $2)', [k1, k2]);
  }

  async close(): Promise<void> {
    this.lost = true;
    await this.client.end().catch(() => undefined);
  }
}

/**
 * Inside a commit: locks the partition's row, refuses if another worker took the partition
 * since (FencedError), and records the stream position reached.
 */
export async function fenceAndAdvance(tx: pg.PoolClient, org: string, part: number, epoch: number, nextSeq: number): Promise<void> {
  const r = await tx.query<{ epoch: number }>('SELECT epoch FROM meerkat.partitions WHERE org = $1 AND part = $2 FOR UPDATE', [org, part]);
  const now = r.rows[0]?.epoch ?? null;
  if (now !== epoch) throw new FencedError(org, part, epoch, now);
  await tx.query('UPDATE meerkat.partitions SET next_seq = GREATEST(next_seq, $3) WHERE org = $1 AND part = $2', [org, part, nextSeq]);
}
