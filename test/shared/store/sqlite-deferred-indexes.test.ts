// Indexes set aside during a bulk import into a new SQLite database: only when the tables are
// empty, built again with the same definitions, and after an interrupted import (the process
// gone between the two steps: here the connection closed without restoring) by the next
// read-write open of the store.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteFlowStore } from '../../../shared/store/sqlite-flow-store.js';
import { BULK_TABLES, deferIndexes, restoreDeferredIndexes } from '../../../shared/store/sqlite-deferred-indexes.js';
import { NO_APP_FIELDS, type FlowRecord } from '../../../shared/flow/flow-record.js';

type Db = Database.Database;

function indexes(db: Db): Array<{ name: string; sql: string }> {
  return db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (${BULK_TABLES.map(() => '?').join(', ')}) ORDER BY name`)
    .all(...BULK_TABLES) as Array<{ name: string; sql: string }>;
}

function tables(db: Db): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
}

const NOW = 1_700_000_000_000_000;

function flow(i: number): FlowRecord {
  return {
    uid: `F${i}`, record_seq: 0, community_id: '1:LQU9qZlK+B5F3KDmev6m5PMibrg=', agent_id: 'agent-a',
    proto: 'tcp', ip_proto: 6, ip_version: 4, orig_addr: '10.0.0.1', orig_port: 40000 + i,
    resp_addr: '192.0.2.10', resp_port: 443, vlan: 0, flow_start: NOW + i, start: NOW + i, end: NOW + i + 1000,
    duration: 0.001, orig_pkts: 5, resp_pkts: 4, orig_ip_bytes: 300, resp_ip_bytes: 2000,
    orig_payload_bytes: 100, resp_payload_bytes: 1800, conn_state: 'SF', history: 'ShADadFf',
    record_cause: 'close', rtt_syn_synack_us: 1200, rtt_synack_ack_us: null, retransmits_orig: 1,
    retransmits_resp: 0, zero_windows_orig: 0, zero_windows_resp: 2, iat_mean_orig_us: 250.5,
    iat_stddev_orig_us: 10.25, iat_mean_resp_us: null, iat_stddev_resp_us: null, pcr: -0.894736842105263,
    tunnel: '', orig_anon: true, resp_anon: false, ...NO_APP_FIELDS,
  };
}

describe('sqlite deferred indexes', () => {
  let dir: string;
  let path: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'mk-defer-')); path = join(dir, 'flows.db'); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('sets the indexes of empty tables aside and builds the same ones again; the rows are there and the helper table is gone', () => {
    new SqliteFlowStore(path).close();
    const db = new Database(path);
    const before = indexes(db);
    const tablesBefore = tables(db);
    assert.ok(before.length >= 11, `flows, dns_log and tls_log have their indexes (${before.length})`);
    assert.equal(deferIndexes(db), before.length);
    assert.deepEqual(indexes(db), []);
    db.close();
    const store = new SqliteFlowStore(path);
    // the store's own open restores what an earlier run left: defer again through it
    assert.equal(store.syncMode, 'full');
    assert.equal(store.deferIndexes(), before.length);
    assert.equal(store.syncMode, 'normal', 'a new database\'s bulk import does not sync each commit');
    assert.equal(store.insertFlows([flow(1), flow(2), flow(3)]).inserted, 3);
    assert.equal(store.restoreIndexes(), before.length);
    assert.equal(store.syncMode, 'full', 'the store\'s own durability once the indexes are built');
    assert.equal(store.restoreIndexes(), 0, 'nothing left to build');
    store.close();
    const db2 = new Database(path, { readonly: true });
    assert.deepEqual(indexes(db2), before);
    assert.deepEqual(tables(db2), tablesBefore);
    assert.equal((db2.prepare('SELECT count(*) AS n FROM flows INDEXED BY flows_orig_port WHERE orig_port = 40002').get() as { n: number }).n, 1);
    db2.close();
  });

  it('leaves a database that holds rows alone', () => {
    const store = new SqliteFlowStore(path);
    store.insertFlows([flow(1)]);
    assert.equal(store.deferIndexes(), 0);
    assert.equal(store.syncMode, 'full', 'an existing database keeps syncing each commit');
    store.close();
    const db = new Database(path, { readonly: true });
    assert.ok(indexes(db).length >= 11);
    assert.ok(!tables(db).includes('deferred_indexes'));
    db.close();
  });

  it('an import interrupted after setting them aside: the next read-write open builds them, a read-only one still reads the rows', () => {
    new SqliteFlowStore(path).close();
    const db = new Database(path, { readonly: true });
    const before = indexes(db);
    db.close();
    const importing = new SqliteFlowStore(path);
    importing.deferIndexes();
    importing.insertFlows([flow(1)]);
    // the process ends here: the store is never told to restore (close() alone does not)
    importing.close();
    const left = new Database(path, { readonly: true });
    assert.deepEqual(indexes(left), [], 'still set aside');
    left.close();

    const ro = new SqliteFlowStore(path, { readonly: true });
    assert.equal(ro.countFlows(), 1);
    ro.close();
    const rw = new SqliteFlowStore(path);
    assert.equal(rw.countFlows(), 1);
    rw.close();
    const check = new Database(path, { readonly: true });
    assert.deepEqual(indexes(check), before);
    assert.ok(!tables(check).includes('deferred_indexes'));
    check.close();
  });

  it('restoring twice, as two connections might, builds each index once', () => {
    new SqliteFlowStore(path).close();
    const a = new Database(path);
    const b = new Database(path);
    const n = indexes(a).length;
    deferIndexes(a);
    assert.equal(restoreDeferredIndexes(b), n);
    assert.equal(restoreDeferredIndexes(a), 0);
    assert.equal(indexes(a).length, n);
    a.close();
    b.close();
  });
});
