// A front-end's step before the ack (docs/scale-out.md "Front-end"): a verified upload is
// deduplicated against PostgreSQL, checked against its organisation's dumps/s quota, published
// to its partition of the JetStream dump stream with a message id, and acked to the agent only
// once JetStream acknowledged the publish (stored on the NATS server's disk). Any failure is a
// StorageError: the agent is nacked, keeps the dump and resends it.
import { headers, type JetStreamClient } from 'nats';
import type { DumpHeader } from '../../shared/dump/dump-header.js';
import type { AsyncFlowStore } from '../../shared/store/async-flow-store.js';
import { StorageError, type CommitOutcome, type UploadCommitter } from '../server/dump-committer.js';
import { TokenBucket } from '../server/token-bucket.js';
import { dumpMsgId, dumpSubject, partitionOf } from './dump-stream.js';

export const HDR_AGENT = 'Meerkat-Agent';
export const HDR_SEQUENCE = 'Meerkat-Sequence';
export const HDR_ORG = 'Meerkat-Org';
export const HDR_RECEIVED_MS = 'Meerkat-Received-Ms';
/** on a watermark message (no body): the agent's packet time (µs) up to which its flows may expire */
export const HDR_WATERMARK = 'Meerkat-Watermark';

/** packets may be stamped slightly out of order: the watermark stays this far behind the agent's */
const WATERMARK_MARGIN_US = 1_000_000;
/** an agent's watermark goes to the stream at most this often */
const WATERMARK_EVERY_MS = 30_000;

export interface JetStreamCommitterOptions {
  js: JetStreamClient;
  partitions: number;
  /** the organisation of an agent (the organisations work derives it from the verified chain) */
  orgOf: (agentId: string) => string;
  /** the organisation's store, for the dedupe read */
  storeOf: (org: string) => AsyncFlowStore;
  quota: { perSec: number; burst: number };
  /** the organisation's own quota when it has one (organisation records, docs/scale-out.md "Organisations"); default `quota` */
  quotaOf?: (org: string) => { perSec: number; burst: number };
  /** refused uploads per organisation (metrics) */
  onRefused?: (org: string, reason: 'quota') => void;
  /** a dump went to the stream (duplicate: JetStream had it already) */
  onPublished?: (org: string, duplicate: boolean) => void;
  publishTimeoutMs?: number;
}

/** How many acked keys are remembered for the synchronous early duplicate answer. */
const RECENT_KEYS = 50_000;

export class JetStreamCommitter implements UploadCommitter {
  private readonly recent = new Set<string>();
  private readonly buckets = new Map<string, { perSec: number; burst: number; bucket: TokenBucket }>();
  private readonly watermarks = new Map<string, { atMs: number; us: number }>();

  constructor(private readonly o: JetStreamCommitterOptions) {}

  isDuplicate(agentId: string, sequence: number): boolean {
    return this.recent.has(`${agentId}/${sequence}`);
  }

  async commit(agentId: string, header: DumpHeader, bytes: Uint8Array, receivedAtMs: number): Promise<CommitOutcome> {
    const org = this.o.orgOf(agentId);
    let committed: boolean;
    try {
      committed = await this.o.storeOf(org).hasDump(agentId, header.sequence);
    } catch (e) {
      throw new StorageError('checking the dump against the store', e);
    }
    if (committed) {
      this.remember(agentId, header.sequence);
      return 'duplicate';
    }
    const quota = this.o.quotaOf?.(org) ?? this.o.quota;
    let b = this.buckets.get(org);
    // a changed quota starts a new bucket
    if (b === undefined || b.perSec !== quota.perSec || b.burst !== quota.burst) {
      b = { ...quota, bucket: new TokenBucket(quota.perSec, quota.burst, receivedAtMs) };
      this.buckets.set(org, b);
    }
    if (b.bucket.take(1, Date.now()) > 0) {
      this.o.onRefused?.(org, 'quota');
      throw new StorageError('the organisation quota', new Error(`organisation ${org} is over its ${quota.perSec} dumps/s on this front-end; retry later`));
    }
    const h = headers();
    h.set(HDR_AGENT, agentId);
    h.set(HDR_SEQUENCE, String(header.sequence));
    h.set(HDR_ORG, org);
    h.set(HDR_RECEIVED_MS, String(receivedAtMs));
    let duplicate: boolean;
    try {
      const ack = await this.o.js.publish(dumpSubject(org, partitionOf(agentId, this.o.partitions)), bytes, {
        msgID: dumpMsgId(org, agentId, header.sequence),
        headers: h,
        timeout: this.o.publishTimeoutMs ?? 5000,
      });
      duplicate = ack.duplicate;
    } catch (e) {
      throw new StorageError('publishing the dump to JetStream', e);
    }
    this.remember(agentId, header.sequence);
    this.o.onPublished?.(org, duplicate);
    return duplicate ? 'duplicate' : 'stored';
  }

  /**
   * An agent's heartbeat with an empty spool: every packet before its packet time is in a dump
   * already acked, i.e. already in the stream. The watermark goes into the agent's partition
   * behind those dumps, so the worker expires the agent's idle flows in the same order as the
   * single process does (collector/flow-service.ts onHeartbeat). Best effort: a lost watermark
   * only delays the expiry to the next one.
   */
  publishWatermark(agentId: string, packetTimeUs: number, nowMs = Date.now()): Promise<boolean> {
    const last = this.watermarks.get(agentId);
    if (last !== undefined && (nowMs - last.atMs < WATERMARK_EVERY_MS || packetTimeUs <= last.us)) return Promise.resolve(false);
    this.watermarks.set(agentId, { atMs: nowMs, us: packetTimeUs });
    const org = this.o.orgOf(agentId);
    const h = headers();
    h.set(HDR_AGENT, agentId);
    h.set(HDR_ORG, org);
    h.set(HDR_WATERMARK, String(packetTimeUs - WATERMARK_MARGIN_US));
    return this.o.js.publish(dumpSubject(org, partitionOf(agentId, this.o.partitions)), new Uint8Array(0), { headers: h, timeout: this.o.publishTimeoutMs ?? 5000 })
      .then(() => true, () => { this.watermarks.delete(agentId); return false; });
  }

  private remember(agentId: string, sequence: number): void {
    if (this.recent.size >= RECENT_KEYS) this.recent.clear();
    this.recent.add(`${agentId}/${sequence}`);
  }
}
