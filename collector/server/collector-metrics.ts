// The collector's Prometheus metrics, on a registry of its own (several servers can live
// in one process, e.g. in tests, without clashing on the global registry). Everything about an
// organisation's agents carries the label `org`; refusals of a connection before its
// organisation is known carry only the reason. Each running organisation has a registry of its
// own as well (its analyzers, payload, quota; default label org=<id>): render() merges them
// into one exposition.
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ALL_REFUSAL_REASONS } from './peer-check.js';

export class CollectorMetrics {
  readonly registry = new Registry();
  readonly refusals = new Counter({ name: 'meerkat_collector_refusals_total', help: 'Connections or requests refused, by reason', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly closed = new Counter({ name: 'meerkat_collector_connections_closed_total', help: 'Live agent connections closed by the collector, by organisation and reason', labelNames: ['org', 'reason'] as const, registers: [this.registry] });
  readonly agentsConnected = new Gauge({ name: 'meerkat_collector_agents_connected', help: 'Agents with an open connection, by organisation', labelNames: ['org'] as const, registers: [this.registry] });
  readonly uploads = new Counter({ name: 'meerkat_collector_uploads_total', help: 'Dump uploads by organisation and result (stored, duplicate, nacked)', labelNames: ['org', 'result'] as const, registers: [this.registry] });
  readonly nacks = new Counter({ name: 'meerkat_collector_nacks_total', help: 'Uploads refused, by organisation and nack code', labelNames: ['org', 'code'] as const, registers: [this.registry] });
  readonly bytesStored = new Counter({ name: 'meerkat_collector_dump_bytes_stored_total', help: 'Bytes of dumps committed, by organisation', labelNames: ['org'] as const, registers: [this.registry] });
  readonly packetsStored = new Counter({ name: 'meerkat_collector_packets_stored_total', help: 'Packet records in committed dumps, by organisation', labelNames: ['org'] as const, registers: [this.registry] });
  readonly commitSeconds = new Histogram({ name: 'meerkat_collector_commit_seconds', help: 'Time from upload received to durable commit, by organisation', labelNames: ['org'] as const, buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry] });
  readonly inflightBytes = new Gauge({ name: 'meerkat_collector_inflight_bytes', help: 'Upload bytes received and not yet acked or nacked (all organisations: one memory budget)', registers: [this.registry] });
  readonly enrollments = new Counter({ name: 'meerkat_collector_enrollments_total', help: 'Enrollment attempts by organisation (empty before the token is known) and result', labelNames: ['org', 'result'] as const, registers: [this.registry] });
  readonly renewals = new Counter({ name: 'meerkat_collector_renewals_total', help: 'Certificate renewals by organisation and result', labelNames: ['org', 'result'] as const, registers: [this.registry] });
  readonly heartbeats = new Counter({ name: 'meerkat_collector_heartbeats_total', help: 'Agent heartbeats received, by organisation', labelNames: ['org'] as const, registers: [this.registry] });
  readonly revocationReloads = new Counter({ name: 'meerkat_collector_revocation_reloads_total', help: 'Revocation list reloads by result', labelNames: ['result'] as const, registers: [this.registry] });

  /** registries of the running organisations (each with its default label org) */
  private readonly orgRegistries = new Map<string, Registry>();

  constructor(defaultMetrics = true) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry });
    // zero series for every refusal reason so dashboards and tests see 0, not "absent"
    for (const r of ALL_REFUSAL_REASONS) this.refusals.inc({ reason: r }, 0);
  }

  addOrgRegistry(org: string, r: Registry): void {
    this.orgRegistries.set(org, r);
  }

  removeOrgRegistry(org: string): void {
    this.orgRegistries.delete(org);
  }

  /** The Prometheus text of this registry and every organisation's, merged by metric name. */
  async render(): Promise<{ text: string; contentType: string }> {
    if (this.orgRegistries.size === 0) return { text: await this.registry.metrics(), contentType: this.registry.contentType };
    const all = await Promise.all([this.registry, ...this.orgRegistries.values()].map((r) => r.getMetricsAsJSON()));
    const merged = AggregatorRegistry.aggregate(all as Parameters<typeof AggregatorRegistry.aggregate>[0]);
    return { text: await merged.metrics(), contentType: this.registry.contentType };
  }

  /** Current value of a labelled counter (tests, /healthz). */
  async counterValue(c: Counter<string>, labels: Record<string, string> = {}): Promise<number> {
    const m = await c.get();
    const keys = Object.keys(labels);
    let sum = 0;
    for (const v of m.values) if (keys.every((k) => v.labels[k] === labels[k])) sum += v.value;
    return sum;
  }
}
