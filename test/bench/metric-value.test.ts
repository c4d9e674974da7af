// The ingest bench reads the collector's /metrics: a metric may be labelled (by organisation)
// or not, and the bench wants its total.
import assert from 'node:assert/strict';
import { metricValue } from '../../bench/ingest-bench.js';

describe('ingest bench: metric values from Prometheus text', () => {
  const text = [
    '# HELP meerkat_collector_agents_connected Agents with an open connection, by organisation',
    '# TYPE meerkat_collector_agents_connected gauge',
    'meerkat_collector_agents_connected{org="default"} 30',
    'meerkat_collector_agents_connected{org="acme"} 20',
    'meerkat_collector_agents_connected_total 7',
    'process_cpu_seconds_total 1.25',
  ].join('\n');

  it('sums a labelled metric over its series', () => {
    assert.equal(metricValue(text, 'meerkat_collector_agents_connected'), 50);
  });

  it('reads an unlabelled metric, and not one whose name only starts the same', () => {
    assert.equal(metricValue(text, 'process_cpu_seconds_total'), 1.25);
    assert.equal(metricValue(text, 'meerkat_collector_agents_connected_total'), 7);
  });

  it('NaN for a metric that is not there', () => {
    assert.ok(Number.isNaN(metricValue(text, 'meerkat_collector_nothing')));
  });
});
