// The running collector, wired in one place (the twin of agent/agent-service.ts): the flow
// store, the analyzers and the alert pipeline, automatic responses, the threat watchlist and
// its per-packet tap, the flow side (ingest, recovery, retention), the control side (command
// queue, operators' API) and the agent-facing server. Each part is built by a named
// step; if a step fails, what was built is closed again, and stop() closes it all in reverse.
// `meerkat-collector run` only turns flags into a config and calls startCollectorService.
import { logger, type Logger } from '../shared/log.js';
import { UsageError } from '../shared/cli/run-cli.js';
import { RevocationListError } from '../certs/errors.js';
import { KeyFileError } from '../shared/keys/key-file-error.js';
import type { SqliteFlowStore } from '../shared/store/sqlite-flow-store.js';
import { CollectorServer, type CollectorServerOptions } from './server/collector-server.js';
import { apiCertNames, effectiveLimits, resolvedDirs, splitHostPort, type CollectorServerConfig } from './server/server-config.js';
import { FlowService, openFlowStore } from './flow-service.js';
import { startIsolatedAnalysis, type IsolatedAnalysis } from './analyze/analysis-runtime.js';
import type { AnalysisConfigInput } from './analyze/analysis-config.js';
import { ThreatWatchlist } from './respond/threat-watchlist.js';
import { PacketThreatTap } from './respond/packet-threat-tap.js';
import { MetaThreatTap } from './respond/meta-threat-tap.js';
import { parseResponsesConfig } from './respond/response-config.js';
import { loadOrCreateResponseKey, responseKeyDir } from './respond/response-key.js';
import { ResponseEngine } from './respond/response-engine.js';
import { ControlService } from './control/control-service.js';
import { startPayloadRetention } from './payload/payload-hooks.js';
import { registerServiceMetrics } from './service-metrics.js';
import { ALERT_STATES } from '../shared/alerts/alert-types.js';

export interface CollectorServiceOptions {
  /** register the process's default metrics (default true; tests running several collectors turn it off) */
  defaultMetrics?: boolean;
}

export interface CollectorService {
  readonly server: CollectorServer;
  readonly control: ControlService;
  readonly flows: FlowService;
  readonly analysis: IsolatedAnalysis;
  /** null when the config has no "responses" rules */
  readonly responses: ResponseEngine | null;
  /** Stops accepting agents, drains uploads under way, ends open flows, writes pending alerts, closes everything. */
  stop(): Promise<void>;
}

