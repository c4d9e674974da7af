// The control side of a scale-out front-end (docs/scale-out.md "Operators' API on the
// front-ends"): one ScaleOrgControl per organisation served (command queue and audit in
// PostgreSQL, agents from presence, flows from the workers' schema), always built - a front-end
// records the results of the agents connected to it even with its API port off - and the
// operators' API on the `api` port (the single process's key and default) over them. Users,
// memberships, organisations' records and the API certificate come from the front-end's own state
// directory (collector.db, pki/), as enrollment tokens do today.
import type { NatsConnection } from 'nats';
import type pg from 'pg';
import type { Logger } from '../../shared/log.js';
import type { PgFlowStore } from '../../shared/store/postgres/pg-flow-store.js';
import type { AgentHealth } from '../../shared/protocol/agent-protocol.js';
import { apiCertNames, resolvedDirs, splitHostPort, type CollectorServerConfig } from '../server/server-config.js';
import type { CollectorServer } from '../server/collector-server.js';
import { startOperatorsApi, type OperatorsApi } from '../control/operators-api.js';
import { openCollectorState, type CollectorState } from '../orgs/collector-state.js';
import type { FeedStatus } from '../respond/threat-watchlist.js';
import type { AgentRelay } from './agent-relay.js';
import { PgControlStore } from './pg-control-store.js';
import { pgAlertAccess, pgAlertStoreOpener, pgAppLogs, pgDataAccess, type ScaleAlertAccess } from './pg-data-access.js';
import { pgOrgViews } from './pg-views.js';
import { ScaleOrgControl } from './scale-org-control.js';

export interface FrontendApiDeps {
  pool: pg.Pool;
  nc: NatsConnection;
  relay: AgentRelay;
  server: CollectorServer;
  stores: ReadonlyMap<string, PgFlowStore>;
  feeds(): FeedStatus[];
  /** the alert store of an organisation (default: the alerts table the workers write, pgAlertAccess) */
  alerts?: (org: string) => ScaleAlertAccess;
  log: Logger;
}

export interface FrontendApi {
  readonly controls: ReadonlyMap<string, ScaleOrgControl>;
  /** null when the config turns the API off */
  readonly api: OperatorsApi | null;
  /** an agent connected here answered a command: recorded before it is announced to the other front-ends */
  recordResult(org: string, agentId: string, id: string, ok: boolean, result: unknown, error: string | undefined): Promise<void>;
  heartbeat(org: string, agentId: string, health: AgentHealth): void;
  stop(): Promise<void>;
}

export async function startFrontendApi(cfg: CollectorServerConfig, deps: FrontendApiDeps): Promise<FrontendApi> {
  const controls = new Map<string, ScaleOrgControl>();
  let state: CollectorState | null = null;
  const closeAll = async (): Promise<void> => {
    for (const c of controls.values()) await c.close();
    state?.close();
  };
  try {
    for (const [org, flows] of deps.stores) {
      const store = await PgControlStore.open(deps.pool, org, deps.log.child({ org, part: 'control' }));
      const alertStore = pgAlertStoreOpener(deps.pool, org);
      controls.set(org, new ScaleOrgControl({
        org, store, relay: deps.relay, nc: deps.nc,
        data: pgDataAccess(flows, deps.alerts?.(org) ?? pgAlertAccess(deps.pool, org, alertStore)),
        appLogs: pgAppLogs(deps.pool, org),
        views: pgOrgViews(deps.pool, org, alertStore),
        local: () => deps.server.agentSummaries(org).filter((a) => a.connected).map((a) => ({ agentId: a.agentId, connectedSince: a.connectedSince })),
        feeds: deps.feeds,
        log: deps.log.child({ org, part: 'control' }),
      }));
    }
    let api: OperatorsApi | null = null;
    // config keys "api", "apiNames", "console", as in the single process
    if (cfg.api !== 'off') {
      const dirs = resolvedDirs(cfg);
      state = openCollectorState({ stateDir: dirs.stateDir, pkiDir: dirs.pkiDir, actor: 'frontend' });
      api = await startOperatorsApi({
        state,
        orgs: { runtime: (org) => controls.get(org) ?? null, reconcile: async () => undefined },
        listen: splitHostPort(cfg.api),
        names: apiCertNames(cfg),
        console: cfg.console ? {} : false,
        log: deps.log.child({ part: 'api' }),
      });
    }
    const running = api;
    return {
      controls,
      api,
      recordResult: async (org, agentId, id, ok, result, error) => {
        const c = controls.get(org);
        if (c) await c.recordResult(agentId, id, ok, result, error);
      },
      heartbeat: (org, agentId, health) => controls.get(org)?.queue.heartbeat(agentId, health),
      stop: async () => {
        await running?.close();
        await closeAll();
      },
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
