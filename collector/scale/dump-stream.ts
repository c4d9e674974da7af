// The JetStream layout of the dump stream (docs/scale-out.md): one file-backed stream
// MEERKAT_DUMPS with subjects meerkat.dumps.<org>.<partition>, a durable pull consumer per
// (org, partition), the message id that makes a second publish of a dump a duplicate, and the
// partition of an agent (every dump of an agent lands in the same partition).
import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, nanos, type JetStreamManager } from 'nats';

export const DUMP_STREAM = 'MEERKAT_DUMPS';
export const DUMP_SUBJECTS = 'meerkat.dumps.>';
/** how long JetStream remembers message ids to drop a second publish of a dump */
export const DUPLICATE_WINDOW_MS = 120_000;
/** a message not acked within this is redelivered (a worker's commit of one dump takes far less) */
export const ACK_WAIT_MS = 30_000;

export function dumpSubject(org: string, partition: number): string {
  return `meerkat.dumps.${org}.${partition}`;
}

export function consumerName(org: string, partition: number): string {
  return `part-${org}-${partition}`;
}

export function dumpMsgId(org: string, agentId: string, sequence: number): string {
  return `${org}/${agentId}/${sequence}`;
}

/** FNV-1a (32 bit) of the agent id, modulo the partition count. */
export function partitionOf(agentId: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < agentId.length; i++) {
    h ^= agentId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % partitions;
}

/** Creates the stream and the partition consumers of the organisations when missing (idempotent). */
export async function ensureDumpStream(jsm: JetStreamManager, opts: { orgs: readonly string[]; partitions: number; maxAgeDays: number }): Promise<void> {
  try {
    await jsm.streams.info(DUMP_STREAM);
  } catch {
    await jsm.streams.add({
      name: DUMP_STREAM,
      subjects: [DUMP_SUBJECTS],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: nanos(opts.maxAgeDays * 86_400_000),
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    }).catch(async (e: unknown) => {
      // another process created it meanwhile
      await jsm.streams.info(DUMP_STREAM).catch(() => { throw e; });
    });
  }
  for (const org of opts.orgs) {
    for (let p = 0; p < opts.partitions; p++) {
      const name = consumerName(org, p);
      try {
        await jsm.consumers.info(DUMP_STREAM, name);
      } catch {
        await jsm.consumers.add(DUMP_STREAM, {
          durable_name: name,
          filter_subject: dumpSubject(org, p),
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          ack_wait: nanos(ACK_WAIT_MS),
          max_ack_pending: 10_000,
        }).catch(async (e: unknown) => { await jsm.consumers.info(DUMP_STREAM, name).catch(() => { throw e; }); });
      }
    }
  }
}
