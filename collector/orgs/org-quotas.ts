// Quotas of an organisation, so one network owner cannot starve another on a shared collector:
// dumps per second (a token bucket in front of the expensive part of an upload: decoding, flow
// building, analysis), bytes stored (raw dumps and database), and enrolled agents. What a quota
// refuses is refused early and cheaply, with a retryable nack (the agents keep spooling and send
// again later) or, for enrollment, a 403; it is counted per organisation (metric, the
// organisation's status) and summed up in the organisation's audit once a minute. Defaults for
// every organisation come from the collector config key "quotas"; org.json overrides them field
// by field. No value: no limit.
import { z } from 'zod';
import { TokenBucket } from '../server/token-bucket.js';

export const quotasSchema = z.object({
  /** dumps accepted per second, sustained */
  dumpsPerSec: z.number().positive().optional(),
  /** dumps accepted at once above the rate (default: 2 s worth, at least 4) */
  dumpsBurst: z.number().min(1).optional(),
  /** bytes the organisation may keep: raw dumps plus its database */
  bytesStored: z.number().int().positive().optional(),
  /** agents enrolled and not revoked */
  agents: z.number().int().positive().optional(),
}).strict();

export type Quotas = z.output<typeof quotasSchema>;

export type QuotaRefusal = 'dumps-rate' | 'bytes-stored' | 'agents';

export interface QuotaUse {
  quotas: Quotas;
  bytesStored: number;
  refused: Record<QuotaRefusal, number>;
}

/** The quota state of one organisation while the collector runs. Time is passed in (tests). */
export class OrgQuota {
  private readonly bucket: TokenBucket | null;
  private stored = 0;
  readonly refused: Record<QuotaRefusal, number> = { 'dumps-rate': 0, 'bytes-stored': 0, agents: 0 };
  /** refusals not yet summed up in the audit */
  private unreported: Partial<Record<QuotaRefusal, number>> = {};

  constructor(readonly quotas: Quotas, nowMs = Date.now()) {
    this.bucket = quotas.dumpsPerSec === undefined ? null
      : new TokenBucket(quotas.dumpsPerSec, quotas.dumpsBurst ?? Math.max(4, 2 * quotas.dumpsPerSec), nowMs);
  }

  /** Whether one more dump may be processed now; the reason when not (counted). */
  admitDump(nowMs = Date.now()): { ok: true } | { ok: false; reason: QuotaRefusal; detail: string } {
    if (this.quotas.bytesStored !== undefined && this.stored >= this.quotas.bytesStored) {
      return this.refuse('bytes-stored', `the organisation keeps ${this.stored} bytes, its quota is ${this.quotas.bytesStored}; uploads resume when retention has made room`);
    }
    if (this.bucket && this.bucket.take(1, nowMs) > 0) {
      return this.refuse('dumps-rate', `the organisation's agents send more than its quota of ${this.quotas.dumpsPerSec} dumps/s`);
    }
    return { ok: true };
  }

  /** Whether an organisation with `enrolled` agents may enroll one more. */
  admitAgent(enrolled: number): { ok: true } | { ok: false; reason: QuotaRefusal; detail: string } {
    if (this.quotas.agents !== undefined && enrolled >= this.quotas.agents) {
      return this.refuse('agents', `the organisation has ${enrolled} agents, its quota is ${this.quotas.agents}`);
    }
    return { ok: true };
  }

  private refuse(reason: QuotaRefusal, detail: string): { ok: false; reason: QuotaRefusal; detail: string } {
    this.refused[reason]++;
    this.unreported[reason] = (this.unreported[reason] ?? 0) + 1;
    return { ok: false, reason, detail };
  }

  /** A dump of `bytes` was stored. */
  noteStored(bytes: number): void {
    this.stored += bytes;
  }

  /** The bytes stored, measured (raw dumps kept + database files). */
  setStored(bytes: number): void {
    this.stored = bytes;
  }

  get bytesStored(): number {
    return this.stored;
  }

  /** Refusals since the last call (for the audit summary), or null when there were none. */
  takeUnreported(): Partial<Record<QuotaRefusal, number>> | null {
    if (Object.keys(this.unreported).length === 0) return null;
    const out = this.unreported;
    this.unreported = {};
    return out;
  }

  use(): QuotaUse {
    return { quotas: this.quotas, bytesStored: this.stored, refused: { ...this.refused } };
  }
}

/** The collector's defaults with the organisation's own values over them, field by field. */
export function mergeQuotas(defaults: Quotas | undefined, own: Quotas | undefined): Quotas {
  return { ...(defaults ?? {}), ...(own ?? {}) };
}
