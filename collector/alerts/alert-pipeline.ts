// Between the analyzers and the store/outputs: alerts are aggregated in memory by key
// (agent + host + category + rule + peer) and written in batches, so a scan of ten thousand
// probes becomes one row with a count, not ten thousand rows and inserts.
//
// add() never writes: the flow importer may call it inside another connection's write
// transaction on the same database, where a write from here would wait for a lock its
// own thread holds. A flush is scheduled with setImmediate (and can be forced with
// flush() from a safe point, e.g. after an import or on a timer). After each flush the
// changed alerts go to the outputs (new ones, escalations, or every batch: `notify`).
import { severityRank, type EmittedAlert } from '../../shared/alerts/alert-record.js';
import type { AlertOutput, OutputItem } from './outputs/alert-output.js';
import { alertKey, type AggregatedAlert, type AlertChange, type StoredAlert } from '../../shared/alerts/alert-types.js';
import type { SqliteAlertStore } from '../../shared/alerts/sqlite-alert-store.js';

export interface AlertPipelineOptions {
  notify?: 'new' | 'new-and-escalated' | 'every';
  /** distinct keys held between flushes; further new keys are dropped and counted (default 50000) */
  maxPending?: number;
  /** pending keys that schedule an automatic flush (default 512) */
  flushAt?: number;
  /** automatic flushes on setImmediate (default true; false: only explicit flush()) */
  autoFlush?: boolean;
}

export interface AlertPipelineStats {
  /** alerts received from analyzers */
  received: number;
  /** received per category */
  byCategory: Record<string, number>;
  /** distinct keys written */
  written: number;
  newAlerts: number;
  notifications: number;
  /** dropped because maxPending keys were waiting */
  dropped: number;
  flushes: number;
  /** flushes that failed (store error); the batch is kept and retried on the next flush */
  flushErrors: number;
  lastError: string | null;
}

const MAX_UIDS = 10;

export class AlertPipeline {
  private pending = new Map<string, AggregatedAlert>();
  private scheduled = false;
  private readonly notify: NonNullable<AlertPipelineOptions['notify']>;
  private readonly maxPending: number;
  private readonly flushAt: number;
  private readonly autoFlush: boolean;
  private timer: NodeJS.Timeout | null = null;
  readonly stats: AlertPipelineStats = {
    received: 0, byCategory: {}, written: 0, newAlerts: 0, notifications: 0, dropped: 0, flushes: 0, flushErrors: 0, lastError: null,
  };
  /** every change of every flush, for callers that want them (tests, the operators' API) */
  onChanges: ((changes: readonly AlertChange[]) => void) | null = null;

  constructor(private readonly store: SqliteAlertStore | null, private readonly outputs: readonly AlertOutput[] = [],
    opts: AlertPipelineOptions = {}) {
    this.notify = opts.notify ?? 'new-and-escalated';
    this.maxPending = opts.maxPending ?? 50_000;
    this.flushAt = opts.flushAt ?? 512;
    this.autoFlush = opts.autoFlush ?? true;
  }

  /** The analyzer host's sink. */
  readonly add = (a: EmittedAlert): void => {
    this.stats.received++;
    this.stats.byCategory[a.category] = (this.stats.byCategory[a.category] ?? 0) + 1;
    const key = alertKey(a);
    const p = this.pending.get(key);
    if (p !== undefined) {
      p.count++;
      if (a.tsUs < p.firstTsUs) p.firstTsUs = a.tsUs;
      if (a.tsUs >= p.lastTsUs) { p.lastTsUs = a.tsUs; p.latest = a; }
      if (severityRank(a.severity) > severityRank(p.maxSeverity)) p.maxSeverity = a.severity;
      if (a.flowUid !== undefined && p.flowUids.length < MAX_UIDS && !p.flowUids.includes(a.flowUid)) p.flowUids.push(a.flowUid);
      return;
    }
    if (this.pending.size >= this.maxPending) {
      this.stats.dropped++;
      return;
    }
    this.pending.set(key, {
      key, latest: a, count: 1, firstTsUs: a.tsUs, lastTsUs: a.tsUs, maxSeverity: a.severity,
      flowUids: a.flowUid !== undefined ? [a.flowUid] : [],
    });
    if (this.autoFlush && !this.scheduled && this.pending.size >= this.flushAt) {
      this.scheduled = true;
      setImmediate(() => { this.scheduled = false; this.flush(); });
    }
  };

