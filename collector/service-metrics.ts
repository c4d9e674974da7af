// The /metrics families of the collector's parts beyond the agent server's own (which
// collector/server/collector-metrics.ts owns): flow records built, alerts (hits, rows by state,
// outputs), the command queue, and the analyzers' calls and hits. Each is read from its part
// at scrape time (a counter takes the growth of the part's own total since the last scrape),
// so the parts keep no Prometheus objects. collector-service.ts registers them.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AnalyzerStatus } from './analyze/analyzer-host.js';
import type { OutputStats } from './alerts/outputs/alert-output.js';

export interface MetricSources {
  /** flow records built since start */
  flowRecords(): number;
  /** hits per category since start (the alert pipeline's input) */
  alertHits(): Record<string, number>;
  /** alert rows per state */
  alertRows(): Record<string, number>;
  outputs(): Array<{ name: string } & OutputStats>;
  /** commands per state */
  commands(): Record<string, number>;
  analyzers(): AnalyzerStatus[];
}

/** A counter that follows a monotonic total kept elsewhere. */
function followingCounter<L extends string>(name: string, help: string, labelNames: readonly L[], read: () => Array<[Partial<Record<L, string>>, number]>): Counter<L> {
  const seen = new Map<string, number>();
  return new Counter({
    name, help, labelNames, registers: [],
    collect() {
      for (const [labels, total] of read()) {
        const key = JSON.stringify(labels);
        const prev = seen.get(key) ?? 0;
        // a total that went down was reset (an analyzer worker started afresh): count it from zero
        const d = total >= prev ? total - prev : total;
        if (d > 0) this.inc(labels, d);
        seen.set(key, total);
      }
    },
  });
}

export function serviceMetrics(src: MetricSources): Array<Counter<string> | Gauge<string>> {
  return [
    followingCounter('meerkat_collector_flow_records_total', 'Flow records built and stored', [] as const, () => [[{}, src.flowRecords()]]),
    followingCounter('meerkat_collector_alert_hits_total', 'Occurrences the analyzers reported (each goes into an alert row), by category', ['category'] as const,
      () => Object.entries(src.alertHits()).map(([category, n]) => [{ category }, n])),
    new Gauge({
      name: 'meerkat_collector_alerts', help: 'Alert rows in the store, by state (open, acknowledged, closed)', labelNames: ['state'] as const, registers: [],
      collect() {
        for (const [state, n] of Object.entries(src.alertRows())) this.set({ state }, n);
      },
    }),
    followingCounter('meerkat_collector_alert_output_total', 'Alert notifications per output and result (sent, failed, dropped)', ['output', 'result'] as const,
      () => src.outputs().flatMap((o) => [[{ output: o.name, result: 'sent' }, o.sent], [{ output: o.name, result: 'failed' }, o.failed], [{ output: o.name, result: 'dropped' }, o.dropped]] as Array<[Partial<Record<'output' | 'result', string>>, number]>)),
    new Gauge({
      name: 'meerkat_collector_commands', help: 'Commands in the queue, by state (queued and delivered ones are waiting for their agent)', labelNames: ['state'] as const, registers: [],
      collect() {
        for (const [state, n] of Object.entries(src.commands())) this.set({ state }, n);
      },
    }),
    followingCounter('meerkat_collector_analyzer_calls_total', 'Analyzer calls (flows, DNS records, ticks), by analyzer', ['analyzer'] as const,
      () => src.analyzers().map((a) => [{ analyzer: a.name }, a.calls])),
    followingCounter('meerkat_collector_analyzer_hits_total', 'Hits an analyzer reported, by analyzer', ['analyzer'] as const,
      () => src.analyzers().map((a) => [{ analyzer: a.name }, a.alerts])),
  ];
}

export function registerServiceMetrics(registry: Registry, src: MetricSources): void {
  for (const m of serviceMetrics(src)) registry.registerMetric(m);
}
