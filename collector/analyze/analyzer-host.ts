// Runs analyzer plug-ins over the flow stream: setup, per-flow / per-DNS-name / per-tick
// hooks, packet-time ticks, and isolation. Every hook call is timed; an exception, a
// rejected promise, an invalid alert or a call over its time budget is a failure, and an
// analyzer with maxFailures failures is disabled, closed and reported (an alert of
// category 'analyzer' and a log line) while the others go on.
//
// A synchronous call cannot be interrupted inside one JS thread. In-process (offline
// import, tests) a call is timed when it returns and an endless loop blocks the process. In
// an analyzer worker (analyzer-worker.ts) the host is given a CallState instead: it publishes
// which analyzer runs which hook, without reading a clock per call, and the collector's main
// thread watches it (analyzer-pool.ts): a call over its budget is reported back here as a
// slow call (reportSlowCall), a call over the hard limit gets the worker terminated. Async
// setup is raced against its budget either way.
//
// Ticks follow PACKET time: the newest record end seen. When it passes the next tick
// boundary, every analyzer's onTick runs once with that time (a long gap gives one tick,
// not one per missed interval). finish() runs a last tick with ctx.finalTick = true.
import { logger, type Logger } from '../../shared/log.js';
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import { type Analyzer, type AnalyzerContext, type DnsNameInfo } from './analyzer.js';
import type { AppRecord, DnsRecord } from '../../shared/flow/app-records.js';
import { SEVERITIES, type AlertInput, type EmittedAlert, type Severity } from '../../shared/alerts/alert-record.js';
import { analyzeDnsPayload } from '../../shared/appmeta/dns.js';
import { FlowClassifier, type FlowSides } from './flow-sides.js';
import type { HostAddressOptions } from './host-addresses.js';
import { checkAnalyzerConfig } from './analyzer-config-check.js';

export interface AnalyzerBudget {
  /** ms one onFlow call may take (default 100) */
  flowMs: number;
  /** ms one onDnsName, onDns, onTls or onHttp call may take (default 100) */
  dnsMs: number;
  /** ms one onTick call may take (default 5000) */
  tickMs: number;
  /** ms setup may take, async included (default 30000) */
  setupMs: number;
  /** failures before an analyzer is disabled (default 5) */
  maxFailures: number;
  /** alerts one analyzer may emit between two ticks; more are dropped and counted (default 10000) */
  maxAlertsPerTick: number;
  /**
   * Hard limit of one call in an analyzer worker, ms (default 10000; a hook whose own budget is
   * larger gets that): a call running longer is stopped by terminating its worker.
   */
  stallMs: number;
  /** stalls after which the analyzer is disabled instead of restarted (default 3) */
  maxStalls: number;
}

export const DEFAULT_BUDGET: Readonly<AnalyzerBudget> = Object.freeze({
  flowMs: 100, dnsMs: 100, tickMs: 5000, setupMs: 30_000, maxFailures: 5, maxAlertsPerTick: 10_000, stallMs: 10_000, maxStalls: 3,
});

/** The soft budget (a slow call: a failure) of a hook, ms. */
export function hookBudgetMs(b: AnalyzerBudget, hook: HookName): number {
  return hook === 'onFlow' ? b.flowMs : hook === 'onTick' ? b.tickMs : hook === 'setup' ? b.setupMs : b.dnsMs;
}

/** The hard limit of a hook in a worker, ms: stallMs, or the hook's own budget when that is larger. */
export function hookHardLimitMs(b: AnalyzerBudget, hook: HookName): number {
  return Math.max(b.stallMs, hookBudgetMs(b, hook));
}

export interface AnalyzerStatus {
  name: string;
  enabled: boolean;
  disabledReason: string | null;
  calls: number;
  failures: number;
  slowCalls: number;
  /** total / longest measured call time (ms) */
  totalMs: number;
  maxMs: number;
  alerts: number;
  droppedAlerts: number;
  lastError: string | null;
  /** times a call of it was stopped at the hard limit (analyzer workers only) */
  stalls?: number;
}

