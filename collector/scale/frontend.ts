// A scale-out front-end (docs/scale-out.md "Front-end"): the collector's agent server (mutual
// TLS, enrollment, limits, verification) whose uploads go to the JetStream dump stream instead
// of the local store, with agents' presence and commands shared with the other front-ends over
// NATS. The organisations, their agents and the enrollment tokens are those in PostgreSQL
// (frontend-orgs.ts, org-records.ts): each active organisation has its own lane (its
// JetStreamCommitter, its quota). It keeps no flow state: killing one only makes its agents
// reconnect and resend.
import type { NatsConnection } from 'nats';
import { Counter } from 'prom-client';
import type pg from 'pg';
import type { Logger } from '../../shared/log.js';
import { openPgPool } from '../../shared/store/postgres/pg-connect.js';
import { PgFlowStore } from '../../shared/store/postgres/pg-flow-store.js';
import type { CollectorServerConfig } from '../server/server-config.js';
import { CollectorServer } from '../server/collector-server.js';
import { agentPortOptions, resolvedDirs } from '../server/server-config.js';
import { analyzerPlan, parseAnalysisConfig, type AnalysisConfigInput } from '../analyze/analysis-config.js';
import { ThreatWatchlist } from '../respond/threat-watchlist.js';

import { ensureDumpStream } from './dump-stream.js';
import { JetStreamCommitter } from './jetstream-committer.js';
import { AgentRelay } from './agent-relay.js';
import { connectNats, natsLiveness } from './nats-connect.js';
import { startFrontendApi, type FrontendApi } from './frontend-api.js';
import { pgOptionsOf, type ScaleOutConfig } from './scale-config.js';
import { PgOrgRecords } from './org-records.js';
import { FrontendOrgDirectory, publishConfiguredOrgs } from './frontend-orgs.js';
import type { IngestLane } from '../server/org-lanes.js';

export interface Frontend {
  readonly server: CollectorServer;
  readonly relay: AgentRelay;
  /** the organisations' control (commands, audit) and the operators' API */
  readonly control: FrontendApi;
  /** the organisations as this front-end follows them from PostgreSQL */
  readonly orgs: FrontendOrgDirectory;
  /** the organisation records (tokens, states, quotas) in PostgreSQL, over this front-end's pool */
  readonly records: PgOrgRecords;
  readonly id: string;
  stop(): Promise<void>;
}

