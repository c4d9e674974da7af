// One organisation, running: everything that used to be "the collector" minus the ports -
// its flow store (its own database), automatic responses with its own response key, its
// analyzers (worker threads) and alert pipeline, its threat watchlist, the flow side
// (ingest, recovery, retention), its control side (command queue, audit, agents), what the
// operators' API reads of its database (flows, alerts, DNS/TLS logs, packet export), payload
// retention, its quota, and its ingest lane for the agent server. Built by
// named steps from the collector config with the organisation's org.json over it; if a step
// fails, what was built is closed again; stop() closes it all in reverse. Its metrics are in a
// registry of its own with the default label org=<id>; its log lines carry org.
import { mkdirSync, statSync } from 'node:fs';
import { Gauge, Registry } from 'prom-client';
import { logger, type Logger } from '../../shared/log.js';
import { DEFAULT_ORG } from '../../shared/orgs/org-id.js';
import type { SqliteFlowStore } from '../../shared/store/sqlite-flow-store.js';
import { FlowService, openFlowStore, storeConfigFrom } from '../flow-service.js';
import { startIsolatedAnalysis, type IsolatedAnalysis } from '../analyze/analysis-runtime.js';
import { analyzerPlan, parseAnalysisConfig, type AnalysisConfigInput } from '../analyze/analysis-config.js';
import { ThreatWatchlist } from '../respond/threat-watchlist.js';
import { PacketThreatTap } from '../respond/packet-threat-tap.js';
import { MetaThreatTap } from '../respond/meta-threat-tap.js';
import { parseResponsesConfig } from '../respond/response-config.js';
import { loadOrCreateResponseKey } from '../respond/response-key.js';
import { ResponseEngine } from '../respond/response-engine.js';
import { ControlService } from '../control/control-service.js';
import { createPcapRoute } from '../control/pcap-export.js';
import { createAppLogRoute } from '../control/app-log-route.js';
import { openDataAccess } from '../control/data-access.js';
import { registerServiceMetrics } from '../service-metrics.js';
import { ALERT_STATES } from '../../shared/alerts/alert-types.js';
import type { OrgControl, OrgViews } from '../control/admin-api.js';
import { sqliteOrgViews } from '../control/org-data-reader.js';
import { startPayloadRetention, type RunningPayloadRetention } from '../payload/payload-hooks.js';
import { DumpCommitter } from '../server/dump-committer.js';
import { FlowStoreDumpLedger } from '../server/flow-store-ledger.js';
import type { IngestLane } from '../server/org-lanes.js';
import type { CollectorServer } from '../server/collector-server.js';
import type { CollectorServerConfig } from '../server/server-config.js';
import { effectiveOrgConfig, loadOrgConfig } from './org-config.js';
import { orgPaths } from './org-paths.js';
import { OrgQuota } from './org-quotas.js';
import type { OrgRegistry } from './org-registry.js';

export interface OrgRuntimeContext {
  cfg: CollectorServerConfig;
  orgs: OrgRegistry;
  /** the org's own audit is in its database; refused work is also counted here */
  log?: Logger;
  /** how often the bytes stored are measured again (default 30 s) and refusals summed up in the audit (60 s) */
  measureEveryMs?: number;
  reportEveryMs?: number;
}

/** Closers of what has been built so far, run in reverse order (on a failed start, or at stop). */
export class ShutdownStack {
  private readonly closers: Array<() => void | Promise<void>> = [];

  push(close: () => void | Promise<void>): void {
    this.closers.push(close);
  }

  async unwind(log: Logger): Promise<void> {
    while (this.closers.length > 0) {
      try {
        await this.closers.pop()!();
      } catch (e) {
        log.error({ err: (e as Error).message }, 'closing a part of the collector failed');
      }
    }
  }
}

function rawKey(cfg: CollectorServerConfig, key: string): unknown {
  return (cfg as Record<string, unknown>)[key];
}

/**
 * The sections every organisation runs from, checked without building anything: "store",
 * "responses", "analyzers", "analysis", "alerts" (ConfigError naming the key). The collector
 * checks its own config with this before anything starts, with or without organisations yet.
 */
