// Prometheus metrics of the analyzer workers, created unregistered and added to the
// collector's registry (/metrics) by the composition root once the server exists.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AnalyzerStatus } from './analyzer-host.js';

export class AnalysisMetrics {
  readonly stalls = new Counter({
    name: 'meerkat_collector_analyzer_stalls_total',
    help: 'Analyzer calls stopped at the hard time limit (their worker was terminated), by analyzer',
    labelNames: ['analyzer'] as const, registers: [],
  });
  readonly restarts = new Counter({
    name: 'meerkat_collector_analyzer_worker_restarts_total',
    help: 'Analyzer workers started again, by worker and reason (stall, crash)',
    labelNames: ['worker', 'reason'] as const, registers: [],
  });
  readonly flowsNotAnalyzed = new Counter({
    name: 'meerkat_collector_analyzer_flows_not_analyzed_total',
    help: 'Flow records an analyzer worker did not analyze, by worker and reason (queue-full: dropped at the door; terminated: in flight when its worker was stopped; restarting: batched before it started afresh)',
    labelNames: ['worker', 'reason'] as const, registers: [],
  });
  readonly queued: Gauge<'worker'>;
  readonly enabled: Gauge<'analyzer'>;
  readonly failures: Gauge<'analyzer'>;

  constructor(source: { status(): AnalyzerStatus[]; queuedFlows(): Map<string, number> }) {
    this.queued = new Gauge({
      name: 'meerkat_collector_analyzer_queue_flows',
      help: 'Flow records sent to an analyzer worker and not yet analyzed',
      labelNames: ['worker'] as const, registers: [],
      collect() {
        for (const [worker, n] of source.queuedFlows()) this.set({ worker }, n);
      },
    });
    this.enabled = new Gauge({
      name: 'meerkat_collector_analyzer_enabled',
      help: '1 while an analyzer runs, 0 once it is disabled (failures, stalls, load or config errors)',
      labelNames: ['analyzer'] as const, registers: [],
      collect() {
        for (const s of source.status()) this.set({ analyzer: s.name }, s.enabled ? 1 : 0);
      },
    });
    this.failures = new Gauge({
      name: 'meerkat_collector_analyzer_failures',
      help: 'Failed analyzer calls since start (exceptions, invalid alerts, calls over budget), by analyzer',
      labelNames: ['analyzer'] as const, registers: [],
      collect() {
        for (const s of source.status()) this.set({ analyzer: s.name }, s.failures);
      },
    });
  }

  /** Adds every metric to a registry (the collector server's). */
  register(registry: Registry): void {
    const all: Array<Parameters<Registry['registerMetric']>[0]> = [this.stalls, this.restarts, this.flowsNotAnalyzed, this.queued, this.enabled, this.failures];
    for (const m of all) registry.registerMetric(m);
  }
}
