// The console's overview and single alert, the flow summary and flow filters by an address
// prefix (IPv4, IPv6, the "*" pseudonym notation) on a scale-out front-end give what the single
// process gives: the same flows and alerts are written to an organisation's SQLite file and to
// its schema on a real PostgreSQL cluster, and both are read through the same interfaces.
// Addresses are canonical text, as the flow builder writes them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { openPgPool } from '../../../shared/store/postgres/pg-connect.js';
import { PgFlowStore } from '../../../shared/store/postgres/pg-flow-store.js';
import { SqliteFlowStore } from '../../../shared/store/sqlite-flow-store.js';
import { SqliteAlertStore } from '../../../shared/alerts/sqlite-alert-store.js';
import { PgAlertStore } from '../../../shared/alerts/pg-alert-store.js';
import { AlertPipeline } from '../../../collector/alerts/alert-pipeline.js';
import { cidrContains, parseCidr, parseIp } from '../../../shared/net/ip-address.js';
import type { FlowFilter } from '../../../shared/store/flow-store.js';
import type { FlowRecord } from '../../../shared/flow/flow-record.js';
import type { OrgViews } from '../../../collector/control/admin-api.js';
import { sqliteOrgViews } from '../../../collector/control/org-data-reader.js';
import { pgOrgViews } from '../../../collector/scale/pg-views.js';
import { pgAlertStoreOpener, pgDataAccess } from '../../../collector/scale/pg-data-access.js';
import { flowQueryFromParams, summaryQueryFromParams } from '../../../shared/store/flow-query.js';
import { startPgCluster, type PgCluster } from '../../helpers/pg-cluster.js';
import { flow, T0 } from '../analyze/flow-gen.js';
import { alert } from '../../helpers/alert-gen.js';

const ORG = 'views';
/** the newest record starts 30 s before "now" */
const NOW = T0 + 45 * 60e6;

