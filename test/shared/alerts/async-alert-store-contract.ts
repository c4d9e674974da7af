// The one contract suite of AsyncAlertStore (shared/alerts/async-alert-store.ts), run against
// every backend with its real engine: SQLite (async-alert-store.test.ts) and PostgreSQL
// (pg-alert-store.test.ts). Batches are aggregated by the real AlertPipeline.
import assert from 'node:assert/strict';
import { AlertPipeline } from '../../../collector/alerts/alert-pipeline.js';
import type { AsyncAlertStore } from '../../../shared/alerts/async-alert-store.js';
import type { EmittedAlert } from '../../../shared/alerts/alert-record.js';
import type { AggregatedAlert } from '../../../shared/alerts/alert-types.js';
import { AlertStoreError } from '../../../shared/alerts/alert-store-error.js';
import { T0 } from '../../collector/analyze/flow-gen.js';
import { alert } from '../../helpers/alert-gen.js';

/** What a backend's factory must honour: the clock of created/updated times. */
export interface ContractAlertStoreOptions {
  nowUs: () => number;
}

/** Aggregates occurrences as the pipeline does before a store sees them. */
function batch(...alerts: EmittedAlert[]): AggregatedAlert[] {
  const p = new AlertPipeline(null, [], { autoFlush: false });
  for (const a of alerts) p.add(a);
  return p.takeBatch();
}

