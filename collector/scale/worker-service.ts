// `meerkat-collector run --role worker`: a flow worker with its ops port (/healthz: the
// partitions it owns; /metrics: dumps committed and replayed, alert rows written, per
// organisation and partition), analyzing with the collector config's analysis keys and
// responding with its "responses" rules (each organisation's response key where the single
// process keeps it: <stateDir>/orgs/<id>/response-key, or responseKeyDir for the default one).
import { Gauge } from 'prom-client';
import type { Logger } from '../../shared/log.js';
import { startOpsServer, type OpsServer } from '../server/ops-server.js';
import { CollectorMetrics } from '../server/collector-metrics.js';
import { splitHostPort, type CollectorServerConfig } from '../server/server-config.js';
import { FlowWorker } from './flow-worker.js';
import { storeConfigFrom } from '../flow-service.js';
import type { ScaleOutConfig } from './scale-config.js';
import type { AnalysisConfigInput } from '../analyze/analysis-config.js';
import type { WorkerAnalysisConfig } from './worker-analysis.js';
import { parseResponsesConfig } from '../respond/response-config.js';
import { orgPaths } from '../orgs/org-paths.js';
import { DEFAULT_ORG } from '../../shared/orgs/org-id.js';

export interface WorkerService {
  readonly worker: FlowWorker;
  readonly opsPort: number | null;
  stop(opts?: { flush?: boolean }): Promise<void>;
}

/** The analysis keys of the collector config, as the single process's default organisation reads them. */
function analysisKeys(cfg: CollectorServerConfig): AnalysisConfigInput {
  const raw = cfg as Record<string, unknown>;
  return { analyzers: raw.analyzers, analysis: raw.analysis, alerts: raw.alerts } as AnalysisConfigInput;
}

/** The "responses" rules and each organisation's response key directory, where the single process keeps it. */
function responsesOf(cfg: CollectorServerConfig): NonNullable<WorkerAnalysisConfig['responses']> {
  const raw = cfg as Record<string, unknown>;
  const legacy = raw.responseKeyDir;
  return {
    rules: parseResponsesConfig(raw.responses),
    keyDir: (org) => (org === DEFAULT_ORG && typeof legacy === 'string' ? legacy : orgPaths(cfg.stateDir, org).responseKey),
  };
}

export async function startWorkerService(cfg: CollectorServerConfig, so: ScaleOutConfig, log: Logger): Promise<WorkerService> {
  const worker = await FlowWorker.start(so, {
    log,
    flowsDays: storeConfigFrom(cfg).flowsDays,
    // relative paths in analyzer configs resolve as in the single process (its working directory)
    ...(so.workerAnalysis ? { analysis: { config: analysisKeys(cfg), configSource: 'collector config', baseDir: process.cwd(), responses: responsesOf(cfg) } } : {}),
  });
  let ops: OpsServer | null = null;
  try {
    if (cfg.ops !== 'off') {
      const metrics = new CollectorMetrics(true);
      const gauge = (name: string, help: string, pick: (p: ReturnType<FlowWorker['status']>['partitions'][number]) => number): void => {
        new Gauge({
          name, help, labelNames: ['org', 'partition'] as const, registers: [metrics.registry],
          collect() {
            this.reset();
            for (const p of worker.status().partitions) this.set({ org: p.org, partition: String(p.part) }, pick(p));
          },
        });
      };
      gauge('meerkat_worker_dumps_committed', 'Dumps committed by this worker since it took the partition', (p) => p.dumps);
      gauge('meerkat_worker_commits', 'Transactions that committed dumps (group commits) since the worker took the partition', (p) => p.commits);
      gauge('meerkat_worker_dumps_replayed', 'Dumps replayed to rebuild flow state when the partition was taken', (p) => p.replayed);
      new Gauge({
        name: 'meerkat_worker_responses', help: 'Automatic responses of this worker since start, by outcome (issued, limited, skipped, delivered, undelivered, errors)',
        labelNames: ['org', 'outcome'] as const, registers: [metrics.registry],
        collect() {
          this.reset();
          for (const { org, ...counts } of worker.responseStats()) for (const [outcome, n] of Object.entries(counts)) this.set({ org, outcome }, n);
        },
      });
      gauge('meerkat_worker_alert_changes', 'Alert rows written (new or updated) with the partition\'s commits since the worker took it', (p) => p.alerts);
      const a = splitHostPort(cfg.ops);
      ops = await startOpsServer(a.host, a.port, metrics, {
        // a worker without partitions is healthy (more workers than partitions); what it owns is in /metrics
        health: () => {
          const reasons = worker.problems();
          return { status: reasons.length > 0 ? 'degraded' : 'ok', reasons, agentsConnected: 0 };
        },
      });
    }
    log.info({ workerId: so.workerId, opsPort: ops?.port ?? null }, 'flow worker ready');
  } catch (e) {
    await worker.stop({ flush: false });
    throw e;
  }
  const opsServer = ops;
  return {
    worker,
    opsPort: opsServer?.port ?? null,
    async stop(opts) {
      await worker.stop(opts);
      await opsServer?.close();
    },
  };
}