export interface AnalyzerHostOptions {
  /** receives every alert (the alert pipeline) */
  sink: (alert: EmittedAlert) => void;
  /** packet-time tick interval, µs (default 60 s) */
  tickIntervalUs?: number;
  budget?: Partial<AnalyzerBudget>;
  /** internal prefixes (default: anonymizer defaults + loopback/multicast) and host-address learning */
  internalPrefixes?: readonly string[];
  hosts?: HostAddressOptions;
  /** folder for relative paths in analyzer configs (default cwd) */
  baseDir?: string;
  log?: Logger;
  /** monotonic ms clock used to time calls (tests may inject one) */
  perfNow?: () => number;
  /**
   * Publish each call here instead of timing it (analyzer workers; see CALL_STATE): budgets
   * are then enforced by whoever watches it, through reportSlowCall().
   */
  callState?: Int32Array;
}

/**
 * Layout of the shared call state of an analyzer worker (Int32Array over a SharedArrayBuffer):
 * a counter bumped at every call, the slot index + 1 of the analyzer being called (0: none),
 * its hook, and the number of batches the worker has finished (backpressure).
 */
export const CALL_STATE = { seq: 0, slot: 1, hook: 2, batchesDone: 3, length: 4 } as const;

/** Hook codes in CALL_STATE.hook. */
export const HOOK_CODES = { onFlow: 1, onDnsName: 2, onTick: 3, setup: 4, onDns: 5, onTls: 6, onHttp: 7 } as const;
export type HookName = keyof typeof HOOK_CODES;
export const HOOK_NAMES: readonly HookName[] = ['onFlow', 'onDnsName', 'onTick', 'setup', 'onDns', 'onTls', 'onHttp'];

/** Agent id used for alerts about the analysis itself (not about an agent's traffic). */
export const COLLECTOR_AGENT_ID = 'collector';

const MAX_TEXT = 1000;
const INVALID = Symbol('invalid config');

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Why an emitted alert is unusable, or '' when it is fine. */
export function alertProblem(a: unknown): string {
  if (typeof a !== 'object' || a === null) return 'alert must be an object';
  const x = a as Record<string, unknown>;
  if (!SEVERITIES.includes(x.severity as Severity)) return `severity must be one of ${SEVERITIES.join(', ')}, got ${JSON.stringify(x.severity)}`;
  if (typeof x.category !== 'string' || x.category.length === 0 || x.category.length > 100) return 'category must be a non-empty string (<= 100 chars)';
  if (x.rule !== undefined && (typeof x.rule !== 'string' || x.rule.length > 200)) return 'rule must be a string (<= 200 chars)';
  if (typeof x.agentId !== 'string' || x.agentId.length === 0) return 'agentId must be a non-empty string';
  if (typeof x.summary !== 'string') return 'summary must be a string';
  if (typeof x.evidence !== 'object' || x.evidence === null || Array.isArray(x.evidence)) return 'evidence must be an object';
  if (typeof x.tsUs !== 'number' || !Number.isFinite(x.tsUs)) return 'tsUs must be a finite number (packet time, µs)';
  if (x.peer !== undefined && typeof x.peer !== 'string') return 'peer must be a string';
  if (x.host !== undefined && typeof x.host !== 'string') return 'host must be a string';
  return '';
}

/** The context handed to one analyzer; the host's state stays in true private fields. */
class SlotContext implements AnalyzerContext {
  readonly #slot: Slot;
  readonly #host: AnalyzerHost;
  readonly log: Logger;

  constructor(slot: Slot, host: AnalyzerHost, log: Logger) {
    this.#slot = slot;
    this.#host = host;
    this.log = log;
  }

  get analyzer(): string {
    return this.#slot.name;
  }

  get finalTick(): boolean {
    return this.#host.inFinalTick;
  }

  get baseDir(): string {
    return this.#host.baseDir;
  }

