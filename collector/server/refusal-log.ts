// Rate-limited logging of repeated refusals, so a flood of hostile connections, enrollments or
// uploads does not become a flood of log lines: per source (address or agent id) the first
// `perSource` refusals of each interval are logged in full, and at most `perInterval` in all;
// the rest are counted and, when the interval ends (and at close), summed up in one line per
// source (at most `summaries`, then one line for all the others). Metrics still count every
// refusal; only the log is thinned.
import type { Logger } from '../../shared/log.js';

export interface RefusalLogOptions {
  /** full lines per source and interval (default 5) */
  perSource?: number;
  /** full lines per interval in all (default 100) */
  perInterval?: number;
  /** summary lines per interval, one per source (default 20); the others share one line */
  summaries?: number;
  intervalMs?: number;
  /** most sources remembered within an interval (default 10,000) */
  maxSources?: number;
}

interface Tally {
  logged: number;
  suppressed: number;
  byReason: Record<string, number>;
}

export class RefusalLog {
  private readonly perSource: number;
  private readonly perInterval: number;
  private readonly summaries: number;
  private readonly maxSources: number;
  private tallies = new Map<string, Tally>();
  private loggedInInterval = 0;
  /** refusals of sources beyond maxSources in this interval (counted, not itemised) */
  private overflow = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly log: Logger, private readonly what: string, opts: RefusalLogOptions = {}) {
    this.perSource = opts.perSource ?? 5;
    this.perInterval = opts.perInterval ?? 100;
    this.summaries = opts.summaries ?? 20;
    this.maxSources = opts.maxSources ?? 10_000;
    this.timer = setInterval(() => this.flush(), opts.intervalMs ?? 60_000);
    this.timer.unref();
  }

  /**
   * One refusal from `source` (its fields go on the line as they are; `reason` is what the
   * summary counts by). Logs it at warn level unless this source or the interval has had its
   * share; returns whether it was logged.
   */
  refused(source: string, reason: string, fields: Record<string, unknown>, msg: string): boolean {
    let t = this.tallies.get(source);
    if (t === undefined) {
      if (this.tallies.size >= this.maxSources) {
        this.overflow++;
        return false;
      }
      t = { logged: 0, suppressed: 0, byReason: {} };
      this.tallies.set(source, t);
    }
    if (t.logged < this.perSource && this.loggedInInterval < this.perInterval) {
      t.logged++;
      this.loggedInInterval++;
      this.log.warn({ reason, ...fields }, msg);
      return true;
    }
    t.suppressed++;
    t.byReason[reason] = (t.byReason[reason] ?? 0) + 1;
    return false;
  }

  /** Writes the summary of the interval now and starts a new one. */
  flush(): void {
    let lines = 0;
    let otherSources = 0;
    let otherRefusals = this.overflow;
    for (const [source, t] of this.tallies) {
      if (t.suppressed === 0) continue;
      if (lines < this.summaries) {
        lines++;
        this.log.warn({ source, suppressed: t.suppressed, logged: t.logged, byReason: t.byReason }, `${this.what}: repeated refusals not logged one by one`);
      } else {
        otherSources++;
        otherRefusals += t.suppressed;
      }
    }
    if (otherRefusals > 0) {
      this.log.warn({ sources: otherSources, suppressed: otherRefusals }, `${this.what}: repeated refusals of further sources not logged one by one`);
    }
    this.tallies = new Map();
    this.loggedInInterval = 0;
    this.overflow = 0;
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
