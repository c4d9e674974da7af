// The alert store and pipeline: aggregation by key (agent, host, category, rule, peer) into
// one row with a count and first/last seen, severity escalation, states, a closed alert
// starting a new row, coexistence with the flow store's tables and migrations in the same
// database file, and the upgrade of a database written before alerts had a host.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlertPipeline } from '../../../collector/alerts/alert-pipeline.js';
import Database from 'better-sqlite3';
import { SqliteAlertStore } from '../../../shared/alerts/sqlite-alert-store.js';
import { ALERT_MIGRATIONS } from '../../../shared/alerts/alert-migrations.js';
import { alertKey, alertPayload, alertView } from '../../../shared/alerts/alert-types.js';
import { SqliteFlowStore } from '../../../shared/store/sqlite-flow-store.js';
import { flow, T0 } from '../../collector/analyze/flow-gen.js';
import { alert } from '../../helpers/alert-gen.js';

describe('alert store', () => {
  let dir: string;
  let db: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'meerkat-alerts-'));
    db = join(dir, 'm.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('ten thousand occurrences of one key are one row with a count; other keys are other rows', () => {
    const store = new SqliteAlertStore(db, { nowUs: () => 42 });
    const p = new AlertPipeline(store, [], { autoFlush: false });
    for (let i = 0; i < 10_000; i++) {
      p.add(alert({ tsUs: T0 + i * 1000, flowUid: `F${i}`, evidence: { n: i }, severity: i === 5000 ? 'high' : 'medium' }));
    }
    p.add(alert({ peer: '198.51.100.8' }));
    p.add(alert({ rule: 'sweep' }));
    p.add(alert({ agentId: 'agent-b' }));
    p.add(alert({ category: 'beacon', analyzer: 'beacon' }));
    p.add(alert({ host: '10.1.2.4' }));
    const changes = p.flush();
    assert.equal(changes.length, 6);
    assert.equal(store.count(), 6);
    assert.equal(store.count({ host: '10.1.2.4' }), 1, 'another host of the same agent is another row');
    const [row] = store.list({ agentId: 'agent-a', category: 'scan', limit: 10 }).filter((a) => a.peer === '198.51.100.7' && a.rule === 'port-scan');
    assert.equal(row!.count, 10_000);
    assert.equal(row!.firstSeenUs, T0);
    assert.equal(row!.lastSeenUs, T0 + 9_999_000);
    assert.equal(row!.severity, 'high', 'the highest severity seen');
    assert.deepEqual(row!.evidence, { n: 9999 }, 'the latest evidence');
    assert.equal(row!.flowUids.length, 10);
    assert.equal(row!.state, 'open');
    assert.equal(row!.createdUs, 42);
    assert.equal(p.stats.received, 10_005);
    store.close();
  });

  it('later batches update the live row (repeat / escalated); closing starts a new row; acknowledged rows keep counting', () => {
    const store = new SqliteAlertStore(db);
    const p = new AlertPipeline(store, [], { autoFlush: false });
    p.add(alert());
    const [first] = p.flush();
    assert.equal(first!.kind, 'new');
    p.add(alert({ tsUs: T0 + 10 }));
    assert.equal(p.flush()[0]!.kind, 'repeat');
    p.add(alert({ tsUs: T0 + 20, severity: 'critical', summary: 'worse' }));
    const esc = p.flush()[0]!;
    assert.equal(esc.kind, 'escalated');
    assert.equal(esc.alert.count, 3);
    assert.equal(esc.alert.summary, 'worse');
    // an older occurrence arriving late does not overwrite the latest evidence
    p.add(alert({ tsUs: T0 - 5, summary: 'older', evidence: { old: true } }));
    const late = p.flush()[0]!.alert;
    assert.equal(late.summary, 'worse');
    assert.equal(late.firstSeenUs, T0 - 5);
    const id = late.id;
    assert.equal(store.setState(id, 'acknowledged')!.state, 'acknowledged');
    p.add(alert({ tsUs: T0 + 30 }));
    const acked = p.flush()[0]!.alert;
    assert.equal(acked.id, id);
    assert.equal(acked.state, 'acknowledged');
    assert.equal(acked.count, 5);
    assert.equal(store.setState(id, 'closed')!.state, 'closed');
    p.add(alert({ tsUs: T0 + 40 }));
    const again = p.flush()[0]!;
    assert.equal(again.kind, 'new');
    assert.notEqual(again.alert.id, id);
    assert.equal(store.count({ state: 'closed' }), 1);
    assert.equal(store.count({ state: 'open' }), 1);
    assert.throws(() => store.setState(id, 'open'), /now tracks the same key/);
    assert.equal(store.setState(9999, 'closed'), null);
    store.close();
  });

  it('shares the database file with the flow store: own tables and own version table', () => {
    const flows = new SqliteFlowStore(db);
    flows.insertFlows([flow()]);
    const v = flows.schemaVersion();
    flows.close();
    const alerts = new SqliteAlertStore(db);
    assert.equal(alerts.schemaVersion(), 2);
    new AlertPipeline(alerts, [], { autoFlush: false }).add(alert());
    alerts.close();
    // the flow store still opens read-only (its schema check sees only its own migrations)
    const ro = new SqliteFlowStore(db, { readonly: true });
    assert.equal(ro.schemaVersion(), v);
    assert.equal(ro.countFlows(), 1);
    ro.close();
    // and the alert store opens on a flow database without alert tables, read-only, as empty
    const db2 = join(dir, 'flows-only.db');
    new SqliteFlowStore(db2).close();
    const ro2 = new SqliteAlertStore(db2, { readonly: true });
    assert.deepEqual(ro2.list(), []);
    ro2.close();
  });

  it('a flush that fails (database locked by another writer) keeps the batch for the next flush', () => {
    const store = new SqliteAlertStore(db, { busyTimeoutMs: 0 });
    const other = new SqliteFlowStore(db, { busyTimeoutMs: 0 });
    const p = new AlertPipeline(store, [], { autoFlush: false });
    p.add(alert());
    other.transaction(() => {
      other.insertFlows([flow()]);
      assert.deepEqual(p.flush(), []);
    });
    assert.equal(p.stats.flushErrors, 1);
    assert.equal(p.pendingCount, 1);
    assert.equal(p.flush().length, 1);
    other.close();
    store.close();
  });

  it('bounded pending keys: further new keys are dropped and counted', () => {
    const p = new AlertPipeline(null, [], { autoFlush: false, maxPending: 3 });
    for (let i = 0; i < 10; i++) p.add(alert({ peer: `198.51.100.${i}` }));
    p.add(alert({ peer: '198.51.100.0' }));
    assert.equal(p.pendingCount, 3);
    assert.equal(p.stats.dropped, 7);
    const ch = p.flush();
    assert.equal(ch.find((c) => c.alert.peer === '198.51.100.0')!.alert.count, 2);
  });

  it('the key is a JSON array (no NUL); the view printed and sent carries the host and no key', () => {
    const key = alertKey({ agentId: 'a', host: '10.1.2.3', category: 'scan', rule: 'sweep', peer: '10.9.0.0/24' });
    assert.equal(key, '["a","10.1.2.3","scan","sweep","10.9.0.0/24"]');
    assert.notEqual(alertKey({ agentId: 'a,b', category: 'c' }), alertKey({ agentId: 'a', host: 'b', category: 'c' }));
    const store = new SqliteAlertStore(db);
    const p = new AlertPipeline(store, [], { autoFlush: false });
    p.add(alert());
    const [c] = p.flush();
    const view = alertView(c!.alert);
    assert.equal(view.host, '10.1.2.3');
    assert.ok(!('key' in view));
    assert.ok(!JSON.stringify(view).includes('\\u0000'));
    assert.deepEqual(Object.keys(alertPayload(c!.alert, 'new')).slice(0, 2), ['id', 'kind']);
    store.close();
  });

  it('upgrades a database written with alert schema 1: rows get host "" and the new key, and keep aggregating', () => {
    // a version-1 database as an older collector left it (its own migration text, then one row)
    const old = new Database(db);
    old.exec('CREATE TABLE alerts_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_us INTEGER NOT NULL)');
    old.exec(ALERT_MIGRATIONS[0]!.sql);
    old.prepare('INSERT INTO alerts_schema VALUES (1, ?, 0)').run(ALERT_MIGRATIONS[0]!.name);
    old.prepare(`INSERT INTO alerts (dedup_key, agent_id, category, rule, peer, analyzer, severity, severity_rank, state, summary, count,
      first_seen_us, last_seen_us, flow_uids_json, evidence_json, created_us, updated_us) VALUES
      (?, 'agent-a', 'scan', 'port-scan', '198.51.100.7', 'scan', 'medium', 1, 'open', 'old', 3, 1, 2, '[]', '{}', 0, 0)`)
      .run('agent-a\u0000scan\u0000port-scan\u0000198.51.100.7');
    old.close();
    const store = new SqliteAlertStore(db);
    assert.equal(store.schemaVersion(), 2);
    const [row] = store.list();
    assert.equal(row!.host, '');
    assert.equal(row!.key, alertKey({ agentId: 'agent-a', category: 'scan', rule: 'port-scan', peer: '198.51.100.7' }), 'json_array gives the text JSON.stringify gives');
    // an occurrence without a host still lands on the old row
    const p = new AlertPipeline(store, [], { autoFlush: false });
    p.add(alert({ host: undefined }));
    assert.equal(p.flush()[0]!.kind, 'repeat');
    assert.equal(store.list()[0]!.count, 4);
    store.close();
  });
});