  emit(alert: AlertInput): void {
    this.#host.emitFrom(this.#slot, alert);
  }

  nowUs(): number {
    return this.#host.clockUs;
  }

  agentNowUs(agentId: string): number {
    return this.#host.agentClockUs(agentId);
  }

  sides(rec: FlowRecord): FlowSides {
    return this.#host.classifier.classify(rec);
  }
}

class Slot {
  enabled = true;
  alertsThisTick = 0;
  readonly status: AnalyzerStatus;
  readonly log: Logger;
  readonly ctx: SlotContext;

  constructor(readonly impl: Analyzer, readonly name: string, readonly index: number, host: AnalyzerHost, parentLog: Logger) {
    this.status = {
      name, enabled: true, disabledReason: null, calls: 0, failures: 0, slowCalls: 0, totalMs: 0, maxMs: 0,
      alerts: 0, droppedAlerts: 0, lastError: null,
    };
    this.log = parentLog.child({ analyzer: name });
    this.ctx = new SlotContext(this, host, this.log);
  }
}

export class AnalyzerHost {
  readonly classifier: FlowClassifier;
  readonly baseDir: string;
  readonly tickIntervalUs: number;
  /** newest record end seen (packet time, µs) */
  clockUs = 0;
  inFinalTick = false;
  private nextTickUs = 0;
  private readonly agentClocks = new Map<string, number>();
  private readonly slots: Slot[] = [];
  private flowSlots: Slot[] = [];
  private readonly budget: AnalyzerBudget;
  private readonly sink: (a: EmittedAlert) => void;
  private readonly log: Logger;
  private readonly perfNow: () => number;
  private readonly callState: Int32Array | null;
  private closed = false;
  /** the record / DNS name being handed to the analyzers (null outside onFlow / onDnsName) */
  private current: FlowRecord | null = null;
  private currentDns: DnsNameInfo | null = null;
  /** records seen */
  flows = 0;
  /** application records seen (DNS transactions, TLS handshakes, HTTP requests) */
  appRecords = 0;
  ticks = 0;

  constructor(opts: AnalyzerHostOptions) {
    this.sink = opts.sink;
    this.tickIntervalUs = Math.max(1, Math.floor(opts.tickIntervalUs ?? 60_000_000));
    this.budget = { ...DEFAULT_BUDGET, ...(opts.budget ?? {}) };
    this.classifier = new FlowClassifier({
      ...(opts.internalPrefixes ? { internalPrefixes: opts.internalPrefixes } : {}),
      ...(opts.hosts ? { hosts: opts.hosts } : {}),
    });
    this.baseDir = opts.baseDir ?? process.cwd();
    this.log = opts.log ?? logger('analyze');
    this.perfNow = opts.perfNow ?? (() => performance.now());
    this.callState = opts.callState ?? null;
  }

  /** The analyzer about to be called, for the watcher of the call state (a no-op in-process). */
  private publish(s: Slot, hook: number): void {
    const cs = this.callState;
    if (cs === null) return;
    cs[CALL_STATE.seq]!++;
    cs[CALL_STATE.slot] = s.index + 1;
    cs[CALL_STATE.hook] = hook;
  }

  private publishIdle(): void {
    if (this.callState !== null) this.callState[CALL_STATE.slot] = 0;
  }

  /** Names in use (an added analyzer with a taken name gets "#2", "#3"...). */
  private uniqueName(name: string): string {
    let n = name;
    for (let i = 2; this.slots.some((s) => s.name === n); i++) n = `${name}#${i}`;
    return n;
  }

