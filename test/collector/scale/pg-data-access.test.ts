// What a scale-out front-end's API reads of the workers' schema (a real PostgreSQL cluster started
// here): the DNS and TLS logs with the filters it serves, newest first; 501 naming
// docs/scale-out.md for what it does not serve yet, 400 for what is wrong in the query.
import assert from 'node:assert/strict';
import type pg from 'pg';
import { pgAlertAccess, pgAppLogs, pgDataAccess } from '../../../collector/scale/pg-data-access.js';
import { HttpError } from '../../../collector/control/route-table.js';
import type { DnsRecord, TlsRecord } from '../../../shared/flow/app-records.js';
import { openPgPool } from '../../../shared/store/postgres/pg-connect.js';
import { PgFlowStore } from '../../../shared/store/postgres/pg-flow-store.js';
import { flowQueryFromParams } from '../../../shared/store/flow-query.js';
import { alertQueryFromParams } from '../../../shared/alerts/alert-query.js';
import { startPgCluster, type PgCluster } from '../../helpers/pg-cluster.js';
import { PgAlertStore } from '../../../shared/alerts/pg-alert-store.js';
import { AlertPipeline } from '../../../collector/alerts/alert-pipeline.js';
import { alert } from '../../helpers/alert-gen.js';

const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';
/** records' times are µs since the epoch */
const S = 1_000_000;

function dns(agentId: string, uid: string, ts: number): DnsRecord {
  return {
    uid, agent_id: agentId, ts, orig_addr: '10.0.0.1', orig_port: 5353, resp_addr: '10.0.0.53', resp_port: 53, orig_anon: true, resp_anon: false,
    proto: 'udp', trans_id: 7, rtt_us: 900, query: 'example.com', query_anon: false, qclass: 1, qclass_name: 'C_INTERNET', qtype: 1, qtype_name: 'A',
    rcode: 0, rcode_name: 'NOERROR', AA: false, TC: false, RD: true, RA: true, answers: [],
  };
}

const is = (status: number, text: RegExp) => (e: unknown): boolean => e instanceof HttpError && e.status === status && text.test(e.message);

describe('scale-out data access (PostgreSQL)', function () {
  this.timeout(120_000);
  let cluster: PgCluster;
  let pool: pg.Pool;
  let store: PgFlowStore;

  before(async () => {
    cluster = await startPgCluster();
    pool = openPgPool({ url: cluster.url, passwordFile: cluster.passwordFile });
    store = await PgFlowStore.open(pool, 'logs');
    const info = { receivedUs: 1, firstTsUs: 1, lastTsUs: 2, packetCount: 3 };
    const tls = { ...dns(A, 'ut', 50 * S), transport: 'tcp' } as unknown as TlsRecord;
    await store.commitDump({ agentId: A, sequence: 1, info, flows: [], dns: [1, 2, 3, 4, 5].map((i) => dns(A, `u${i}`, i * 10 * S)), tls: [tls] });
    await store.commitDump({ agentId: B, sequence: 1, info, flows: [], dns: [dns(B, 'b1', 15 * S)], tls: [] });
  });
  after(async () => {
    await pool?.end();
    cluster?.stop();
  });

  it('DNS and TLS logs by agent, uid, time and limit, newest first', async () => {
    const logs = pgAppLogs(pool, 'logs');
    const uids = async (kind: 'dns' | 'tls', q: string): Promise<string[]> => {
      const r = await logs(kind, new URLSearchParams(q));
      return ('dns' in r ? r.dns : r.tls).map((x) => x.uid);
    };
    assert.deepEqual(await uids('dns', ''), ['u5', 'u4', 'u3', 'u2', 'b1', 'u1']);
    assert.deepEqual(await uids('dns', `agent=${A}&limit=2`), ['u5', 'u4']);
    assert.deepEqual(await uids('dns', `agent=${B}`), ['b1']);
    assert.deepEqual(await uids('dns', 'uid=u3'), ['u3']);
    assert.deepEqual(await uids('dns', 'since=1970-01-01T00:00:20Z&until=1970-01-01T00:00:40Z'), ['u4', 'u3', 'u2']);
    assert.deepEqual(await uids('tls', ''), ['ut']);
    const full = (await logs('dns', new URLSearchParams('uid=u2'))) as { dns: DnsRecord[] };
    assert.deepEqual(full.dns, [dns(A, 'u2', 20 * S)], 'the record as the worker stored it');
  });

  it('alerts: what the workers stored, filtered and paged; acknowledging one changes its row', async () => {
    const writer = await PgAlertStore.open(pool, 'alerted');
    const p = new AlertPipeline(null, [], { autoFlush: false });
    p.add(alert({ agentId: A, severity: 'high' }));
    p.add(alert({ agentId: B, peer: '198.51.100.9' }));
    await writer.record(p.takeBatch());
    const data = pgDataAccess(store, pgAlertAccess(pool, 'alerted'));
    const all = await data.alertsPage(alertQueryFromParams(new URLSearchParams()));
    assert.equal(all.alerts.length, 2);
    const high = await data.alertsPage(alertQueryFromParams(new URLSearchParams('severity=high')));
    assert.deepEqual(high.alerts.map((a) => a.agentId), [A]);
    const ack = await data.setAlertState(high.alerts[0]!.id, 'acknowledged');
    assert.equal(ack?.state, 'acknowledged');
    assert.equal((await writer.get(high.alerts[0]!.id))?.state, 'acknowledged', 'the row the workers keep changed');
    assert.equal(await data.setAlertState(987_654, 'closed'), null, 'no such alert');
    const empty = pgDataAccess(store, pgAlertAccess(pool, 'no-alerts-yet'));
    assert.deepEqual((await empty.alertsPage(alertQueryFromParams(new URLSearchParams()))).alerts, [], 'an organisation whose workers stored none');
  });

  it('answers 501 for what it does not serve and 400 for a wrong query', async () => {
    const logs = pgAppLogs(pool, 'logs');
    await assert.rejects(async () => logs('dns', new URLSearchParams('name=example.com')), is(501, /filtering the DNS log by name.*docs\/scale-out\.md/));
    await assert.rejects(async () => logs('tls', new URLSearchParams('ja4=t13d')), is(501, /by ja4/));
    await assert.rejects(async () => logs('dns', new URLSearchParams('colour=red')), is(400, /unknown parameter colour/));
    await assert.rejects(async () => logs('dns', new URLSearchParams('limit=0')), is(400, /limit/));
    const data = pgDataAccess(store, null);
    await assert.rejects(async () => data.alertsPage(alertQueryFromParams(new URLSearchParams())), is(501, /alerts/));
    await assert.rejects(async () => data.setAlertState(1, 'closed'), is(501, /alerts/));
    await assert.rejects(async () => data.flowsSummary({ filter: { since: 0, until: 1 }, top: 0 }), /top must be a positive integer/);
    for (const addr of ['10.1.2.3', '10.1.0.0/16', '10.1.2.3*', 'fd00::/8*']) {
      assert.deepEqual((await data.flowsPage(flowQueryFromParams(new URLSearchParams(`addr=${encodeURIComponent(addr)}`)))).records, [], `${addr} is served (no flows in this schema; pg-views.test.ts compares them with SQLite)`);
    }
  });
});