export function checkOrgSections(cfg: CollectorServerConfig, source = 'collector config'): void {
  storeConfigFrom(cfg);
  parseResponsesConfig(rawKey(cfg, 'responses'));
  const analysis = parseAnalysisConfig({ analyzers: rawKey(cfg, 'analyzers'), analysis: rawKey(cfg, 'analysis'), alerts: rawKey(cfg, 'alerts') } as AnalysisConfigInput, source);
  analyzerPlan(analysis, source);
}

/** Bytes of a database with its WAL, plus the raw dumps the store still points at. */
function measureStored(store: SqliteFlowStore, dbPath: string): number {
  let n = 0;
  for (const suffix of ['', '-wal']) {
    try { n += statSync(dbPath + suffix).size; } catch { /* absent */ }
  }
  return n + store.rawBytesKept();
}

export class OrgRuntime implements OrgControl {
  readonly lane: IngestLane;
  readonly registry: ControlService['registry'];
  readonly queue: ControlService['queue'];
  readonly audit: ControlService['audit'];
  readonly pcap: OrgControl['pcap'];
  readonly appLogs: ReturnType<typeof createAppLogRoute>;
  readonly data: ReturnType<typeof openDataAccess>;
  readonly views: OrgViews;
  /** its metrics (default label org); the collector's /metrics merges them */
  readonly metrics: Registry;
  private server: CollectorServer | null = null;
  private payload: RunningPayloadRetention | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped: Promise<void> | null = null;

  private constructor(
    readonly org: string,
    readonly dbPath: string,
    readonly store: SqliteFlowStore,
    readonly analysis: IsolatedAnalysis,
    readonly responses: ResponseEngine | null,
    readonly control: ControlService,
    readonly flows: FlowService,
    readonly quota: OrgQuota,
    private readonly watchlist: ThreatWatchlist,
    private readonly built: ShutdownStack,
    private readonly ctx: OrgRuntimeContext,
    private readonly cfg: CollectorServerConfig,
    private readonly log: Logger,
    committer: DumpCommitter,
  ) {
    this.registry = control.registry;
    this.queue = control.queue;
    this.audit = control.audit;
    this.pcap = createPcapRoute({ dbPath, audit: control.audit, log });
    const appLogs = createAppLogRoute(dbPath);
    this.appLogs = appLogs;
    built.push(() => appLogs.close());
    // the API's own connections to the organisation's database (a long query never holds up ingest)
    this.data = openDataAccess(dbPath);
    this.views = sqliteOrgViews(dbPath);
    const data = this.data;
    built.push(() => data.close());
    this.metrics = new Registry();
    this.metrics.setDefaultLabels({ org });
    analysis.metrics.register(this.metrics);
    registerServiceMetrics(this.metrics, {
      flowRecords: () => flows.recordsBuilt,
      alertHits: () => analysis.pipeline.stats.byCategory,
      alertRows: () => Object.fromEntries(ALERT_STATES.map((state) => [state, analysis.store.count({ state })])),
      outputs: () => analysis.status().outputs,
      commands: () => control.queue.countByState(),
      analyzers: () => analysis.status().analyzers,
    });
    this.registerQuotaMetrics();
    this.lane = {
      org,
      committer,
      onDumpCommitted: flows.onDumpCommitted,
      onHeartbeat: (agentId, health) => {
        flows.onHeartbeat(agentId, health);
        control.hooks.onHeartbeat(agentId, health);
      },
      onCommandResult: control.hooks.onCommandResult,
      watchlist,
      admitDump: () => {
        const r = quota.admitDump();
        return r.ok ? null : { reason: r.reason, detail: r.detail };
      },
      noteStored: (bytes) => quota.noteStored(bytes),
    };
  }