  /**
   * Adds an analyzer and runs its setup (within the setup budget). Returns false when setup
   * failed: the analyzer is then disabled and reported, the host carries on without it.
   */
  async add(analyzer: Analyzer, config: unknown = {}, name?: string): Promise<boolean> {
    const slot = new Slot(analyzer, this.uniqueName(name ?? String(analyzer.name)), this.slots.length, this, this.log);
    this.slots.push(slot);
    const checked = this.checkConfig(slot, config);
    if (checked === INVALID) return false;
    if (typeof analyzer.setup === 'function') {
      const t0 = this.perfNow();
      let timer: NodeJS.Timeout | undefined;
      try {
        this.publish(slot, HOOK_CODES.setup);
        const r = analyzer.setup(checked, slot.ctx);
        this.publishIdle();
        if (r !== undefined && typeof (r as Promise<void>).then === 'function') {
          await Promise.race([
            r,
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`setup did not finish within ${this.budget.setupMs} ms`)), this.budget.setupMs);
            }),
          ]);
        }
      } catch (e) {
        this.publishIdle();
        this.disable(slot, `setup failed: ${errorText(e)}`);
        return false;
      } finally {
        if (timer) clearTimeout(timer);
      }
      const dt = this.perfNow() - t0;
      if (dt > this.budget.setupMs) {
        this.disable(slot, `setup took ${dt.toFixed(0)} ms (budget ${this.budget.setupMs} ms)`);
        return false;
      }
    }
    this.flowSlots = this.slots.filter((s) => s.enabled && typeof s.impl.onFlow === 'function');
    return true;
  }

  /**
   * add() for analyzers whose setup is synchronous (built-ins; benchmarks and tools that
   * cannot await). A setup that returns a promise is refused (use add()).
   */
  addSync(analyzer: Analyzer, config: unknown = {}, name?: string): boolean {
    const slot = new Slot(analyzer, this.uniqueName(name ?? String(analyzer.name)), this.slots.length, this, this.log);
    this.slots.push(slot);
    const checked = this.checkConfig(slot, config);
    if (checked === INVALID) return false;
    if (typeof analyzer.setup === 'function') {
      try {
        this.publish(slot, HOOK_CODES.setup);
        const r = analyzer.setup(checked, slot.ctx) as unknown;
        this.publishIdle();
        if (r !== undefined && typeof (r as Promise<void>).then === 'function') {
          (r as Promise<void>).then(undefined, () => undefined);
          throw new Error('setup is asynchronous: use add()');
        }
      } catch (e) {
        this.publishIdle();
        this.disable(slot, `setup failed: ${errorText(e)}`);
        return false;
      }
    }
    this.flowSlots = this.slots.filter((s) => s.enabled && typeof s.impl.onFlow === 'function');
    return true;
  }

  /** The config validated against the analyzer's declared schema, or INVALID (the analyzer is then disabled and reported). */
  private checkConfig(slot: Slot, config: unknown): unknown {
    try {
      return checkAnalyzerConfig(slot.impl.configSchema, config, `${slot.name} config`);
    } catch (e) {
      this.disable(slot, `config invalid: ${e instanceof Error ? e.message : String(e)}`);
      return INVALID;
    }
  }

  /** Reports an analyzer that could not even be loaded (bad module path, bad export). */
  reportLoadFailure(name: string, error: string): void {
    this.log.error({ analyzer: name, err: error }, 'analyzer not loaded');
    this.sink({
      analyzer: 'analyzer-host', severity: 'medium', category: 'analyzer', rule: 'load-failed', agentId: COLLECTOR_AGENT_ID,
      peer: name, summary: `analyzer ${name} could not be loaded: ${error}`.slice(0, MAX_TEXT),
      evidence: { analyzer: name, error }, tsUs: this.clockUs,
    });
  }

  agentClockUs(agentId: string): number {
    return this.agentClocks.get(agentId) ?? 0;
  }

  /** Feeds one flow record to every analyzer (ticking first when packet time crossed a boundary). */
  onFlow(rec: FlowRecord): void {
    if (this.closed) return;
    this.flows++;
    const t = rec.end;
    const prev = this.agentClocks.get(rec.agent_id);
    if (prev === undefined || t > prev) this.agentClocks.set(rec.agent_id, t);
    if (t > this.clockUs) {
      this.clockUs = t;
      if (this.nextTickUs === 0) this.nextTickUs = this.boundaryAfter(t);
      else if (t >= this.nextTickUs) this.tick(t);
    }
    this.classifier.observe(rec);
    this.current = rec;
    try {
      if (this.callState === null) this.flowTimed(rec);
      else this.flowWatched(rec, this.callState);
    } finally {
      this.current = null;
    }
  }

  /** In-process: one clock read between two analyzers, each call's time is the difference. */
  private flowTimed(rec: FlowRecord): void {
    const slots = this.flowSlots;
    let t0 = this.perfNow();
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i]!;
      if (!s.enabled) continue;
      try {
        const r = s.impl.onFlow!(rec, s.ctx) as unknown;
        if (r !== undefined) this.watchPromise(s, r, 'onFlow');
      } catch (e) {
        this.fail(s, 'onFlow', errorText(e));
      }
      const t1 = this.perfNow();
      this.measure(s, 'onFlow', t1 - t0, this.budget.flowMs);
      t0 = t1;
    }
  }

  /** In a worker: no clock per call, each call published in the call state (its watcher times it). */
  private flowWatched(rec: FlowRecord, cs: Int32Array): void {
    const slots = this.flowSlots;
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i]!;
      if (!s.enabled) continue;
      cs[CALL_STATE.seq]!++;
      cs[CALL_STATE.slot] = s.index + 1;
      cs[CALL_STATE.hook] = HOOK_CODES.onFlow;
      try {
        const r = s.impl.onFlow!(rec, s.ctx) as unknown;
        if (r !== undefined) this.watchPromise(s, r, 'onFlow');
      } catch (e) {
        this.fail(s, 'onFlow', errorText(e));
      }
      s.status.calls++;
    }
    cs[CALL_STATE.slot] = 0;
  }

  /**
   * A call the watcher saw running past its budget (workers): counts as a slow call and a
   * failure, as a timed call over budget does in-process. `ms`: how long it was seen running.
   */
  reportSlowCall(slotIndex: number, hook: HookName, ms: number): void {
    const s = this.slots[slotIndex];
    if (s === undefined || !s.enabled) return;
    const st = s.status;
    st.slowCalls++;
    this.fail(s, hook, `${hook} ran for more than ${ms.toFixed(0)} ms (budget ${hookBudgetMs(this.budget, hook)} ms)`);
  }


  /**
   * Moves one agent's packet time forward without a record (the agent reported that all
   * its packets before tUs are stored: its windows may close).
   */
  advanceAgent(agentId: string, tUs: number): void {
    if (this.closed) return;
    const prev = this.agentClocks.get(agentId);
    if (prev === undefined || tUs > prev) this.agentClocks.set(agentId, tUs);
    this.advanceTo(tUs);
  }

  /** Moves packet time forward without a record (e.g. a dump that completed no flow). */
  advanceTo(nowUs: number): void {
    if (this.closed || !(nowUs > this.clockUs)) return;
    this.clockUs = nowUs;
    if (this.nextTickUs === 0) this.nextTickUs = this.boundaryAfter(nowUs);
    else if (nowUs >= this.nextTickUs) this.tick(nowUs);
  }

  /** Hands a DNS name to the analyzers that want names. */
  onDnsName(name: string, rec: FlowRecord | undefined, info: DnsNameInfo): void {
    if (this.closed) return;
    this.currentDns = info;
    try {
      for (const s of this.slots) {
        if (!s.enabled || typeof s.impl.onDnsName !== 'function') continue;
        this.invoke(s, 'onDnsName', () => s.impl.onDnsName!(name, rec, s.ctx, info));
      }
    } finally {
      this.currentDns = null;
    }
  }

  /**
   * An application record (the flow engine's onAppRecord): to onDns / onTls / onHttp, and a DNS
   * transaction's clear names to onDnsName (question, then the names its answers point to).
   */
  onApp(a: AppRecord): void {
    if (this.closed) return;
    this.appRecords++;
    switch (a.kind) {
      case 'dns': {
        const r = a.record;
        for (const s of this.slots) {
          if (s.enabled && typeof s.impl.onDns === 'function') this.invoke(s, 'onDns', () => s.impl.onDns!(r, s.ctx));
        }
        this.dnsNames(r);
        return;
      }
      case 'tls': {
        const r = a.record;
        for (const s of this.slots) {
          if (s.enabled && typeof s.impl.onTls === 'function') this.invoke(s, 'onTls', () => s.impl.onTls!(r, s.ctx));
        }
        return;
      }
      case 'http': {
        const r = a.record;
        for (const s of this.slots) {
          if (s.enabled && typeof s.impl.onHttp === 'function') this.invoke(s, 'onHttp', () => s.impl.onHttp!(r, s.ctx));
        }
        return;
      }
    }
  }

  private dnsNames(r: DnsRecord): void {
    if (!this.slots.some((s) => s.enabled && typeof s.impl.onDnsName === 'function')) return;
    const info: DnsNameInfo = { agentId: r.agent_id, tsUs: r.ts, role: 'query', client: r.orig_addr, server: r.resp_addr, clientAnon: r.orig_anon, uid: r.uid };
    if (r.query !== null && !r.query_anon) this.onDnsName(r.query, undefined, info);
    info.role = 'answer';
    for (const a of r.answers) {
      if (!a.anon && a.data !== '' && a.type !== 'A' && a.type !== 'AAAA') this.onDnsName(a.data, undefined, info);
    }
  }

  /**
   * Parses a captured DNS payload (UDP, or TCP with tcp=true) and hands each name to the
   * analyzers. Returns the number of names (0 when the payload is not DNS).
   */
  onDnsPayload(payload: Uint8Array, info: Omit<DnsNameInfo, 'role'> & { tcp?: boolean }, rec?: FlowRecord): number {
    const summary = analyzeDnsPayload(payload, { tcp: info.tcp ?? false });
    if (summary === null) return 0;
    const base: DnsNameInfo = { agentId: info.agentId, tsUs: info.tsUs, role: 'query' };
    if (info.client !== undefined) base.client = info.client;
    if (info.server !== undefined) base.server = info.server;
    if (info.clientAnon !== undefined) base.clientAnon = info.clientAnon;
    for (let i = 0; i < summary.names.length; i++) {
      base.role = i < summary.questionNames ? 'query' : 'answer';
      this.onDnsName(summary.names[i]!, rec, base);
    }
    return summary.names.length;
  }

  /** The last tick of a stream (end of an import, shutdown): analyzers may evaluate partial windows. */
  finish(): void {
    if (this.closed) return;
    this.inFinalTick = true;
    try {
      this.tick(this.clockUs);
    } finally {
      this.inFinalTick = false;
    }
  }

  /** Closes every analyzer (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.slots) {
      if (typeof s.impl.close !== 'function') continue;
      try {
        s.impl.close();
      } catch (e) {
        s.log.warn({ err: errorText(e) }, 'close failed');
      }
    }
  }

  status(): AnalyzerStatus[] {
    return this.slots.map((s) => ({ ...s.status, enabled: s.enabled }));
  }

  private boundaryAfter(t: number): number {
    return (Math.floor(t / this.tickIntervalUs) + 1) * this.tickIntervalUs;
  }

  private tick(nowUs: number): void {
    this.ticks++;
    this.nextTickUs = this.boundaryAfter(nowUs);
    for (const s of this.slots) {
      s.alertsThisTick = 0;
      if (!s.enabled || typeof s.impl.onTick !== 'function') continue;
      this.invoke(s, 'onTick', () => s.impl.onTick!(nowUs, s.ctx));
    }
  }

  /** One call of a rarer hook (DNS names, ticks): timed in-process, published in a worker. */
  private invoke(s: Slot, hook: 'onDnsName' | 'onTick' | 'onDns' | 'onTls' | 'onHttp', call: () => unknown): void {
    const watched = this.callState !== null;
    const t0 = watched ? 0 : this.perfNow();
    if (watched) this.publish(s, HOOK_CODES[hook]);
    try {
      const r = call();
      if (r !== undefined) this.watchPromise(s, r, hook);
    } catch (e) {
      this.fail(s, hook, errorText(e));
    }
    if (watched) {
      this.publishIdle();
      s.status.calls++;
    } else {
      this.measure(s, hook, this.perfNow() - t0, hookBudgetMs(this.budget, hook));
    }
  }

  /** A hook returned something: if it is a promise, its rejection is a failure (never unhandled). */
  private watchPromise(s: Slot, r: unknown, hook: string): void {
    if (typeof r === 'object' && r !== null && typeof (r as Promise<unknown>).then === 'function') {
      (r as Promise<unknown>).then(undefined, (e: unknown) => this.fail(s, hook, errorText(e)));
    }
  }

  private measure(s: Slot, hook: string, dt: number, budgetMs: number): void {
    const st = s.status;
    st.calls++;
    st.totalMs += dt;
    if (dt > st.maxMs) st.maxMs = dt;
    if (dt > budgetMs && s.enabled) {
      st.slowCalls++;
      this.fail(s, hook, `${hook} took ${dt.toFixed(1)} ms (budget ${budgetMs} ms)`);
    }
  }

  private fail(s: Slot, hook: string, error: string): void {
    if (!s.enabled) return;
    const st = s.status;
    st.failures++;
    st.lastError = `${hook}: ${error}`.slice(0, MAX_TEXT);
    // log the first failures, then only the disabling, so a broken analyzer cannot flood the log
    if (st.failures <= 3) s.log.warn({ hook, err: error, failures: st.failures }, 'analyzer call failed');
    if (st.failures >= this.budget.maxFailures) this.disable(s, `${st.failures} failures, last: ${st.lastError}`);
  }

  private disable(s: Slot, reason: string): void {
    if (!s.enabled) return;
    s.enabled = false;
    s.status.enabled = false;
    s.status.disabledReason = reason.slice(0, MAX_TEXT);
    this.flowSlots = this.flowSlots.filter((x) => x !== s);
    s.log.error({ reason }, 'analyzer disabled');
    try {
      s.impl.close?.();
    } catch { /* already failing */ }
    this.sink({
      analyzer: 'analyzer-host', severity: 'medium', category: 'analyzer', rule: 'disabled', agentId: COLLECTOR_AGENT_ID,
      peer: s.name, summary: `analyzer ${s.name} disabled: ${reason}`.slice(0, MAX_TEXT),
      evidence: {
        analyzer: s.name, failures: s.status.failures, slowCalls: s.status.slowCalls, lastError: s.status.lastError,
        calls: s.status.calls, maxMs: Math.round(s.status.maxMs * 10) / 10,
      },
      tsUs: this.clockUs,
    });
  }

  /** @internal called through a context's emit() */
  emitFrom(s: Slot, alert: AlertInput): void {
    if (!s.enabled) return;
    const problem = alertProblem(alert);
    if (problem !== '') {
      this.fail(s, 'emit', `invalid alert: ${problem}`);
      return;
    }
    if (s.alertsThisTick >= this.budget.maxAlertsPerTick) {
      s.status.droppedAlerts++;
      return;
    }
    s.alertsThisTick++;
    s.status.alerts++;
    const out: EmittedAlert = { ...alert, analyzer: s.name };
    // an alert raised on a flow (a DNS name) is about its local host (the DNS client) unless the analyzer says otherwise
    if (out.host === undefined) {
      const rec = this.current;
      const dns = this.currentDns;
      if (rec !== null && rec.agent_id === out.agentId) out.host = this.classifier.classify(rec).localAddr;
      else if (dns !== null && dns.agentId === out.agentId && dns.client !== undefined) out.host = dns.client;
    }
    if (out.summary.length > MAX_TEXT) out.summary = out.summary.slice(0, MAX_TEXT);
    this.sink(out);
  }
}
