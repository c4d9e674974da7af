// Analyzers off the ingest thread: worker threads (analyzer-worker.ts) fed flow records in
// batches (flow-batch-codec.ts), watched from here, restarted or disabled when one stalls.
//
// Groups: the built-ins share one worker; every user module gets a worker of its own, so a
// module that never returns stops only itself. Every call in a worker is published in a
// shared call state (which analyzer, which hook, a call counter); a timer here samples it
// every sampleMs. A call seen running past its hook's budget is reported to the worker as a
// slow call (a failure, as in-process); a call past the hard limit (budget.stallMs, or the
// hook's budget if larger) gets its worker terminated at once. The analyzer that stalled is
// reported (log line, alert of category "analyzer", metric, health) and its worker started
// again with fresh state; at its maxStalls-th stall it is disabled instead, and the others of
// its group are started without it. Flows in flight in a terminated worker are not analyzed
// (counted; so are the records of the batch being filled when a worker is started afresh,
// since its string table starts with the next batch). Ingest never waits for a worker unless asked to (blockWhenBusy: crash recovery,
// offline import): a worker whose queue is full has further batches dropped and counted.
import { Worker } from 'node:worker_threads';
import { basename } from 'node:path';
import type { Logger } from '../../shared/log.js';
import type { EmittedAlert } from '../../shared/alerts/alert-record.js';
import {
  CALL_STATE, COLLECTOR_AGENT_ID, DEFAULT_BUDGET, HOOK_NAMES, hookBudgetMs, hookHardLimitMs,
  type AnalyzerBudget, type AnalyzerStatus, type HookName,
} from './analyzer-host.js';
import type { PlannedAnalyzer } from './analysis-config.js';
import { FlowBatchEncoder, stringsOnly, type FlowBatch } from './flow-batch-codec.js';
import type { AnalysisMetrics } from './analysis-metrics.js';
import type { AnalyzerWorkerData, FromWorker, ToWorker } from './analyzer-worker.js';
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import type { AppRecord } from '../../shared/flow/app-records.js';
import type { DnsPayloadEvent } from './flow-batch-codec.js';

export interface AnalyzerPoolOptions {
  plan: readonly PlannedAnalyzer[];
  baseDir: string;
  tickIntervalUs: number;
  budget?: Partial<AnalyzerBudget>;
  internalPrefixes?: string[];
  hostAddresses?: Record<string, string[]>;
  /** every alert of every worker (the alert pipeline) */
  sink: (a: EmittedAlert) => void;
  log: Logger;
  logLevel?: string;
  metrics?: AnalysisMetrics;
  /** records per batch (default 1024) */
  batchFlows?: number;
  /** records one worker may have queued before batches for it are dropped (default 65536) */
  maxQueuedFlows?: number;
  /** how often the call states are sampled, ms (default 20) */
  sampleMs?: number;
}

const RECENT_STALL_MS = 5 * 60_000;
const RECENT_DROP_MS = 60_000;

interface Group {
  name: string;
  plan: PlannedAnalyzer[];
}

/** A group's worker across restarts. */
class WorkerHandle {
  worker: Worker | null = null;
  cs: Int32Array<ArrayBufferLike> = new Int32Array(0);
  generation = 0;
  state: 'starting' | 'running' | 'stopped' = 'starting';
  /** analyzer names by slot index (predicted from the plan until the worker reports) */
  names: string[] = [];
  status: AnalyzerStatus[] = [];
  /** analyzers the worker could not load (bad module path or export) */
  loadFailed: Array<{ name: string; error: string }> = [];
  /** flows of each batch not yet done, oldest first */
  pending: number[] = [];
  queuedFlows = 0;
  doneSeen = 0;
  crashes = 0;
  // watchdog
  lastSeq = -1;
  lastSlot = 0;
  seenSince = 0;
  reportedSlow = false;
  lastSampleAt = 0;
  sampledMs: number[] = [];
  longestMs: number[] = [];
  droppedAt = 0;
  droppedRecently = 0;
  /** the first batch epoch this worker can decode (a fresh worker knows no strings of the table) */
  fromEpoch = 0;
  /** settles once the group first runs (its analyzers loaded) or is given up; rejects if its worker cannot start at all */
  readonly settled: Promise<void>;
  settle!: () => void;
  fail!: (e: Error) => void;
  finished: ((s: AnalyzerStatus[]) => void) | null = null;

