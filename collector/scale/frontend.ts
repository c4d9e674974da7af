// A scale-out front-end (docs/scale-out.md "Front-end"): the collector's agent server (mutual
// TLS, enrollment, limits, verification) whose uploads go to the JetStream dump stream instead
// of the local store, with agents' presence and commands shared with the other front-ends over
// NATS. It keeps no flow state: killing one only makes its agents reconnect and resend.
import type { NatsConnection } from 'nats';
import { Counter } from 'prom-client';
import type pg from 'pg';
import type { Logger } from '../../shared/log.js';
import { openPgPool } from '../../shared/store/postgres/pg-connect.js';
import { PgFlowStore } from '../../shared/store/postgres/pg-flow-store.js';
import type { CollectorServerConfig } from '../server/server-config.js';
import { CollectorServer } from '../server/collector-server.js';
import { agentPortOptions } from '../server/server-config.js';
import { analyzerPlan, parseAnalysisConfig, type AnalysisConfigInput } from '../analyze/analysis-config.js';
import { ThreatWatchlist } from '../respond/threat-watchlist.js';

import { ensureDumpStream } from './dump-stream.js';
import { JetStreamCommitter } from './jetstream-committer.js';
import { AgentRelay } from './agent-relay.js';
import { connectNats, natsLiveness } from './nats-connect.js';
import { startFrontendApi, type FrontendApi } from './frontend-api.js';
import { pgOptionsOf, type ScaleOutConfig } from './scale-config.js';

export interface Frontend {
  readonly server: CollectorServer;
  readonly relay: AgentRelay;
  /** the organisations' control (commands, audit) and the operators' API */
  readonly control: FrontendApi;
  readonly id: string;
  stop(): Promise<void>;
}

export async function startFrontend(cfg: CollectorServerConfig, so: ScaleOutConfig, opts: { log: Logger; id?: string; defaultMetrics?: boolean }): Promise<Frontend> {
  const id = opts.id ?? so.workerId;
  const pool: pg.Pool = openPgPool(pgOptionsOf(so, 4), (e) => opts.log.warn({ err: e.message }, 'an idle PostgreSQL connection died (replaced on next use)'));
  let nc: NatsConnection | null = null;
  let server: CollectorServer | null = null;
  let watchlist: ThreatWatchlist | null = null;
  let relay: AgentRelay | null = null;
  try {
    nc = await connectNats(so, `meerkat-frontend ${id}`);
    await ensureDumpStream(await nc.jetstreamManager(), { maxAgeDays: so.streamMaxAgeDays });
    const stores = new Map<string, PgFlowStore>();
    for (const org of so.orgs) stores.set(org, await PgFlowStore.open(pool, org));
    // until the organisations work derives it from the verified certificate chain: the first organisation
    const orgOf = (): string => so.orgs[0]!;
    const committer = new JetStreamCommitter({
      js: nc.jetstream(),
      partitions: so.partitions,
      orgOf,
      storeOf: (org) => stores.get(org)!,
      quota: { perSec: so.orgDumpsPerSec, burst: so.orgDumpsBurst },
      onRefused: (org, reason) => {
        counters?.refused.inc({ org, reason });
        opts.log.warn({ org, reason }, 'upload refused: organisation over its quota (agent retries)');
      },
      onPublished: (org, duplicate) => counters?.published.inc({ org, result: duplicate ? 'duplicate' : 'stored' }),
    });
    // the threat watchlist is configuration: every front-end builds it from the same feeds (as the
    // single process does) and pushes it to its agents on connect and on change
    const raw = cfg as Record<string, unknown>;
    const plan = analyzerPlan(parseAnalysisConfig({ analyzers: raw.analyzers, analysis: raw.analysis } as AnalysisConfigInput, 'collector config'), 'collector config');
    watchlist = ThreatWatchlist.fromPlan(plan, process.cwd(), opts.log).start();
    const conn = nc;
    const liveness = natsLiveness(nc);
    let control: FrontendApi | null = null;
    let counters: { published: Counter<'org' | 'result'>; refused: Counter<'org' | 'reason'> } | null = null;
    server = await CollectorServer.start({
      ...agentPortOptions(cfg),
      committer,
      watchlist,
      // recorded in PostgreSQL first, then announced: a request waiting on another front-end reads the new state
      onCommandResult: (agentId, cid, ok, result, error) => void (control?.recordResult(orgOf(), agentId, cid, ok, result, error) ?? Promise.resolve())
        .catch((e: Error) => opts.log.error({ err: e.message, agentId, id: cid }, 'recording a command result failed'))
        .then(() => relay?.publishResult(agentId, { id: cid, ok, result, error })),
      onHeartbeat: (agentId, health) => {
        control?.heartbeat(orgOf(), agentId, health);
        if (health.spoolFiles === 0 && health.packetTimeUs !== undefined) void committer.publishWatermark(agentId, health.packetTimeUs);
      },
      healthChecks: () => ({ reasons: liveness.down() ? ['NATS disconnected: uploads are nacked until it is back'] : [], notes: [`front-end ${id}`] }),
      ...(opts.defaultMetrics !== undefined ? { defaultMetrics: opts.defaultMetrics } : {}),
    });
    counters = {
      published: new Counter({ name: 'meerkat_frontend_dumps_published_total', help: 'Dumps acked after JetStream took them (or had them), by organisation', labelNames: ['org', 'result'] as const, registers: [server.metrics.registry] }),
      refused: new Counter({ name: 'meerkat_frontend_uploads_refused_total', help: 'Uploads refused before the stream (retryable), by organisation and reason', labelNames: ['org', 'reason'] as const, registers: [server.metrics.registry] }),
    };
    for (const org of so.orgs) counters.refused.inc({ org, reason: 'quota' }, 0);
    const srv0 = server;
    const local = {
      connectedAgents: () => srv0.connectedAgents(),
      sendCommand: (agentId: string, cid: string, command: unknown) => srv0.sendCommand(orgOf(), agentId, cid, command),
      connectionOf: (agentId: string) => srv0.agentSummaries(orgOf()).find((a) => a.agentId === agentId && a.connected)?.connectedSince ?? null,
    };
    relay = await AgentRelay.start(nc, nc.jetstream(), local, { frontendId: id, orgOf, log: opts.log });
    const wl0 = watchlist;
    control = await startFrontendApi(cfg, { pool, nc, relay, server, stores, feeds: () => wl0.status(), log: opts.log });
    opts.log.info({ id, port: server.port, nats: so.natsUrl, partitions: so.partitions, orgs: so.orgs }, 'front-end ready');
    const srv = server;
    const rel = relay;
    const wl = watchlist;
    const ctl = control;
    return {
      server: srv, relay: rel, control: ctl, id,
      async stop() {
        await ctl.stop();
        await rel.stop();
        await srv.close();
        wl.stop();
        await conn.drain().catch(() => undefined);
        await pool.end().catch(() => undefined);
      },
    };
  } catch (e) {
    await relay?.stop().catch(() => undefined);
    await server?.close().catch(() => undefined);
    watchlist?.stop();
    await nc?.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
    throw e;
  }
}