  /** Builds the organisation's parts, step by step (closed again if one fails). */
  static async start(org: string, ctx: OrgRuntimeContext): Promise<OrgRuntime> {
    const log = (ctx.log ?? logger('collector')).child({ org });
    const built = new ShutdownStack();
    try {
      const paths = orgPaths(ctx.cfg.stateDir, org);
      mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
      const eff = effectiveOrgConfig(ctx.cfg, org, loadOrgConfig(paths.config), paths.config);
      const cfg = eff.config;
      // 1. its database (store.path: the pre-organisation location, default organisation only)
      const { store, dbPath } = openFlowStore(cfg, paths.db);
      built.push(() => store.close());
      // 2. automatic responses, signed with the organisation's own response key
      const responses = buildResponses(cfg, org, paths.responseKey, dbPath, log);
      if (responses) built.push(() => responses.close());
      // 3. analyzers in worker threads, alerts in its database
      const analysis = await startIsolatedAnalysis({
        db: dbPath,
        config: { analyzers: rawKey(cfg, 'analyzers'), analysis: rawKey(cfg, 'analysis'), alerts: rawKey(cfg, 'alerts') } as AnalysisConfigInput,
        configSource: org === DEFAULT_ORG && eff.analyzerBaseDir === undefined ? 'collector config' : `organisation ${org}`,
        ...(eff.analyzerBaseDir ? { baseDir: eff.analyzerBaseDir } : {}),
        flushEveryMs: 1000,
        log: log.child({ part: 'analyze' }),
      });
      built.push(() => analysis.close());
      if (responses) analysis.pipeline.onChanges = responses.onChanges;
      // 4. its threat watchlist, checked per packet here and pushed to its agents
      const watchlist = ThreatWatchlist.fromPlan(analysis.plan, analysis.baseDir, log.child({ part: 'watchlist' })).start();
      built.push(() => watchlist.stop());
      // 5. the flow side
      const flows = buildFlows(store, analysis, new PacketThreatTap(watchlist, analysis.pipeline.add), new MetaThreatTap(watchlist, analysis.pipeline.add), log.child({ part: 'flows' }));
      built.push(() => {
        analysis.pool.blockWhenBusy = true;
        flows.close();
      });
      analysis.pool.blockWhenBusy = true;
      try {
        flows.recover();
      } finally {
        analysis.pool.sendBatch();
        analysis.pool.blockWhenBusy = false;
      }
      flows.startRetention();
      // 6. its control side (commands, audit, agents) in its database
      const control = ControlService.open({ dbPath, log: log.child({ part: 'control' }) });
      built.push(() => control.close());
      // 7. where its uploads are committed
      const dumpDir = org === DEFAULT_ORG && typeof cfg.dumpDir === 'string' ? cfg.dumpDir : paths.dumps;
      const committer = await DumpCommitter.open({ dumpDir, ledger: new FlowStoreDumpLedger(store, dumpDir) });
      const quota = new OrgQuota(eff.quotas);
      const rt = new OrgRuntime(org, dbPath, store, analysis, responses, control, flows, quota, watchlist, built, ctx, cfg, log, committer);
      rt.measure();
      rt.timers.push(setInterval(() => rt.measure(), ctx.measureEveryMs ?? 30_000), setInterval(() => rt.reportRefusals(), ctx.reportEveryMs ?? 60_000));
      for (const t of rt.timers) t.unref();
      log.info({ db: dbPath, dumps: dumpDir, quotas: eff.quotas }, 'organisation running');
      return rt;
    } catch (e) {
      await built.unwind(log);
      throw e;
    }
  }

  /** Plugs the organisation into the running agent server: command delivery, watchlist pushes, metrics, payload retention. */
  attach(server: CollectorServer): void {
    this.server = server;
    const org = this.org;
    this.control.attach({
      sendCommand: (agentId, id, command) => server.sendCommand(org, agentId, id, command),
      agentSummaries: () => server.agentSummaries(org),
    });
    const unsubscribe = this.watchlist.subscribe(() => server.pushToOrg(org, this.watchlist.current()));
    this.built.push(unsubscribe);
    server.metrics.addOrgRegistry(org, this.metrics);
    this.built.push(() => server.metrics.removeOrgRegistry(org));
    this.payload = startPayloadRetention(this.cfg, this.dbPath, this.metrics, this.log.child({ part: 'payload' }));
    const payload = this.payload;
    this.built.push(() => payload.stop());
  }

  private registerQuotaMetrics(): void {
    const q = this.quota;
    const orgs = this.ctx.orgs;
    const org = this.org;
    new Gauge({
      name: 'meerkat_org_refused_total', help: 'Work an organisation\'s quota refused since start, by what (dumps-rate, bytes-stored, agents)',
      labelNames: ['what'] as const, registers: [this.metrics],
      collect() { for (const [what, n] of Object.entries(q.refused)) this.set({ what }, n); },
    });
    new Gauge({
      name: 'meerkat_org_bytes_stored', help: 'Bytes an organisation keeps (raw dumps and database), as last measured',
      registers: [this.metrics], collect() { this.set(q.bytesStored); },
    });
    new Gauge({
      name: 'meerkat_org_agents_enrolled', help: 'Agents enrolled into the organisation and not revoked',
      registers: [this.metrics], collect() { this.set(orgs.countAgents(org)); },
    });
  }