  constructor(readonly group: Group) {
    this.settled = new Promise<void>((resolve, reject) => { this.settle = resolve; this.fail = reject; });
    this.settled.catch(() => undefined);
  }
}

function label(p: PlannedAnalyzer): string {
  return p.kind === 'builtin' ? p.name : p.name ?? p.module;
}

function workerScript(): URL {
  // from sources (tsx) the worker is the .ts file; from the build, the .js beside this one
  return new URL(`./analyzer-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);
}

export class AnalyzerPool {
  private readonly handles: WorkerHandle[] = [];
  private readonly budget: AnalyzerBudget;
  private readonly encoder: FlowBatchEncoder;
  private readonly maxQueued: number;
  private readonly sampleMs: number;
  private readonly timer: NodeJS.Timeout;
  private scheduled = false;
  private closed = false;
  /** newest record end sent (packet time, µs): the time of the pool's own alerts */
  private clockUs = 0;
  /** wait for a worker with a full queue instead of dropping (crash recovery, offline import) */
  blockWhenBusy = false;
  private readonly stalls = new Map<string, { count: number; lastMs: number; hook: HookName; action: string }>();
  private readonly disabledByStall = new Map<string, AnalyzerStatus>();
  /** analyzers that could not be loaded or set up at start (as loadAnalyzers reports them) */
  readonly startFailures: Array<{ name: string; error: string }> = [];

  private constructor(private readonly o: AnalyzerPoolOptions) {
    this.budget = { ...DEFAULT_BUDGET, ...(o.budget ?? {}) };
    this.encoder = new FlowBatchEncoder(o.batchFlows ?? 1024);
    this.maxQueued = o.maxQueuedFlows ?? 65_536;
    this.sampleMs = o.sampleMs ?? 20;
    for (const g of this.groups(o.plan)) this.handles.push(new WorkerHandle(g));
    this.timer = setInterval(() => this.sample(), this.sampleMs);
    this.timer.unref();
  }

  /** Starts a worker per group and waits until each has loaded its analyzers. */
  static async start(o: AnalyzerPoolOptions): Promise<AnalyzerPool> {
    const pool = new AnalyzerPool(o);
    for (const h of pool.handles) pool.spawn(h, h.group.plan, null);
    try {
      // a worker stalled in setup is restarted or given up meanwhile: each group settles either way
      await Promise.all(pool.handles.map((h) => h.settled));
    } catch (e) {
      await pool.terminateAll();
      throw e;
    }
    return pool;
  }

  /** Built-ins together, each user module alone. */
  private groups(plan: readonly PlannedAnalyzer[]): Group[] {
    const enabled = plan.filter((p) => p.enabled);
    const out: Group[] = [];
    const builtins = enabled.filter((p) => p.kind === 'builtin');
    if (builtins.length > 0) out.push({ name: 'builtins', plan: builtins });
    const taken = new Set<string>(['builtins']);
    for (const p of enabled) {
      if (p.kind !== 'module') continue;
      let name = `module:${p.name ?? basename(p.module)}`;
      for (let i = 2; taken.has(name); i++) name = `module:${p.name ?? basename(p.module)}#${i}`;
      taken.add(name);
      out.push({ name, plan: [p] });
    }
    return out;
  }

  private spawn(h: WorkerHandle, plan: PlannedAnalyzer[], reason: 'stall' | 'crash' | null): void {
    const generation = ++h.generation;
    h.cs = new Int32Array(new SharedArrayBuffer(CALL_STATE.length * 4));
    h.pending = [];
    h.queuedFlows = 0;
    h.doneSeen = 0;
    h.lastSeq = -1;
    h.lastSlot = 0;
    h.reportedSlow = false;
    h.group.plan = plan;
    h.names = plan.filter((p) => p.enabled).map(label);
    h.status = [];
    h.sampledMs = [];
    h.longestMs = [];
    h.state = 'starting';
    if (reason !== null) {
      h.fromEpoch = this.encoder.resetTable();
      this.o.metrics?.restarts.inc({ worker: h.group.name, reason });
    }
    const data: AnalyzerWorkerData = {
      group: h.group.name,
      plan,
      callState: h.cs,
      logLevel: this.o.logLevel ?? this.o.log.level,
      baseDir: this.o.baseDir,
      tickIntervalUs: this.o.tickIntervalUs,
      budget: this.budget,
      ...(this.o.internalPrefixes ? { internalPrefixes: this.o.internalPrefixes } : {}),
      hostAddresses: this.o.hostAddresses ?? {},
    };
    const w = new Worker(workerScript(), { workerData: data, name: `analyzers ${h.group.name}` });
    h.worker = w;
    w.on('message', (m: FromWorker) => {
      if (h.generation !== generation) return;
      this.onMessage(h, m);
      if (m.type === 'ready') {
        h.state = 'running';
        h.settle();
      }
    });
    const failed = (why: string): void => {
      if (h.generation !== generation || this.closed || h.state === 'stopped') return;
      if (h.state === 'starting' && reason === null) {
        // the first start of a worker failed: the collector does not start either
        h.state = 'stopped';
        h.fail(new Error(`analyzer worker ${h.group.name} failed to start: ${why}`));
        return;
      }
      this.onCrash(h, why);
    };
    w.on('error', (e: Error) => failed(e.message));
    w.on('exit', (code) => failed(`exited with code ${code}`));
  }

  private onMessage(h: WorkerHandle, m: FromWorker): void {
    for (const a of m.alerts) this.o.sink(a);
    if (m.status) {
      h.status = m.status;
      h.names = m.status.map((s) => s.name);
    }
    if (m.type === 'ready') h.loadFailed = m.load.failed;
    if (m.type === 'ready' && h.generation === 1) this.startFailures.push(...m.load.failed);
    if (m.type === 'finished') h.finished?.(m.status);
  }

  private onCrash(h: WorkerHandle, why: string): void {
    if (h.state === 'stopped' || this.closed) return;
    h.generation++; // ignore whatever the dead worker still says
    const lost = h.queuedFlows;
    if (lost > 0) this.o.metrics?.flowsNotAnalyzed.inc({ worker: h.group.name, reason: 'terminated' }, lost);
    h.crashes++;
    const giveUp = h.crashes > this.budget.maxStalls;
    this.o.log.error({ worker: h.group.name, err: why, lostFlows: lost, crashes: h.crashes, action: giveUp ? 'stopped' : 'restarted' }, 'analyzer worker crashed');
    void h.worker?.terminate();
    if (giveUp) {
      h.state = 'stopped';
      h.settle();
      for (const n of h.names) this.disabledByStall.set(n, stubStatus(n, `its worker crashed ${h.crashes} times (last: ${why})`));
      return;
    }
    this.spawn(h, this.runnable(h), 'crash');
  }

  /** The group's plan without analyzers that are disabled (by stalls, or by the worker itself). */
  private runnable(h: WorkerHandle): PlannedAnalyzer[] {
    const off = new Set(h.status.filter((s) => !s.enabled).map((s) => s.name));
    return h.group.plan.filter((p, i) => {
      const name = h.names[i] ?? label(p);
      return !this.disabledByStall.has(name) && !this.disabledByStall.has(label(p)) && !off.has(name);
    });
  }

  // ---- the stream ------------------------------------------------------------------------

  /** A flow record (the flow store's onRecord; never writes, never blocks unless blockWhenBusy). */
  readonly onRecord = (rec: FlowRecord): void => {
    if (rec.end > this.clockUs) this.clockUs = rec.end;
    this.encoder.add(rec);
    if (this.encoder.full) this.sendBatch();
    else this.scheduleSend();
  };

  /** A DNS payload of a packet record (before the flow records that follow it); parsed in the workers. */
  onDnsPayload(payload: Uint8Array, info: Omit<DnsPayloadEvent, 'kind' | 'at' | 'payload'>): number {
    this.encoder.addDns({ ...info, payload });
    this.scheduleSend();
    return 0;
  }

  /** An application record (the flow engine's onAppRecord): travels with the next batch, in stream order. */
  readonly onAppRecord = (app: AppRecord): void => {
    this.encoder.addApp(app);
    this.scheduleSend();
  };

  /** An agent's packet time moved forward without records (heartbeat watermark). */
  advanceAgent(agentId: string, tUs: number): void {
    this.encoder.addAdvance(agentId, tUs);
    this.scheduleSend();
  }

  private scheduleSend(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.sendBatch();
    });
  }

  /** Sends what is batched now (latency: the rest of a dump's records go at the end of its event-loop turn). */
  sendBatch(): void {
    if (this.encoder.size === 0 || this.closed) return;
    const batch = this.encoder.take();
    for (const h of this.handles) this.post(h, batch);
  }

  private post(h: WorkerHandle, batch: FlowBatch): void {
    if (h.state === 'stopped' || h.worker === null) return;
    if (batch.epoch < h.fromEpoch) {
      // made before this worker was started afresh (its string table is older than the worker)
      if (batch.count > 0) this.o.metrics?.flowsNotAnalyzed.inc({ worker: h.group.name, reason: 'restarting' }, batch.count);
      return;
    }
    this.refreshDone(h);
    // application records weigh in the queue like flow records (a flood of DNS must not queue without bound)
    const weight = batch.count + batch.events.length;
    if (h.queuedFlows > 0 && h.queuedFlows + weight > this.maxQueued) {
      if (this.blockWhenBusy) this.waitForRoom(h, weight);
      // waiting may have restarted or stopped the worker
      if ((h.state as WorkerHandle['state']) === 'stopped' || h.worker === null) return;
      if (h.queuedFlows > 0 && h.queuedFlows + weight > this.maxQueued) {
        this.o.metrics?.flowsNotAnalyzed.inc({ worker: h.group.name, reason: 'queue-full' }, batch.count);
        const now = Date.now();
        if (now - h.droppedAt > RECENT_DROP_MS) {
          this.o.log.warn({ worker: h.group.name, queued: h.queuedFlows }, 'analyzer worker behind: flow records dropped for it (the others and ingest go on)');
          h.droppedRecently = 0;
        }
        h.droppedAt = now;
        h.droppedRecently += batch.count;
        // its string table must stay in step with the others: the new strings still go
        h.worker!.postMessage({ type: 'batch', batch: stringsOnly(batch) } satisfies ToWorker);
        h.pending.push(0);
        return;
      }
    }
    h.worker!.postMessage({ type: 'batch', batch } satisfies ToWorker);
    h.pending.push(weight);
    h.queuedFlows += weight;
  }

  private refreshDone(h: WorkerHandle): void {
    const done = Atomics.load(h.cs, CALL_STATE.batchesDone);
    while (h.doneSeen < done && h.pending.length > 0) {
      h.queuedFlows -= h.pending.shift()!;
      h.doneSeen++;
    }
  }

  /** Blocks until the worker has room (it works on; a stall is caught by sampling while waiting). */
  private waitForRoom(h: WorkerHandle, n: number): void {
    const generation = h.generation;
    while (h.generation === generation && h.state !== 'stopped') {
      this.refreshDone(h);
      if (h.queuedFlows === 0 || h.queuedFlows + n <= this.maxQueued) return;
      Atomics.wait(h.cs, CALL_STATE.batchesDone, h.doneSeen, this.sampleMs);
      this.sample();
    }
  }

  // ---- watchdog ----------------------------------------------------------------------------

  /** Samples every worker's call state: slow calls are reported, stalled calls stopped. */
  private sample(): void {
    const now = performance.now();
    for (const h of this.handles) {
      if (h.state === 'stopped' || h.worker === null) continue;
      const seq = Atomics.load(h.cs, CALL_STATE.seq);
      const slot = Atomics.load(h.cs, CALL_STATE.slot);
      const since = h.lastSampleAt;
      h.lastSampleAt = now;
      if (slot !== 0 && since > 0) h.sampledMs[slot - 1] = (h.sampledMs[slot - 1] ?? 0) + (now - since);
      if (slot === 0 || seq !== h.lastSeq || slot !== h.lastSlot) {
        h.lastSeq = seq;
        h.lastSlot = slot;
        h.seenSince = now;
        h.reportedSlow = false;
        continue;
      }
      // the same call is still running: it has run at least this long
      const ranMs = now - h.seenSince;
      const i = slot - 1;
      if (ranMs > (h.longestMs[i] ?? 0)) h.longestMs[i] = ranMs;
      const hook = HOOK_NAMES[Atomics.load(h.cs, CALL_STATE.hook) - 1] ?? 'onFlow';
      if (ranMs > hookHardLimitMs(this.budget, hook)) {
        this.onStall(h, i, hook, ranMs);
      } else if (!h.reportedSlow && hook !== 'setup' && ranMs > hookBudgetMs(this.budget, hook)) {
        h.reportedSlow = true;
        h.worker.postMessage({ type: 'slow', slot: i, hook, ms: ranMs } satisfies ToWorker);
      }
    }
  }

  private onStall(h: WorkerHandle, slot: number, hook: HookName, ranMs: number): void {
    const name = h.names[slot] ?? `${h.group.name}[${slot}]`;
    h.generation++; // the terminated worker's last words are ignored
    void h.worker?.terminate();
    const lost = h.queuedFlows;
    if (lost > 0) this.o.metrics?.flowsNotAnalyzed.inc({ worker: h.group.name, reason: 'terminated' }, lost);
    this.o.metrics?.stalls.inc({ analyzer: name });
    const prev = this.stalls.get(name);
    const count = (prev?.count ?? 0) + 1;
    const disable = count >= this.budget.maxStalls;
    const limit = hookHardLimitMs(this.budget, hook);
    const action = disable ? 'disabled' : 'restarted';
    this.stalls.set(name, { count, lastMs: Date.now(), hook, action });
    const summary = `analyzer ${name} stalled: ${hook} ran over ${limit} ms and its worker was terminated (${count} of ${this.budget.maxStalls} stalls); ${disable ? 'disabled' : 'restarted with fresh state'}`;
    this.o.log.error({ analyzer: name, worker: h.group.name, hook, ranMs: Math.round(ranMs), limitMs: limit, stalls: count, lostFlows: lost, action }, 'analyzer stalled: worker terminated');
    if (disable) {
      const st = h.status[slot] ?? stubStatus(name, '');
      this.disabledByStall.set(name, { ...st, enabled: false, disabledReason: `stalled ${count} times (last: ${hook} over ${limit} ms)` });
    }
    this.o.sink({
      analyzer: 'analyzer-host', severity: disable ? 'high' : 'medium', category: 'analyzer', rule: 'stalled', agentId: COLLECTOR_AGENT_ID,
      peer: name, summary, evidence: { analyzer: name, worker: h.group.name, hook, limitMs: limit, stalls: count, action, flowsNotAnalyzed: lost },
      tsUs: this.clockUs > 0 ? this.clockUs : Date.now() * 1000,
    });
    const plan = this.runnable(h);
    if (plan.length === 0 || this.closed) {
      h.state = 'stopped';
      h.worker = null;
      h.settle();
      h.finished?.([]);
      return;
    }
    this.spawn(h, plan, 'stall');
  }

  // ---- status ------------------------------------------------------------------------------

  status(): AnalyzerStatus[] {
    const out: AnalyzerStatus[] = [];
    const listed = new Set<string>();
    for (const h of this.handles) {
      h.status.forEach((s, i) => {
        if (this.disabledByStall.has(s.name)) return;
        listed.add(s.name);
        const sampled = h.sampledMs[i];
        const longest = h.longestMs[i];
        out.push({
          ...s,
          ...(sampled !== undefined ? { totalMs: Math.round(sampled) } : {}),
          ...(longest !== undefined && longest > s.maxMs ? { maxMs: Math.round(longest) } : {}),
          stalls: this.stalls.get(s.name)?.count ?? 0,
        });
      });
    }
    for (const [name, st] of this.disabledByStall) {
      if (!listed.has(name)) out.push({ ...st, stalls: this.stalls.get(name)?.count ?? 0 });
      listed.add(name);
    }
    for (const h of this.handles) {
      for (const f of h.loadFailed) if (!listed.has(f.name)) out.push(stubStatus(f.name, `not loaded: ${f.error}`));
    }
    return out;
  }

  queuedFlows(): Map<string, number> {
    const m = new Map<string, number>();
    for (const h of this.handles) {
      if (h.state !== 'stopped') this.refreshDone(h);
      m.set(h.group.name, h.state === 'stopped' ? 0 : h.queuedFlows);
    }
    return m;
  }

  /** Degraded while a stall is recent or a queue dropped records lately; notes name every disabled analyzer. */
  health(nowMs = Date.now()): { reasons: string[]; notes: string[] } {
    const reasons: string[] = [];
    for (const [name, s] of this.stalls) {
      if (nowMs - s.lastMs < RECENT_STALL_MS) reasons.push(`analyzer ${name} stalled ${Math.round((nowMs - s.lastMs) / 1000)} s ago in ${s.hook} (${s.count} of ${this.budget.maxStalls}): ${s.action}`);
    }
    for (const h of this.handles) {
      if (h.droppedRecently > 0 && nowMs - h.droppedAt < RECENT_DROP_MS) reasons.push(`analyzer worker ${h.group.name} is behind: ${h.droppedRecently} flow records not analyzed in the last minute`);
    }
    const notes = this.status().filter((s) => !s.enabled).map((s) => `analyzer ${s.name} disabled: ${s.disabledReason ?? 'unknown reason'}`);
    return { reasons, notes };
  }

  // ---- shutdown ----------------------------------------------------------------------------

  /** Sends what is batched, runs the final tick in every worker (bounded), collects the last alerts, stops the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.sendBatch();
    this.closed = true;
    const limitMs = hookHardLimitMs(this.budget, 'onTick') + 5000;
    await Promise.all(this.handles.map(async (h) => {
      if (h.state === 'stopped' || h.worker === null) return;
      const w = h.worker;
      const done = new Promise<void>((resolve) => {
        h.finished = () => resolve();
        w.once('exit', () => resolve());
        setTimeout(resolve, limitMs).unref();
      });
      try {
        await h.settled;
      } catch { /* it never started: nothing to finish */ }
      if (h.worker !== w) return; // stopped or replaced while starting
      w.postMessage({ type: 'finish' } satisfies ToWorker);
      await done;
    }));
    await this.terminateAll();
  }

  private async terminateAll(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await Promise.all(this.handles.map(async (h) => {
      const w = h.worker;
      h.state = 'stopped';
      h.worker = null;
      if (w) await w.terminate();
    }));
  }
}

function stubStatus(name: string, reason: string): AnalyzerStatus {
  return {
    name, enabled: false, disabledReason: reason || null, calls: 0, failures: 0, slowCalls: 0, totalMs: 0, maxMs: 0,
    alerts: 0, droppedAlerts: 0, lastError: null,
  };
}
