// The running collector, wired in one place (the twin of agent/agent-service.ts). Named steps,
// in order (stopped in reverse):
//   1. the collector state (collector.db: organisations, users, tokens, collector audit), after
//      an installation made before organisations has been taken into `default`;
//   2. the organisations (orgs/org-supervisor.ts): one runtime per active organisation - its
//      store, analyzers, responses, watchlist, flow side, control side, quota (org-runtime.ts);
//   3. the operators' API (control/operators-api.ts), one for all organisations;
//   4. the agent-facing server (server/), which asks the organisations which one an agent
//      belongs to and hands each upload to its organisation's lane; its /metrics and /healthz
//      also carry every organisation's.
// `meerkat-collector run` only turns flags into a config and calls startCollectorService.
import { logger, type Logger } from '../shared/log.js';
import { UsageError } from '../shared/cli/run-cli.js';
import { RevocationListError } from '../certs/errors.js';
import { KeyFileError } from '../shared/keys/key-file-error.js';
import { CollectorServer } from './server/collector-server.js';
import { agentPortOptions, apiCertNames, resolvedDirs, splitHostPort, type CollectorServerConfig } from './server/server-config.js';
import { startOperatorsApi, type OperatorsApi } from './control/operators-api.js';
import { openCollectorState, type CollectorState } from './orgs/collector-state.js';
import { OrgSupervisor } from './orgs/org-supervisor.js';
import { ShutdownStack, checkOrgSections } from './orgs/org-runtime.js';
import { DEFAULT_ORG } from '../shared/orgs/org-id.js';

export interface CollectorServiceOptions {
  /** register the process's default metrics (default true; tests running several collectors turn it off) */
  defaultMetrics?: boolean;
}

export interface CollectorService {
  readonly server: CollectorServer;
  readonly state: CollectorState;
  readonly orgs: OrgSupervisor;
  /** null when the config turns the API off */
  readonly api: OperatorsApi | null;
  /** Stops accepting agents, drains uploads under way, ends open flows, writes pending alerts, closes everything. */
  stop(): Promise<void>;
}

function rawKey(cfg: CollectorServerConfig, key: string): unknown {
  return (cfg as Record<string, unknown>)[key];
}

function openState(cfg: CollectorServerConfig, log: Logger): CollectorState {
  const dirs = resolvedDirs(cfg);
  const store = rawKey(cfg, 'store') as { path?: unknown } | undefined;
  const keyDir = rawKey(cfg, 'responseKeyDir');
  const state = openCollectorState({
    stateDir: dirs.stateDir,
    pkiDir: dirs.pkiDir,
    legacy: {
      ...(typeof store?.path === 'string' ? { storePath: store.path } : {}),
      ...(cfg.dumpDir ? { dumpDir: cfg.dumpDir } : {}),
      ...(typeof keyDir === 'string' ? { responseKeyDir: keyDir } : {}),
    },
    actor: 'collector',
  });
  if (state.migrated) log.warn({ migrated: state.migrated }, 'an installation made before organisations was taken over into the organisation "default"');
  return state;
}

export async function startCollectorService(cfg: CollectorServerConfig, opts: CollectorServiceOptions = {}): Promise<CollectorService> {
  const log = logger('collector');
  const built = new ShutdownStack();
  try {
    // the collector's own sections first: a mistake there stops the start, organisations or not
    checkOrgSections(cfg);
    const state = openState(cfg, log);
    built.push(() => state.close());
    const orgs = new OrgSupervisor(state, { cfg, orgs: state.orgs, log }, log);
    built.push(() => orgs.stopAll());
    // the default organisation runs on the collector config itself: if it cannot start, nothing does
    await orgs.startAll({ mustStart: [DEFAULT_ORG] });
    // config keys "api", "apiNames", "console"
    const api = cfg.api === 'off' ? null : await startOperatorsApi({ state, orgs, listen: splitHostPort(cfg.api), names: apiCertNames(cfg), console: cfg.console ? {} : false, log: logger('control') });
    if (api) built.push(() => api.close());
    const server = await CollectorServer.start({
      ...agentPortOptions(cfg),
      orgs,
      onRevocations: (list) => orgs.noteRevocations(list),
      healthChecks: () => orgs.health(),
      ...(opts.defaultMetrics !== undefined ? { defaultMetrics: opts.defaultMetrics } : {}),
    });
    built.push(() => server.close());
    orgs.attach(server);
    let stopped: Promise<void> | null = null;
    return { server, state, orgs, api, stop: () => (stopped ??= built.unwind(log)) };
  } catch (e) {
    await built.unwind(log);
    // a missing or broken PKI is an installation problem: usage exit code, same message
    if (e instanceof KeyFileError || e instanceof RevocationListError) throw new UsageError(`${e.message} (create the deployment with \`meerkat-collector init\` first?)`);
    throw e;
  }
}
