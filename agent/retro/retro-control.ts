// What `capture.retro` does on a running agent: the ring's packets of the asked window (and peer)
// become dumps flagged Retro in the spool, and the shipper is told to send them. Bounded: a pull
// takes at most `maxPullBytes`, and never more than a quarter of the spool's free room, so the
// spool never drops unshipped dumps to make room for it. The answer says what was shipped and
// what the ring held (a window older than the ring simply finds nothing).
import type { Logger } from '../../shared/log.js';
import type { AddressAnonymizer } from '../../shared/anonymize/address-anonymizer.js';
import type { RetroRing } from './retro-ring.js';
import { pullRetro, type RetroDumpSink, type RetroPullResult } from './retro-pull.js';

export interface RetroControlOptions {
  ring: RetroRing;
  agentId: string;
  /** the pipeline's anonymizer: the ring's frames become the records the pipeline made */
  anonymizer: AddressAnonymizer;
  linkType: number;
  spool: RetroDumpSink & { stats(): { bytes: number } };
  spoolMaxBytes: number;
  /** tell the shipper there is something to send */
  notify: () => void;
  maxPullBytes: number;
  log: Logger;
  now?: () => number;
}

/** A pull's answer, as the command result carries it. */
export interface RetroPullReport extends Omit<RetroPullResult, 'ringFromUs' | 'ringUntilUs'> {
  since: string;
  until: string;
  ringFrom: string | null;
  ringUntil: string | null;
  peer?: string;
  port?: number;
}

const iso = (us: number | null): string | null => (us === null ? null : new Date(Math.floor(us / 1000)).toISOString());

export class RetroControl {
  private readonly now: () => number;

  constructor(private readonly o: RetroControlOptions) {
    this.now = o.now ?? Date.now;
  }

  stats(): ReturnType<RetroRing['stats']> {
    return this.o.ring.stats();
  }

  async pull(peer: string | undefined, port: number | undefined, sinceMs: number, untilMs: number): Promise<RetroPullReport> {
    const until = Math.min(untilMs, this.now());
    const free = Math.max(0, this.o.spoolMaxBytes - this.o.spool.stats().bytes);
    const maxBytes = Math.min(this.o.maxPullBytes, Math.floor(free / 4));
    const r = await pullRetro(this.o.ring, {
      agentId: this.o.agentId, sinceUs: sinceMs * 1000, untilUs: until * 1000, maxBytes,
      ...(peer ? { peer } : {}), ...(port !== undefined ? { port } : {}),
    }, { anonymizer: this.o.anonymizer, linkType: this.o.linkType }, this.o.spool);
    if (r.dumps > 0) this.o.notify();
    const { ringFromUs, ringUntilUs, ...rest } = r;
    const report: RetroPullReport = {
      ...rest, since: new Date(sinceMs).toISOString(), until: new Date(until).toISOString(),
      ringFrom: iso(ringFromUs), ringUntil: iso(ringUntilUs), ...(peer ? { peer } : {}), ...(port !== undefined ? { port } : {}),
    };
    this.o.log.info({ peer, port, packets: r.packets, dumps: r.dumps, bytes: r.bytes, truncated: r.truncated, lost: r.chunksLost }, 'retro capture pulled from the ring');
    return report;
  }
}