/** Closers of what has been built so far, run in reverse order (on a failed start, or at stop). */
class ShutdownStack {
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

/** A config key another part validates (analyzers, responses, ...). */
export function rawKey(cfg: CollectorServerConfig, key: string): unknown {
  return (cfg as Record<string, unknown>)[key];
}

/** Config key "responses": a response engine signing with the collector's response key, or null without rules. */
function buildResponses(cfg: CollectorServerConfig, dbPath: string, log: Logger): ResponseEngine | null {
  const rules = parseResponsesConfig(rawKey(cfg, 'responses'));
  if (rules.length === 0) return null;
  const dir = rawKey(cfg, 'responseKeyDir');
  const rk = loadOrCreateResponseKey(typeof dir === 'string' ? dir : responseKeyDir(cfg.stateDir));
  log.info({ keyId: rk.key.keyId, pub: rk.pubFile, created: rk.created, rules: rules.length }, 'automatic responses on: authorise the response key on agents (meerkat-agent response-key add)');
  return new ResponseEngine({ dbPath, rules, key: rk.key, log: logger('responses') });
}

/**
 * Config keys "analyzers", "analysis", "alerts": analyzers in worker threads (a stalled one is
 * stopped, ingest goes on) and the alert pipeline here (alerts in the collector database; the
 * response engine and its signing key stay in this thread).
 */
async function buildAnalysis(cfg: CollectorServerConfig, dbPath: string, responses: ResponseEngine | null): Promise<IsolatedAnalysis> {
  const analysis = await startIsolatedAnalysis({
    db: dbPath,
    config: { analyzers: rawKey(cfg, 'analyzers'), analysis: rawKey(cfg, 'analysis'), alerts: rawKey(cfg, 'alerts') } as AnalysisConfigInput,
    configSource: 'collector config',
    flushEveryMs: 1000,
    log: logger('analyze'),
  });
  if (responses) analysis.pipeline.onChanges = responses.onChanges;
  return analysis;
}

/** The flow side with its taps: flow and application records to the analyzers, packet and metadata records to the DNS and threat taps. */
function buildFlows(store: SqliteFlowStore, analysis: IsolatedAnalysis, threatTap: PacketThreatTap, metaTap: MetaThreatTap): FlowService {
  const dnsTap = analysis.onPacket;
  return new FlowService(store, {
    onRecord: analysis.onRecord,
    onPacket: (rec, agentId, hasMeta) => { dnsTap(rec, agentId, hasMeta); threatTap.tap(rec, agentId); },
    onAppRecord: analysis.onAppRecord,
    onMeta: metaTap.tap,
    // a watchlist hit: store the alert now (a safe point: outside the flow transaction)
    onDumpBuilt: () => { if (threatTap.takeHits() + metaTap.takeHits() > 0) analysis.flush(); },
    onWatermark: (agentId, tUs) => analysis.advanceAgent(agentId, tUs),
  }, logger('flows'));
}

/** Crash recovery rebuilds many dumps at once: let it wait for the analyzers instead of dropping records for them. */
function recoverFlows(flows: FlowService, analysis: IsolatedAnalysis): void {
  analysis.pool.blockWhenBusy = true;
  try {
    flows.recover();
  } finally {
    analysis.pool.sendBatch();
    analysis.pool.blockWhenBusy = false;
  }
}

/** The control side: command queue, results, audit and the operators' API (config keys "api", "apiNames"). */
function openControl(cfg: CollectorServerConfig, dbPath: string): Promise<ControlService> {
  return ControlService.open({
    dbPath,
    pkiDir: resolvedDirs(cfg).pkiDir,
    listen: cfg.api === 'off' ? false : splitHostPort(cfg.api),
    adminNames: apiCertNames(cfg),
    log: logger('control'),
  });
}

/** The agent-facing TLS server (enrollment, WebSocket uploads) and the plain ops port (also a scale-out front-end's, collector/scale). */
export function startServer(cfg: CollectorServerConfig, parts: Pick<CollectorServerOptions, 'store' | 'committer' | 'watchlist' | 'onDumpCommitted' | 'onHeartbeat' | 'onCommandResult' | 'defaultMetrics' | 'healthChecks'>): Promise<CollectorServer> {
  return CollectorServer.start({
    ...resolvedDirs(cfg),
    listen: splitHostPort(cfg.listen),
    ops: cfg.ops === 'off' ? false : splitHostPort(cfg.ops),
    tlsMinVersion: cfg.tls.minVersion === '1.2' ? 'TLSv1.2' : 'TLSv1.3',
    limits: effectiveLimits(cfg),
    agentCertDays: cfg.agentCertDays,
    ...parts,
  });
}

export async function startCollectorService(cfg: CollectorServerConfig, opts: CollectorServiceOptions = {}): Promise<CollectorService> {
  const log = logger('collector');
  const built = new ShutdownStack();
  try {
    const { store, dbPath } = openFlowStore(cfg);
    built.push(() => store.close());
    log.info({ db: dbPath }, 'flow store open');
    const responses = buildResponses(cfg, dbPath, log);
    if (responses) built.push(() => responses.close());
    const analysis = await buildAnalysis(cfg, dbPath, responses);
    built.push(() => analysis.close());
    // near real time: the threat-intel IP lists go to the agents (early dumps) and are checked
    // per packet here, so a listed peer alerts when its first packet arrives (collector/respond)
    const watchlist = ThreatWatchlist.fromPlan(analysis.plan, analysis.baseDir, logger('watchlist')).start();
    built.push(() => watchlist.stop());
    const flows = buildFlows(store, analysis, new PacketThreatTap(watchlist, analysis.pipeline.add), new MetaThreatTap(watchlist, analysis.pipeline.add));
    built.push(() => {
      // the flows still open are written out now: the analyzers take them all (no drops at shutdown)
      analysis.pool.blockWhenBusy = true;
      flows.close();
    });
    recoverFlows(flows, analysis);
    flows.startRetention();
    const control = await openControl(cfg, dbPath);
    built.push(() => control.close());
    const server = await startServer(cfg, {
      store,
      watchlist,
      onDumpCommitted: flows.onDumpCommitted,
      onHeartbeat: (agentId, health) => {
        flows.onHeartbeat(agentId, health);
        control.hooks.onHeartbeat(agentId, health);
      },
      onCommandResult: control.hooks.onCommandResult,
      healthChecks: () => analysis.health(),
      ...(opts.defaultMetrics !== undefined ? { defaultMetrics: opts.defaultMetrics } : {}),
    });
    built.push(() => server.close());
    analysis.metrics.register(server.metrics.registry);
    registerServiceMetrics(server.metrics.registry, {
      flowRecords: () => flows.recordsBuilt,
      alertHits: () => analysis.pipeline.stats.byCategory,
      alertRows: () => Object.fromEntries(ALERT_STATES.map((state) => [state, analysis.store.count({ state })])),
      outputs: () => analysis.status().outputs,
      commands: () => control.queue.countByState(),
      analyzers: () => analysis.status().analyzers,
    });
    control.attach(server);
    // packet payload kept by bytes and by age (docs/pcap.md), apart from flow retention
    const payload = startPayloadRetention(cfg, dbPath, server.metrics.registry, logger('payload'));
    built.push(() => payload.stop());
    let stopped: Promise<void> | null = null;
    return {
      server, control, flows, analysis, responses,
      stop: () => (stopped ??= built.unwind(log)),
    };
  } catch (e) {
    await built.unwind(log);
    // a missing or broken PKI is an installation problem: usage exit code, same message
    if (e instanceof KeyFileError || e instanceof RevocationListError) throw new UsageError(`${e.message} (create the deployment with \`meerkat-collector init\` first?)`);
    throw e;
  }
}