describe('scale-out console views and flow filters (PostgreSQL against SQLite)', function () {
  this.timeout(120_000);
  let cluster: PgCluster;
  let pool: pg.Pool;
  let pgStore: PgFlowStore;
  let dir: string;
  let dbPath: string;
  let sqlite: SqliteFlowStore;
  let sqliteViews: OrgViews;
  let pgViews: OrgViews;
  const all: FlowRecord[] = [];

  before(async () => {
    cluster = await startPgCluster();
    pool = openPgPool({ url: cluster.url, passwordFile: cluster.passwordFile });
    pgStore = await PgFlowStore.open(pool, ORG);
    dir = mkdtempSync(join(tmpdir(), 'meerkat-views-'));
    dbPath = join(dir, 'meerkat.db');
    let x = 11;
    const rnd = (n: number): number => { x = (x * 1103515245 + 12345) & 0x7fffffff; return x % n; };
    for (let i = 0; i < 2400; i++) {
      const start = T0 + Math.floor(i / 2) * 2_000_000; // 40 minutes, two records per start time
      const v6 = i % 7 === 0;
      all.push(flow({
        start, end: start + 400_000, agent_id: i % 3 ? 'agent-a' : 'agent-b',
        orig_addr: v6 ? `fd00:${rnd(3) + 1}::${(rnd(300) + 1).toString(16)}` : `10.${rnd(3)}.${rnd(24) + 8 * (i % 2)}.${rnd(256)}`,
        resp_addr: v6 ? `2001:db8:${rnd(2) + 1}::${rnd(4) + 1}` : `${i % 5 ? '192.0.2' : '10.1.200'}.${rnd(64)}`, ip_version: v6 ? 6 : 4,
        orig_anon: i % 4 !== 0, resp_anon: i % 5 === 0,
        resp_port: [443, 80, 53, 22, 8443][rnd(5)]!, proto: ['tcp', 'tcp', 'udp', 'icmp'][i % 4]!,
        orig_ip_bytes: 100 + rnd(50_000), resp_ip_bytes: rnd(200_000), orig_pkts: 1 + rnd(40), resp_pkts: rnd(90),
      }));
    }
    sqlite = new SqliteFlowStore(dbPath);
    sqlite.insertFlows(all);
    await pgStore.writeFlows(all, [], []);
    // the same alerts in both, then the same state changes
    const pin = { nowUs: () => T0 + 1 };
    const sqliteAlerts = new SqliteAlertStore(dbPath, pin);
    const pgAlerts = await PgAlertStore.open(pool, ORG, pin);
    const p = new AlertPipeline(null, [], { autoFlush: false });
    ['high', 'medium', 'low', 'critical', 'medium', 'high'].forEach((severity, k) =>
      p.add(alert({ severity: severity as 'high', peer: `198.51.100.${k + 1}`, agentId: k % 2 ? 'agent-a' : 'agent-b', evidence: { n: k } })));
    const batch = p.takeBatch();
    sqliteAlerts.record(batch);
    await pgAlerts.record(batch);
    sqliteAlerts.setState(2, 'closed');
    await pgAlerts.setState(2, 'closed');
    sqliteAlerts.setState(3, 'acknowledged');
    await pgAlerts.setState(3, 'acknowledged');
    sqliteAlerts.close();
    sqliteViews = sqliteOrgViews(dbPath);
    pgViews = pgOrgViews(pool, ORG, pgAlertStoreOpener(pool, ORG));
  });
  after(async () => {
    sqlite?.close();
    await pool?.end();
    cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the overview: the same window, series, top lists and open alerts by severity', async () => {
    for (const [minutes, now] of [[60, NOW], [15, NOW], [5, NOW + 10 * 60e6], [60, NOW + 86_400e6]] as const) {
      const want = await sqliteViews.overview(minutes, now);
      const got = await pgViews.overview(minutes, now);
      assert.deepEqual(got, want, `${minutes} min before ${now}`);
      assert.ok(want.flowsInWindow > 0 && want.topTalkers.length > 0 && want.topPorts.length > 0 && want.protocols.length > 0, 'traffic in the window');
    }
    const o = await pgViews.overview(60, NOW);
    assert.equal(o.flowsInWindow, all.length, 'every record in the hour');
    assert.equal(o.series.length, 61);
    assert.deepEqual(o.alertsBySeverity, { critical: 1, high: 2, medium: 1, low: 1 }, 'closed alerts are not counted');
    assert.equal(o.topTalkers.length, 10);
    assert.ok(o.topTalkers.every((t, k) => k === 0 || o.topTalkers[k - 1]!.bytes >= t.bytes), 'talkers by bytes');
    // an imported capture: the window ends one minute after the newest record
    const later = await pgViews.overview(60, NOW + 86_400e6);
    assert.equal(later.window.toUs, all[all.length - 1]!.start + 60e6);
  });

  it('the flow summary: totals and top lists per filter as the SQLite store gives them', async () => {
    const reader = new SqliteFlowStore(dbPath, { readonly: true });
    try {
      const filters: Array<[FlowFilter, number]> = [[{}, 10], [{ agentId: 'agent-b' }, 5], [{ addr: '10.1.0.0/16' }, 10], [{ addr: 'fd00::/16', addrPseudonym: true }, 8],
        [{ proto: 'udp', since: T0 + 5 * 60e6, until: T0 + 20 * 60e6 }, 3], [{ addr: '203.0.113.0/24' }, 10]];
      for (const [f, top] of filters) {
        const want = reader.summarizeFlows(f, top);
        assert.deepEqual(await pgStore.summarizeFlows(f, top), want, JSON.stringify(f));
      }
      assert.equal(reader.summarizeFlows({}, 10).records, all.length);
      assert.deepEqual(await pgStore.summarizeFlows({ addr: '203.0.113.0/24' }, 10), { records: 0, packets: 0, bytes: 0, talkers: [], ports: [], protocols: [] });
      // through the API's data access, as `meerkat top` asks it
      const q = summaryQueryFromParams(new URLSearchParams('top=4&since=0'), NOW);
      assert.deepEqual(await pgDataAccess(pgStore, null).flowsSummary(q), reader.summarizeFlows(q.filter, q.top));
    } finally {
      reader.close();
    }
  });

  it('one alert with its evidence, as the single process answers it; null for an unknown id', async () => {
    for (let id = 1; id <= 6; id++) {
      const want = await sqliteViews.alert(id);
      assert.ok(want, `alert ${id}`);
      assert.deepEqual(await pgViews.alert(id), want);
    }
    assert.equal((await pgViews.alert(2))!.state, 'closed');
    assert.equal(await pgViews.alert(99), null);
    assert.equal(await sqliteViews.alert(99), null);
  });

  it('flows by an address prefix (IPv4, IPv6, with and without *): what a containment check selects, as SQLite does', async () => {
    const inside = (c: ReturnType<typeof parseCidr>, a: string): boolean => { const p = parseIp(a); return cidrContains(c, p.version, p.bytes); };
    const prefixes = ['10.0.0.0/8', '10.1.0.0/16', '10.2.8.0/21', '10.0.16.0/20', '10.1.200.0/26', '10.1.200.5/32', '10.1.200.5', '0.0.0.0/0', '128.0.0.0/1', '192.0.2.32/27',
      'fd00::/8', 'fd00:1::/32', 'fd00:2::/64', '2001:db8:1::/48', '::/0', '2001:db8:1::1/128', 'fd00:1::1f'];
    const reader = new SqliteFlowStore(dbPath, { readonly: true });
    try {
      for (const addr of prefixes) {
        for (const pseudo of [false, true]) {
          const c = parseCidr(addr);
          const want = all.filter((r) => (inside(c, r.orig_addr) && (!pseudo || r.orig_anon)) || (inside(c, r.resp_addr) && (!pseudo || r.resp_anon))).map((r) => r.uid).sort();
          const f: FlowFilter = pseudo ? { addr, addrPseudonym: true } : { addr };
          const got = (await pgStore.pageFlows(f, 5000, null)).records.map((r) => r.uid).sort();
          assert.deepEqual(got, want, `${addr}${pseudo ? ' (*)' : ''}`);
          assert.deepEqual(reader.pageFlows(f, 5000, null).records.map((r) => r.uid).sort(), want, `SQLite ${addr}`);
        }
      }
      assert.ok(all.filter((r) => inside(parseCidr('10.1.0.0/16'), r.orig_addr)).length > 50, 'the prefixes select something');
      // the API's query as the CLI sends it: "*" and a prefix, paged with the SQLite cursor
      const q = flowQueryFromParams(new URLSearchParams('addr=10.1.0.0/16*&limit=40'));
      const page = await pgDataAccess(pgStore, null).flowsPage(q);
      const same = reader.pageFlows(q.filter, q.limit, q.cursor);
      assert.deepEqual(page.records.map((r) => r.uid), same.records.map((r) => r.uid));
      assert.equal(page.next, same.next);
    } finally {
      reader.close();
    }
    await assert.rejects(pgStore.pageFlows({ addr: '10.1.0.0/33' }, 10, null), /not an address or CIDR prefix/);
  });

  it('a record whose address is no IP address is refused alone (the address indexes would fail its batch)', async () => {
    const bad = flow({ start: T0 - 3600e6, orig_addr: 'not-an-ip' });
    const good = flow({ start: T0 - 3600e6, orig_addr: '10.99.0.1' });
    const r = await pgStore.writeFlows([bad, good], [], []);
    assert.equal(r.inserted, 1);
    assert.deepEqual(r.refused, [{ uid: bad.uid, agentId: bad.agent_id, reason: 'orig_addr "not-an-ip" is not an IP address' }]);
    assert.deepEqual((await pgStore.pageFlows({ addr: '10.99.0.0/16' }, 10, null)).records.map((x) => x.uid), [good.uid]);
    await pool.query(`DELETE FROM org_views.flows WHERE uid = $1`, [good.uid]); // the other cases compare every record with SQLite's
  });

  it('a prefix is answered by the address indexes (an index range, not a scan of every flow)', async () => {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      // a small table: the planner would rightly scan it, so scans are priced out to see what the indexes can answer
      await c.query('SET LOCAL enable_seqscan = off');
      const plan = (await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT uid FROM org_views.flows WHERE (orig_addr)::inet <<= '10.1.0.0/16'::cidr OR (resp_addr)::inet <<= '10.1.0.0/16'::cidr`))
        .rows.map((r) => r['QUERY PLAN']).join('\n');
      await c.query('ROLLBACK');
      assert.match(plan, /flows_orig_inet/);
      assert.match(plan, /flows_resp_inet/);
      assert.match(plan, /Index Cond: \(\(\(orig_addr\)::inet >= '10\.1\.0\.0\/16'::inet\)/, plan);
    } finally {
      c.release();
    }
  });
});