export function asyncAlertStoreContract(name: string, open: (o: ContractAlertStoreOptions) => Promise<AsyncAlertStore>): void {
  describe(`AsyncAlertStore contract: ${name}`, function () {
    this.timeout(60_000);
    let store: AsyncAlertStore;
    let clock = 1_700_000_000_000_000;
    beforeEach(async () => { clock = 1_700_000_000_000_000; store = await open({ nowUs: () => clock }); });
    afterEach(async () => { await store.close(); });

    it('aggregates a batch: one row per key with count, first/last seen, highest severity, latest evidence, first flows', async () => {
      const many = Array.from({ length: 500 }, (_, i) => alert({ tsUs: T0 + i * 1000, flowUid: `F${i}`, evidence: { n: i }, severity: i === 250 ? 'high' : 'medium' }));
      const changes = await store.record(batch(...many, alert({ peer: '198.51.100.8' }), alert({ host: '10.1.2.4' }), alert({ agentId: 'agent-b' })));
      assert.deepEqual(changes.map((c) => c.kind), ['new', 'new', 'new', 'new']);
      assert.equal(await store.count(), 4);
      const row = changes[0]!.alert;
      assert.equal(row.count, 500);
      assert.equal(row.firstSeenUs, T0);
      assert.equal(row.lastSeenUs, T0 + 499_000);
      assert.equal(row.severity, 'high');
      assert.deepEqual(row.evidence, { n: 499 });
      assert.equal(row.flowUids.length, 10);
      assert.equal(row.state, 'open');
      assert.equal(row.createdUs, clock);
      assert.deepEqual(await store.get(row.id), row, 'get returns what record returned');
      assert.equal(await store.get(987_654), null);
    });

    it('later batches: repeat, escalated, a late older occurrence keeps the latest evidence; ack keeps counting; closing starts a new row', async () => {
      const [first] = await store.record(batch(alert()));
      assert.equal(first!.kind, 'new');
      clock += 5;
      const [rep] = await store.record(batch(alert({ tsUs: T0 + 10, flowUid: 'F2' })));
      assert.equal(rep!.kind, 'repeat');
      assert.equal(rep!.alert.id, first!.alert.id);
      assert.equal(rep!.alert.updatedUs, clock);
      assert.deepEqual(rep!.alert.flowUids, ['F1', 'F2']);
      const [esc] = await store.record(batch(alert({ tsUs: T0 + 20, severity: 'critical', summary: 'worse', suggestedResponse: { action: 'block-peer', peer: '198.51.100.7' } })));
      assert.equal(esc!.kind, 'escalated');
      assert.equal(esc!.alert.count, 3);
      assert.deepEqual(esc!.alert.suggestedResponse, { action: 'block-peer', peer: '198.51.100.7' });
      const [late] = await store.record(batch(alert({ tsUs: T0 - 5, summary: 'older', evidence: { old: true } })));
      assert.equal(late!.alert.summary, 'worse');
      assert.equal(late!.alert.firstSeenUs, T0 - 5);
      assert.equal(late!.alert.severity, 'critical');
      const id = first!.alert.id;
      assert.equal((await store.setState(id, 'acknowledged'))!.state, 'acknowledged');
      const [acked] = await store.record(batch(alert({ tsUs: T0 + 30 })));
      assert.equal(acked!.alert.id, id);
      assert.equal(acked!.alert.state, 'acknowledged');
      assert.equal(acked!.alert.count, 5);
      const closed = await store.setState(id, 'closed');
      assert.equal(closed!.state, 'closed');
      assert.equal(closed!.stateChangedUs, clock);
      const [again] = await store.record(batch(alert({ tsUs: T0 + 40 })));
      assert.equal(again!.kind, 'new');
      assert.notEqual(again!.alert.id, id);
      assert.equal(await store.count({ state: 'closed' }), 1);
      assert.equal(await store.count({ state: 'open' }), 1);
      await assert.rejects(store.setState(id, 'open'), (e: Error) => e instanceof AlertStoreError && /now tracks the same key/.test(e.message));
      assert.equal(await store.setState(9999, 'closed'), null);
    });

    it('filters by state, severity, agent, host, category and packet time; lists most recently seen first', async () => {
      await store.record(batch(
        alert({ tsUs: T0 + 1, agentId: 'agent-a', severity: 'low', peer: 'p1' }),
        alert({ tsUs: T0 + 2, agentId: 'agent-b', severity: 'high', peer: 'p2' }),
        alert({ tsUs: T0 + 3, agentId: 'agent-a', severity: 'high', category: 'beacon', peer: 'p3' }),
        alert({ tsUs: T0 + 4, agentId: 'agent-a', severity: 'high', host: '10.9.9.9', peer: 'p4' }),
      ));
      assert.deepEqual((await store.list()).map((a) => a.peer), ['p4', 'p3', 'p2', 'p1']);
      assert.deepEqual((await store.list({ severity: 'high', agentId: 'agent-a' })).map((a) => a.peer), ['p4', 'p3']);
      assert.deepEqual((await store.list({ category: 'beacon' })).map((a) => a.peer), ['p3']);
      assert.deepEqual((await store.list({ host: '10.9.9.9' })).map((a) => a.peer), ['p4']);
      assert.deepEqual((await store.list({ since: T0 + 2, until: T0 + 3 })).map((a) => a.peer), ['p3', 'p2']);
      assert.deepEqual((await store.list({ limit: 1 })).map((a) => a.peer), ['p4']);
      assert.equal(await store.count({ agentId: 'agent-a' }), 3);
      assert.equal(await store.count({ state: 'acknowledged' }), 0);
    });

    it('pages through alerts with the cursor (ties on last seen ordered by id), refuses a forged cursor', async () => {
      const all = Array.from({ length: 7 }, (_, i) => alert({ tsUs: T0 + Math.floor(i / 2), peer: `198.51.100.${i}` }));
      await store.record(batch(...all));
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const p: Awaited<ReturnType<AsyncAlertStore['page']>> = await store.page({}, 3, cursor);
        seen.push(...p.alerts.map((a) => a.peer));
        cursor = p.next;
        pages++;
      } while (cursor !== null && pages < 10);
      assert.equal(pages, 3);
      assert.deepEqual(seen, (await store.list()).map((a) => a.peer));
      assert.equal(new Set(seen).size, 7);
      const filtered = await store.page({ agentId: 'agent-a', since: T0 + 3 }, 10, null);
      assert.deepEqual(filtered.alerts.map((a) => a.peer), ['198.51.100.6']);
      assert.equal(filtered.next, null);
      await assert.rejects(store.page({}, 3, 'bm90LWEtY3Vyc29y'), AlertStoreError);
    });

    it('oversized evidence is replaced by a note', async () => {
      const [c] = await store.record(batch(alert({ evidence: { blob: 'x'.repeat(20_000) } })));
      assert.deepEqual(c!.alert.evidence, { truncated: true, bytes: 20_011 });
    });
  });
}