  private measure(): void {
    try {
      this.quota.setStored(measureStored(this.store, this.dbPath));
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'measuring the bytes stored failed');
    }
  }

  /** Refused work since the last report, summed up in the organisation's audit (one row, not one per refusal). */
  reportRefusals(): void {
    const r = this.quota.takeUnreported();
    if (!r) return;
    try {
      this.audit.record({ actor: 'collector', action: 'quota.refused', outcome: 'refused', detail: { refused: r, quotas: this.quota.quotas } });
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'audit of refused work failed');
    }
    this.log.warn({ refused: r }, 'quota refused work of this organisation');
  }

  // ---- OrgControl (the operators' API) -----------------------------------------------

  feeds(): ReturnType<NonNullable<OrgControl['feeds']>> {
    return this.watchlist.status();
  }

  liveAgents(): ReturnType<OrgControl['liveAgents']> {
    return this.control.liveAgents();
  }

  transportAgents(): unknown[] {
    return this.control.transportAgents();
  }

  submitted(cmd: Parameters<OrgControl['submitted']>[0]): void {
    this.control.submitted(cmd);
  }

  waitFor(id: string, timeoutMs: number): ReturnType<OrgControl['waitFor']> {
    return this.control.waitFor(id, timeoutMs);
  }

  hasAgent(agentId: string): boolean {
    return this.ctx.orgs.orgOfAgent(agentId) === this.org;
  }

  status(): Record<string, unknown> {
    const connected = this.server?.connectedAgents(this.org).length ?? 0;
    const h = this.analysis.health();
    return {
      agents: { enrolled: this.ctx.orgs.countAgents(this.org), connected },
      quota: this.quota.use(),
      health: { status: h.reasons.length ? 'degraded' : 'ok', reasons: h.reasons, notes: h.notes },
    };
  }

  health(): { reasons: string[]; notes: string[] } {
    const h = this.analysis.health();
    return { reasons: h.reasons.map((r) => `${this.org}: ${r}`), notes: h.notes.map((n) => `${this.org}: ${n}`) };
  }

  /** Ends open flows, writes pending alerts, closes everything of the organisation (once). */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      for (const t of this.timers) clearInterval(t);
      this.reportRefusals();
      await this.built.unwind(this.log);
      this.log.info('organisation stopped');
    })();
    return this.stopped;
  }
}

/** Config key "responses": an engine signing with the organisation's response key, or null without rules. */
function buildResponses(cfg: CollectorServerConfig, org: string, keyDir: string, dbPath: string, log: Logger): ResponseEngine | null {
  const rules = parseResponsesConfig(rawKey(cfg, 'responses'));
  if (rules.length === 0) return null;
  // responseKeyDir: where the pre-organisation collector kept it (default organisation only)
  const legacy = rawKey(cfg, 'responseKeyDir');
  const rk = loadOrCreateResponseKey(org === DEFAULT_ORG && typeof legacy === 'string' ? legacy : keyDir);
  log.info({ keyId: rk.key.keyId, pub: rk.pubFile, created: rk.created, rules: rules.length }, 'automatic responses on: authorise the organisation\'s response key on its agents (meerkat-agent response-key add)');
  return new ResponseEngine({ dbPath, rules, key: rk.key, log: log.child({ part: 'responses' }) });
}

/** The flow side with its taps: flow and application records to the analyzers, packet and metadata records to the DNS and threat taps. */
function buildFlows(store: SqliteFlowStore, analysis: IsolatedAnalysis, threatTap: PacketThreatTap, metaTap: MetaThreatTap, log: Logger): FlowService {
  const dnsTap = analysis.onPacket;
  return new FlowService(store, {
    onRecord: analysis.onRecord,
    onPacket: (rec, agentId, hasMeta) => { dnsTap(rec, agentId, hasMeta); threatTap.tap(rec, agentId); },
    onAppRecord: analysis.onAppRecord,
    onMeta: metaTap.tap,
    // a watchlist hit: store the alert now (a safe point: outside the flow transaction)
    onDumpBuilt: () => { if (threatTap.takeHits() + metaTap.takeHits() > 0) analysis.flush(); },
    onWatermark: (agentId, tUs) => analysis.advanceAgent(agentId, tUs),
  }, log);
}