  /** Keys waiting for the next flush. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Takes the pending aggregates without writing them: for a caller that stores them itself, in
   * a transaction of its own (the scale-out flow worker writes them with the dumps they came
   * from), and then hands the store's changes to deliver().
   */
  takeBatch(): AggregatedAlert[] {
    const batch = [...this.pending.values()];
    this.pending = new Map();
    return batch;
  }

  /** Writes the pending alerts and notifies the outputs; returns the changes. */
  flush(): AlertChange[] {
    if (this.pending.size === 0) return [];
    const batch = [...this.pending.values()];
    let changes: AlertChange[];
    if (this.store !== null) {
      try {
        changes = this.store.record(batch);
      } catch (e) {
        // keep the batch (the next flush retries it), e.g. a lock held by another process
        this.stats.flushErrors++;
        this.stats.lastError = e instanceof Error ? e.message : String(e);
        return [];
      }
    } else {
      changes = batch.map((b) => ({ kind: 'new' as const, alert: memoryAlert(b) }));
    }
    this.pending = new Map();
    this.deliver(changes);
    return changes;
  }

  /** Counts a stored batch's changes and sends the ones `notify` selects to the outputs. */
  deliver(changes: readonly AlertChange[]): void {
    this.stats.flushes++;
    this.stats.written += changes.length;
    const items: OutputItem[] = [];
    for (const c of changes) {
      if (c.kind === 'new') this.stats.newAlerts++;
      if (this.notify === 'every' || c.kind === 'new' || (c.kind === 'escalated' && this.notify === 'new-and-escalated')) {
        items.push({ alert: c.alert, kind: c.kind });
      }
    }
    if (items.length > 0) {
      this.stats.notifications += items.length;
      for (const o of this.outputs) o.send(items);
    }
    this.onChanges?.(changes);
  }

  /** Flushes every intervalMs of wall clock (live collector); delivery latency only, never alert content. */
  startTimer(intervalMs: number): void {
    this.stopTimer();
    this.timer = setInterval(() => this.flush(), intervalMs);
    this.timer.unref();
  }

  stopTimer(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Flushes and waits for the outputs to deliver (bounded by timeoutMs per output). */
  async drain(timeoutMs = 10_000): Promise<void> {
    this.flush();
    await Promise.all(this.outputs.map((o) => o.drain(timeoutMs)));
  }

  /** Drains, then closes the outputs (the store belongs to the caller). */
  async close(timeoutMs = 10_000): Promise<void> {
    this.stopTimer();
    await this.drain(timeoutMs);
    await Promise.all(this.outputs.map((o) => o.close()));
  }
}

/** A stored-alert view of an aggregate when no store is used (id 0). */
function memoryAlert(b: AggregatedAlert): StoredAlert {
  const a = b.latest;
  return {
    id: 0, key: b.key, agentId: a.agentId, host: a.host ?? '', category: a.category, rule: a.rule ?? '', peer: a.peer ?? '', analyzer: a.analyzer,
    severity: b.maxSeverity, state: 'open', summary: a.summary, count: b.count, firstSeenUs: b.firstTsUs, lastSeenUs: b.lastTsUs,
    flowUid: a.flowUid ?? null, communityId: a.communityId ?? null, flowUids: b.flowUids, evidence: a.evidence,
    suggestedResponse: a.suggestedResponse ?? null, createdUs: 0, updatedUs: 0, stateChangedUs: null,
  };
}