export async function startFrontend(cfg: CollectorServerConfig, so: ScaleOutConfig, opts: { log: Logger; id?: string; defaultMetrics?: boolean }): Promise<Frontend> {
  const id = opts.id ?? so.workerId;
  const pool: pg.Pool = openPgPool(pgOptionsOf(so, 4), (e) => opts.log.warn({ err: e.message }, 'an idle PostgreSQL connection died (replaced on next use)'));
  let nc: NatsConnection | null = null;
  let server: CollectorServer | null = null;
  let watchlist: ThreatWatchlist | null = null;
  let directory: FrontendOrgDirectory | null = null;
  let relay: AgentRelay | null = null;
  try {
    nc = await connectNats(so, `meerkat-frontend ${id}`);
    await ensureDumpStream(await nc.jetstreamManager(), { maxAgeDays: so.streamMaxAgeDays });
    const js = nc.jetstream();
    const records = await PgOrgRecords.open(pool);
    await publishConfiguredOrgs(records, resolvedDirs(cfg).pkiDir, so.orgs, opts.log);
    // the threat watchlist is configuration: every front-end builds it from the same feeds (as the
    // single process does) and pushes it to its agents on connect and on change
    const raw = cfg as Record<string, unknown>;
    const plan = analyzerPlan(parseAnalysisConfig({ analyzers: raw.analyzers, analysis: raw.analysis } as AnalysisConfigInput, 'collector config'), 'collector config');
    const wl = ThreatWatchlist.fromPlan(plan, process.cwd(), opts.log).start();
    watchlist = wl;
    let control: FrontendApi | null = null;
    /** each organisation's flow store (the lanes' dedupe reads, the API's flows), filled as lanes are built */
    const stores = new Map<string, PgFlowStore>();
    let counters: { published: Counter<'org' | 'result'>; refused: Counter<'org' | 'reason'> } | null = null;
    /** an organisation's dumps/s on this front-end: its own quota in PostgreSQL, else scaleOut's */
    const quotaOf = (org: string): { perSec: number; burst: number } => {
      const q = directory?.record(org)?.quotas;
      if (q?.dumpsPerSec === undefined) return { perSec: so.orgDumpsPerSec, burst: so.orgDumpsBurst };
      return { perSec: q.dumpsPerSec, burst: q.dumpsBurst ?? Math.max(4, 2 * q.dumpsPerSec) };
    };
    const makeLane = async (org: string): Promise<IngestLane> => {
      const store = await PgFlowStore.open(pool, org);
      stores.set(org, store);
      const committer = new JetStreamCommitter({
        js,
        partitions: so.partitions,
        orgOf: () => org,
        storeOf: () => store,
        quota: { perSec: so.orgDumpsPerSec, burst: so.orgDumpsBurst },
        quotaOf,
        onRefused: (o, reason) => {
          counters?.refused.inc({ org: o, reason });
          opts.log.warn({ org: o, reason }, 'upload refused: organisation over its quota (agent retries)');
        },
        onPublished: (o, duplicate) => counters?.published.inc({ org: o, result: duplicate ? 'duplicate' : 'stored' }),
      });
      return {
        org,
        committer,
        watchlist: wl,
        // recorded in PostgreSQL first, then announced: a request waiting on another front-end reads the new state
        onCommandResult: (agentId, cid, ok, result, error) => void (control?.recordResult(org, agentId, cid, ok, result, error) ?? Promise.resolve())
          .catch((e: Error) => opts.log.error({ err: e.message, org, agentId, id: cid }, 'recording a command result failed'))
          .then(() => relay?.publishResult(agentId, { id: cid, ok, result, error })),
        onHeartbeat: (agentId, health) => {
          control?.heartbeat(org, agentId, health);
          if (health.spoolFiles === 0 && health.packetTimeUs !== undefined) void committer.publishWatermark(agentId, health.packetTimeUs);
        },
      };
    };
    directory = await FrontendOrgDirectory.start({ records, pkiDir: resolvedDirs(cfg).pkiDir, makeLane, log: opts.log, refreshMs: so.orgRefreshMs });
    const dir = directory;
    /** the organisation of an agent for presence keys and command subjects */
    const orgOf = (agentId: string): string => dir.knownOrgOf(agentId) ?? so.orgs[0]!;
    const conn = nc;
    const liveness = natsLiveness(nc);
    server = await CollectorServer.start({
      ...agentPortOptions(cfg),
      orgs: dir,
      tokens: records.tokenSource(),
      healthChecks: () => ({
        reasons: [...(liveness.down() ? ['NATS disconnected: uploads are nacked until it is back'] : []), ...dir.health().reasons],
        notes: [`front-end ${id}`, `organisations: ${dir.activeOrgs().join(', ') || 'none'}`],
      }),
      ...(opts.defaultMetrics !== undefined ? { defaultMetrics: opts.defaultMetrics } : {}),
    });
    dir.attach(server);
    const srvW = server;
    const unsubscribe = wl.subscribe(() => { for (const org of dir.activeOrgs()) srvW.pushToOrg(org, wl.current()); });
    counters = {
      published: new Counter({ name: 'meerkat_frontend_dumps_published_total', help: 'Dumps acked after JetStream took them (or had them), by organisation', labelNames: ['org', 'result'] as const, registers: [server.metrics.registry] }),
      refused: new Counter({ name: 'meerkat_frontend_uploads_refused_total', help: 'Uploads refused before the stream (retryable), by organisation and reason', labelNames: ['org', 'reason'] as const, registers: [server.metrics.registry] }),
    };
    for (const org of dir.activeOrgs()) counters.refused.inc({ org, reason: 'quota' }, 0);
    const srv0 = server;
    const local = {
      connectedAgents: () => srv0.connectedAgents(),
      sendCommand: (agentId: string, cid: string, command: unknown) => srv0.sendCommand(orgOf(agentId), agentId, cid, command),
      connectionOf: (agentId: string) => srv0.agentSummaries(orgOf(agentId)).find((a) => a.agentId === agentId && a.connected)?.connectedSince ?? null,
    };
    relay = await AgentRelay.start(nc, nc.jetstream(), local, { frontendId: id, orgOf, knowsOrg: (agentId) => dir.knownOrgOf(agentId) !== undefined, log: opts.log });
    // the organisations active at start (their lanes, so their stores, are built by now)
    control = await startFrontendApi(cfg, { pool, nc, relay, server, stores, feeds: () => wl.status(), log: opts.log });
    opts.log.info({ id, port: server.port, nats: so.natsUrl, partitions: so.partitions, orgs: dir.activeOrgs() }, 'front-end ready');
    const srv = server;
    const rel = relay;
    const ctl = control;
    return {
      server: srv, relay: rel, control: ctl, orgs: dir, records, id,
      async stop() {
        await ctl.stop();
        await rel.stop();
        unsubscribe();
        dir.stop();
        await srv.close();
        wl.stop();
        await conn.drain().catch(() => undefined);
        await pool.end().catch(() => undefined);
      },
    };
  } catch (e) {
    await relay?.stop().catch(() => undefined);
    await server?.close().catch(() => undefined);
    directory?.stop();
    watchlist?.stop();
    await nc?.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
    throw e;
  }
}
