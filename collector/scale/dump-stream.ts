// The JetStream layout of the dump stream (docs/scale-out.md): one file-backed stream
// MEERKAT_DUMPS with subjects meerkat.dumps.<org>.<partition>, the message id that makes a
// second publish of a dump a duplicate, and the partition of an agent (every dump of an agent
// lands in the same partition). Workers read a partition with an ordered consumer from the
// position committed in PostgreSQL, so the stream needs no durable consumers or acks.
import { DiscardPolicy, RetentionPolicy, StorageType, nanos, type JetStreamManager } from 'nats';

export const DUMP_STREAM = 'MEERKAT_DUMPS';
export const DUMP_SUBJECTS = 'meerkat.dumps.>';
/** how long JetStream remembers message ids to drop a second publish of a dump */
export const DUPLICATE_WINDOW_MS = 120_000;

export function dumpSubject(org: string, partition: number): string {
  return `meerkat.dumps.${org}.${partition}`;
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

/** Creates the stream when missing (idempotent, safe from many processes at once). */
export async function ensureDumpStream(jsm: JetStreamManager, opts: { maxAgeDays: number }): Promise<void> {
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
}
