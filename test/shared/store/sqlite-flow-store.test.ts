// SqliteFlowStore on real SQLite files: migrations, dump de-duplication, flow round
// trips and queries, retention, transactions.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { cidrContains, parseCidr, parseIp } from '../../../shared/net/ip-address.js';
import { SqliteFlowStore } from '../../../shared/store/sqlite-flow-store.js';
import { StoreError, type DumpInfo } from '../../../shared/store/flow-store.js';
import { LATEST_SCHEMA_VERSION } from '../../../shared/store/sqlite-migrations.js';
import { NO_APP_FIELDS, type FlowRecord } from '../../../shared/flow/flow-record.js';
import type { DnsRecord, TlsRecord } from '../../../shared/flow/app-records.js';

const DAY = 86_400_000_000;
const NOW = 1_700_000_000_000_000;

function flow(over: Partial<FlowRecord> = {}): FlowRecord {
  return {
    uid: 'Fabc.1', record_seq: 0, community_id: '1:LQU9qZlK+B5F3KDmev6m5PMibrg=', agent_id: 'agent-a',
    proto: 'tcp', ip_proto: 6, ip_version: 4, orig_addr: '10.0.0.1', orig_port: 40000,
    resp_addr: '192.0.2.10', resp_port: 443, vlan: 0, flow_start: NOW - 1000, start: NOW - 1000, end: NOW,
    duration: 0.001, orig_pkts: 5, resp_pkts: 4, orig_ip_bytes: 300, resp_ip_bytes: 2000,
    orig_payload_bytes: 100, resp_payload_bytes: 1800, conn_state: 'SF', history: 'ShADadFf',
    record_cause: 'close', rtt_syn_synack_us: 1200, rtt_synack_ack_us: null, retransmits_orig: 1,
    retransmits_resp: 0, zero_windows_orig: 0, zero_windows_resp: 2, iat_mean_orig_us: 250.5,
    iat_stddev_orig_us: 10.25, iat_mean_resp_us: null, iat_stddev_resp_us: null, pcr: -0.894736842105263,
    tunnel: '', orig_anon: true, resp_anon: false, ...NO_APP_FIELDS, ...over,
  };
}

function dumpInfo(over: Partial<DumpInfo> = {}): DumpInfo {
  return { receivedUs: NOW, firstTsUs: NOW - 5000, lastTsUs: NOW, packetCount: 20000, ...over };
}

describe('SqliteFlowStore', () => {
  let dir: string;
  let path: string;
  let store: SqliteFlowStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'meerkat-store-'));
    path = join(dir, 'flows.db');
    store = new SqliteFlowStore(path);
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the schema at the latest version, in WAL mode, and reopens without re-migrating', () => {
    assert.equal(store.schemaVersion(), LATEST_SCHEMA_VERSION);
    store.close();
    const db = new Database(path);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    const rows = db.prepare('SELECT version, name FROM schema_migrations').all();
    assert.equal(rows.length, LATEST_SCHEMA_VERSION);
    db.close();
    store = new SqliteFlowStore(path);
    assert.equal(store.schemaVersion(), LATEST_SCHEMA_VERSION);
  });

  it('refuses a database from a newer build, and a read-only open of an unmigrated one', () => {
    store.close();
    const db = new Database(path);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_us) VALUES (?, ?, ?)').run(999, 'future', 0);
    db.close();
    assert.throws(() => new SqliteFlowStore(path), (e: unknown) => e instanceof StoreError && /newer than this build/.test(e.message));
    const empty = join(dir, 'empty.db');
    new Database(empty).close();
    assert.throws(() => new SqliteFlowStore(empty, { readonly: true }), /schema version 0/);
    store = new SqliteFlowStore(join(dir, 'other.db'));
  });

  it('records a dump once: a resend of (agent, sequence) is reported as duplicate', () => {
    assert.equal(store.recordDump('agent-a', 1, dumpInfo({ rawPath: '/spool/a-1.mkd', rawBytes: 1234, anonKeyId: '0123456789abcdef' })), true);
    assert.equal(store.recordDump('agent-a', 1, dumpInfo()), false);
    assert.equal(store.recordDump('agent-a', 2, dumpInfo()), true);
    assert.equal(store.recordDump('agent-b', 1, dumpInfo()), true);
    const d = store.getDump('agent-a', 1)!;
    assert.equal(d.packetCount, 20000);
    assert.equal(d.rawPath, '/spool/a-1.mkd');
    assert.equal(d.anonKeyId, '0123456789abcdef');
    assert.equal(d.rawDeletedUs, null);
    assert.equal(store.getDump('agent-a', 3), null);
    assert.throws(() => store.recordDump('agent-a', -1, dumpInfo()), StoreError);
  });

  it('a dump and its flows commit together or not at all', () => {
    assert.throws(() => store.transaction(() => {
      store.recordDump('agent-a', 7, dumpInfo());
      store.insertFlows([flow()]);
      throw new Error('boom');
    }), /boom/);
    assert.equal(store.getDump('agent-a', 7), null);
    assert.equal(store.countFlows(), 0);
    store.transaction(() => {
      assert.equal(store.recordDump('agent-a', 7, dumpInfo()), true);
      store.insertFlows([flow()]);
    });
    assert.equal(store.countFlows(), 1);
  });

  it('round-trips flow records exactly', () => {
    const a = flow();
    const b = flow({ uid: 'Fabc.2', proto: 'udp', ip_proto: 17, conn_state: 'S0', orig_anon: false, resp_anon: true,
      pcr: null, rtt_syn_synack_us: null, tunnel: 'vxlan', start: NOW + 10, end: NOW + 20, flow_start: NOW + 10 });
    store.insertFlows([a, b]);
    const got = store.queryFlows({ order: 'asc' });
    assert.deepEqual(got, [a, b]);
  });

  it('answers queries by agent, address, port, protocol, state, time and uid', () => {
    const recs: FlowRecord[] = [];
    for (let i = 0; i < 50; i++) {
      recs.push(flow({
        uid: `F${i}`, agent_id: i % 2 === 0 ? 'agent-a' : 'agent-b', orig_addr: `10.0.0.${i % 5}`,
        resp_port: i % 3 === 0 ? 53 : 443, proto: i % 3 === 0 ? 'udp' : 'tcp', conn_state: i % 3 === 0 ? 'S0' : 'SF',
        start: NOW + i * 1000, end: NOW + i * 1000 + 500, flow_start: NOW + i * 1000,
      }));
    }
    store.insertFlows(recs);
    const expect = (pred: (r: FlowRecord) => boolean) => recs.filter(pred).length;
    assert.equal(store.countFlows({ agentId: 'agent-b' }), 25);
    assert.equal(store.countFlows({ addr: '10.0.0.3' }), expect((r) => r.orig_addr === '10.0.0.3'));
    assert.equal(store.countFlows({ addr: '192.0.2.10' }), 50);
    assert.equal(store.countFlows({ port: 53 }), expect((r) => r.resp_port === 53));
    assert.equal(store.countFlows({ proto: 'udp', state: 'S0' }), expect((r) => r.proto === 'udp'));
    assert.equal(store.countFlows({ since: NOW + 10_000, until: NOW + 19_999 }), 10);
    assert.equal(store.countFlows({ since: NOW + 10_400 }), 40, 'overlap: a record ending after since counts');
    assert.deepEqual(store.queryFlows({ uid: 'F7' }).map((r) => r.uid), ['F7']);
    const newest = store.queryFlows({ limit: 3 });
    assert.deepEqual(newest.map((r) => r.uid), ['F49', 'F48', 'F47']);
    const iter = [...store.iterateFlows({ agentId: 'agent-a', order: 'asc', limit: 2 })];
    assert.deepEqual(iter.map((r) => r.uid), ['F0', 'F2']);
  });

  it('applies retention: flows after 30 days, raw dump files after 7 (paths returned, rows kept)', () => {
    store.close();
    let clock = NOW - 40 * DAY;
    store = new SqliteFlowStore(path, { nowUs: () => clock });
    store.insertFlows([flow({ uid: 'old', start: NOW - 40 * DAY, end: NOW - 40 * DAY + 10, flow_start: NOW - 40 * DAY })]);
    clock = NOW - 10 * DAY;
    store.insertFlows([flow({ uid: 'recent', start: NOW - 10 * DAY, end: NOW - 10 * DAY, flow_start: NOW - 10 * DAY })]);
    store.recordDump('agent-a', 1, dumpInfo({ receivedUs: NOW - 40 * DAY, rawPath: '/spool/1' }));
    store.recordDump('agent-a', 2, dumpInfo({ receivedUs: NOW - 8 * DAY, rawPath: '/spool/2' }));
    store.recordDump('agent-a', 3, dumpInfo({ receivedUs: NOW - 1 * DAY, rawPath: '/spool/3' }));
    const res = store.applyRetention(NOW);
    assert.equal(res.flowsDeleted, 1);
    assert.deepEqual(res.rawPathsToDelete.sort(), ['/spool/1', '/spool/2']);
    assert.equal(res.dumpRowsDeleted, 1);
    assert.deepEqual(store.queryFlows().map((r) => r.uid), ['recent']);
    assert.equal(store.getDump('agent-a', 2)!.rawDeletedUs, NOW);
    assert.equal(store.getDump('agent-a', 3)!.rawDeletedUs, null);
    // a second pass has nothing more to do
    assert.deepEqual(store.applyRetention(NOW), { flowsDeleted: 0, dumpRowsDeleted: 0, rawPathsToDelete: [] });
  });

  it('keeps by the time a record was stored, not by packet time: an old capture imported today stays', () => {
    store.close();
    let clock = NOW;
    store = new SqliteFlowStore(path, { nowUs: () => clock });
    // packets of ten years ago, stored now
    store.insertFlows([flow({ uid: 'imported', start: NOW - 3650 * DAY, end: NOW - 3650 * DAY + 10, flow_start: NOW - 3650 * DAY })]);
    store.recordDump('agent-a', 1, dumpInfo({ receivedUs: NOW, firstTsUs: NOW - 3650 * DAY, lastTsUs: NOW - 3650 * DAY, rawPath: '/spool/1' }));
    assert.deepEqual(store.applyRetention(NOW + DAY), { flowsDeleted: 0, dumpRowsDeleted: 0, rawPathsToDelete: [] });
    assert.equal(store.countFlows(), 1);
    // and it goes 30 days after it was stored
    clock = NOW + 31 * DAY;
    assert.equal(store.applyRetention(NOW + 31 * DAY).flowsDeleted, 1);
  });

  it('refuses a record with a value its column cannot take, and stores the rest of the batch', () => {
    const bad = [
      flow({ uid: 'nan', start: NaN }), flow({ uid: 'inf', end: Infinity }), flow({ uid: 'big', duration: -1e400 }),
      flow({ uid: 'text', history: undefined as unknown as string }), flow({ uid: 'null', orig_pkts: null as unknown as number }),
    ];
    const good = [flow({ uid: 'a' }), flow({ uid: 'b', agent_id: 'agent-b' })];
    const r = store.transaction(() => store.insertFlows([good[0]!, ...bad, good[1]!]));
    assert.equal(r.inserted, 2);
    assert.deepEqual(r.refused.map((x) => x.uid), ['nan', 'inf', 'big', 'text', 'null']);
    assert.match(r.refused[0]!.reason, /start_us is NaN, expected a finite number/);
    assert.match(r.refused[3]!.reason, /history is undefined, expected text/);
    assert.deepEqual(store.queryFlows({ order: 'asc' }).map((x) => x.uid).sort(), ['a', 'b']);
  });

  it('honours a configured retention', () => {
    store.close();
    store = new SqliteFlowStore(path, { retention: { flowsDays: 1, rawDumpsDays: 1 }, nowUs: () => NOW - 2 * DAY });
    store.insertFlows([flow({ start: NOW - 2 * DAY, end: NOW - 2 * DAY, flow_start: NOW - 2 * DAY })]);
    assert.equal(store.applyRetention(NOW).flowsDeleted, 1);
    assert.throws(() => new SqliteFlowStore(path, { retention: { flowsDays: 0 } }), StoreError);
  });

  it('keeps agents with first/last seen times and info', () => {
    store.upsertAgent('agent-a', NOW, { version: '0.1.0' });
    store.upsertAgent('agent-a', NOW - 100);
    store.upsertAgent('agent-a', NOW + 100);
    assert.deepEqual(store.listAgents(), [{ agentId: 'agent-a', firstSeenUs: NOW - 100, lastSeenUs: NOW + 100, info: { version: '0.1.0' } }]);
  });

  it('reads through a read-only handle while the writer is open', () => {
    store.insertFlows([flow()]);
    const ro = new SqliteFlowStore(path, { readonly: true });
    try {
      assert.equal(ro.countFlows(), 1);
      assert.throws(() => ro.insertFlows([flow({ uid: 'x' })]));
    } finally {
      ro.close();
    }
  });

  it('application fields round-trip; flows are found by server name, exactly or with the names under it (an index range)', () => {
    const a = flow({ uid: 'Fa.1', app_proto: 'tls', server_name: 'www.Example.com', alpn: 'h2,http/1.1', ja4: 't13d1516h2_8daaf6152771_b186095e22b6', ja4s: 't130200_1301_a56c5b993250' });
    const b = flow({ uid: 'Fb.1', app_proto: 'dns', server_name: 'example.com' });
    const c = flow({ uid: 'Fc.1', app_proto: 'http', server_name: 'notexample.com' });
    const d = flow({ uid: 'Fd.1', app_proto: 'dns', server_name: 'mk--x.mk--y', server_name_anon: true });
    store.insertFlows([a, b, c, d, flow({ uid: 'Fe.1' })]);
    assert.deepEqual(store.queryFlows({ uid: 'Fa.1' })[0], a);
    assert.deepEqual(store.queryFlows({ uid: 'Fd.1' })[0], d);
    const uids = (f: Parameters<SqliteFlowStore['queryFlows']>[0]): string[] => store.queryFlows(f).map((r) => r.uid).sort();
    assert.deepEqual(uids({ name: 'example.com' }), ['Fb.1']);
    assert.deepEqual(uids({ name: 'WWW.EXAMPLE.COM.' }), ['Fa.1']);
    assert.deepEqual(uids({ name: 'example.com', nameSuffix: true }), ['Fa.1', 'Fb.1'], 'notexample.com is not under example.com');
    assert.deepEqual(uids({ name: '*.example.com', nameSuffix: true }), ['Fa.1', 'Fb.1']);
    assert.deepEqual(uids({ name: 'com', nameSuffix: true }), ['Fa.1', 'Fb.1', 'Fc.1']);
    assert.deepEqual(uids({ name: 'mk--x.mk--y' }), ['Fd.1']);
    assert.equal(store.countFlows({ name: 'example.com', nameSuffix: true, proto: 'tcp' }), 2);
    const db = new Database(path, { readonly: true });
    const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT * FROM flows WHERE (server_name_rev = ? OR (server_name_rev > ? AND server_name_rev < ?))`)
      .all('com.example', 'com.example.', 'com.example/') as { detail: string }[];
    db.close();
    assert.ok(plan.some((p) => p.detail.includes('flows_server_name')), JSON.stringify(plan));
  });

  it('stores and filters the DNS and TLS logs; retention removes them with the flows', () => {
    const base = { uid: 'Fa.1', agent_id: 'agent-a', orig_addr: '10.0.0.5', orig_port: 40000, resp_addr: '10.0.0.1', resp_port: 53, orig_anon: true, resp_anon: false };
    const dns: DnsRecord = {
      ...base, ts: NOW - 10, proto: 'udp', trans_id: 7, rtt_us: 1200, query: 'a.example.com', query_anon: false, qclass: 1, qclass_name: 'C_INTERNET',
      qtype: 1, qtype_name: 'A', rcode: 3, rcode_name: 'NXDOMAIN', AA: false, TC: false, RD: true, RA: true,
      answers: [{ type: 'CNAME', data: 'b.example.net', ttl: 60, anon: false }, { type: 'A', data: '192.0.2.1', ttl: 5, anon: false }],
    };
    const dns2: DnsRecord = { ...dns, ts: NOW - 5, query: 'other.org', rcode: null, rcode_name: null, rtt_us: null, answers: [], RA: false };
    const tls: TlsRecord = {
      ...base, resp_port: 443, ts: NOW - 3, transport: 'tcp', version: 'TLSv13', client_version: 'TLSv13', cipher: 'TLS_AES_128_GCM_SHA256',
      server_name: 'www.example.com', server_name_anon: false, alpn: ['h2', 'http/1.1'], next_protocol: null, ja4: 't13d1516h2_8daaf6152771_b186095e22b6',
      ja4s: 't130200_1301_a56c5b993250', quic_version: null,
    };
    store.close();
    store = new SqliteFlowStore(path, { nowUs: () => NOW });
    store.insertAppRecords([dns, dns2], [tls, { ...tls, ts: NOW - 2, alpn: [], server_name: null, ja4: null, ja4s: null, version: null, cipher: null, transport: 'quic', quic_version: 1 }]);
    assert.deepEqual([...store.iterateDns()], [dns2, dns]);
    assert.deepEqual([...store.iterateDns({ rcode: 3 })], [dns]);
    assert.deepEqual([...store.iterateDns({ name: 'example.com', nameSuffix: true })], [dns]);
    assert.deepEqual([...store.iterateDns({ name: 'example.com' })], []);
    assert.deepEqual([...store.iterateDns({ since: NOW - 6, order: 'asc' })], [dns2]);
    assert.deepEqual([...store.iterateTls({ ja4: tls.ja4! })], [tls]);
    assert.equal([...store.iterateTls({ limit: 1 })][0]!.transport, 'quic');
    assert.deepEqual([...store.iterateTls({ addr: '10.0.0.1', name: 'www.example.com' })], [tls]);
    store.close();
    store = new SqliteFlowStore(path, { nowUs: () => NOW + 40 * DAY });
    store.applyRetention(NOW + 40 * DAY);
    assert.equal([...store.iterateDns()].length, 0);
    assert.equal([...store.iterateTls()].length, 0);
  });

  it('migrates a version-3 database: old flows read back with empty application fields', () => {
    store.insertFlows([flow({ uid: 'Fold.1' })]);
    store.close();
    const db = new Database(path);
    db.exec(`DROP TABLE dns_log; DROP TABLE tls_log; DROP INDEX flows_server_name;
      ALTER TABLE flows DROP COLUMN app_proto; ALTER TABLE flows DROP COLUMN server_name; ALTER TABLE flows DROP COLUMN server_name_rev;
      ALTER TABLE flows DROP COLUMN server_name_anon; ALTER TABLE flows DROP COLUMN alpn; ALTER TABLE flows DROP COLUMN ja4; ALTER TABLE flows DROP COLUMN ja4s;
      DELETE FROM schema_migrations WHERE version = 4;`);
    db.close();
    store = new SqliteFlowStore(path);
    assert.equal(store.schemaVersion(), LATEST_SCHEMA_VERSION);
    assert.deepEqual(store.queryFlows({ uid: 'Fold.1' })[0], flow({ uid: 'Fold.1' }));
  });
});

describe('SqliteFlowStore pageFlows (newest-first windows)', () => {
  let dir: string;
  let store: SqliteFlowStore;
  let all: FlowRecord[];
  const PORTS = [22, 53, 80, 443, 3389, 8443];
  const ADDRS = ['10.0.0.1', '10.0.1.7', '10.1.200.3', '10.2.3.4', '10.20.0.9', '172.16.5.5', '192.0.2.10', '198.51.100.77', '2001:db8::1', '2001:db8:1::5'];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meerkat-store-page-'));
    // windows shrunk to a few rows so that 600 flows reach every path: the first window, the
    // count of few matches, the growing windows and the plain query
    store = new SqliteFlowStore(join(dir, 'f.db'), { pageWindow: { rows: 8, growth: 3, max: 300, fewMatches: 12 } });
    // deterministic variety: ties on start times, rare and common ports and addresses, old and new
    const rnd = fc.sample(fc.tuple(fc.nat(5), fc.nat(ADDRS.length - 1), fc.nat(ADDRS.length - 1), fc.nat(40), fc.boolean(), fc.constantFrom('SF', 'S0', 'REJ')), { numRuns: 600, seed: 15 });
    all = rnd.map(([p, a, b, dt, udp, state], i) => {
      const v6 = ADDRS[a]!.includes(':') || ADDRS[b]!.includes(':');
      const orig = v6 ? (ADDRS[a]!.includes(':') ? ADDRS[a]! : '2001:db8::9') : ADDRS[a]!;
      const resp = v6 ? (ADDRS[b]!.includes(':') ? ADDRS[b]! : '2001:db8::a') : ADDRS[b]!;
      // the rare port 3389 only among the oldest rows, so a page of it needs the later paths
      const port = PORTS[p]! === 3389 && i < 500 ? 443 : PORTS[p]!;
      const start = NOW - Math.floor(i / 3) * 1000 - (dt % 3);
      return flow({ uid: `Fp${i}.1`, orig_addr: orig, resp_addr: resp, ip_version: v6 ? 6 : 4, resp_port: port, proto: udp ? 'udp' : 'tcp',
        conn_state: state as FlowRecord['conn_state'], start, flow_start: start, end: start + dt * 100, orig_anon: a % 2 === 0 });
    });
    // inserted in shuffled order: row ids do not follow start times
    const order = fc.sample(fc.shuffledSubarray(all.map((_, i) => i), { minLength: all.length }), { numRuns: 1, seed: 7 })[0]!;
    store.insertFlows(order.map((i) => all[i]!));
  });
  after(() => { store.close(); rmSync(dir, { recursive: true, force: true }); });

  const filterArb = fc.record({
    port: fc.option(fc.constantFrom(...PORTS, 4444), { nil: undefined }),
    proto: fc.option(fc.constantFrom('tcp', 'udp'), { nil: undefined }),
    addr: fc.option(fc.constantFrom(...ADDRS, '10.0.0.0/8', '10.0.0.0/9', '10.0.0.0/16', '10.0.0.0/23', '10.1.0.0/16', '10.1.192.0/20', '10.16.0.0/12', '10.2.3.0/24', '10.2.3.0/26', '10.2.3.0/28', '10.2.3.4/30',
      '0.0.0.0/0', '8.0.0.0/5', '172.16.0.0/12', '192.0.2.0/24', '2001:db8::/32', '2001:db8::/48', '::/0'), { nil: undefined }),
    addrPseudonym: fc.option(fc.boolean(), { nil: undefined }),
    state: fc.option(fc.constantFrom('SF', 'S0', 'REJ'), { nil: undefined }),
    since: fc.option(fc.integer({ min: NOW - 210_000, max: NOW }), { nil: undefined }),
    until: fc.option(fc.integer({ min: NOW - 210_000, max: NOW }), { nil: undefined }),
  }, { requiredKeys: [] });

  it('pages through exactly the records of the plain query, in its order', () => {
    fc.assert(fc.property(filterArb, fc.integer({ min: 1, max: 40 }), (raw, limit) => {
      const f = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)) as Parameters<SqliteFlowStore['queryFlows']>[0] & object;
      if (f.addrPseudonym !== undefined && f.addr === undefined) delete f.addrPseudonym;
      const plain = store.queryFlows(f).map((r) => r.uid);
      const paged: string[] = [];
      let cursor: string | null = null;
      for (let k = 0; k < 700; k++) {
        const page = store.pageFlows(f, limit, cursor);
        paged.push(...page.records.map((r) => r.uid));
        assert.ok(page.records.length === limit || page.next === null, 'only the last page is short');
        if (page.next === null) break;
        cursor = page.next;
      }
      assert.deepEqual(paged, plain);
    }), { numRuns: 250, seed: 4242 });
  });

  it('selects by prefix exactly the records whose address lies in it', () => {
    for (const p of ['10.0.0.0/8', '10.0.0.0/9', '10.0.0.0/16', '10.0.0.0/23', '10.1.192.0/20', '10.16.0.0/12', '10.2.3.4/30', '0.0.0.0/0', '8.0.0.0/5', '2001:db8::/48']) {
      const c = parseCidr(p);
      const inside = (a: string): boolean => { const ip = parseIp(a); return cidrContains(c, ip.version, ip.bytes); };
      const want = all.filter((r) => inside(r.orig_addr) || inside(r.resp_addr)).length;
      assert.ok(p === '2001:db8::/48' || want > 0 || p === '8.0.0.0/5', `the sample reaches ${p}`);
      assert.equal(store.countFlows({ addr: p }), want, p);
    }
  });

  it('keeps the cursor format of docs/api.md and refuses a bad one', () => {
    const page = store.pageFlows({ port: 443 }, 5, null);
    const last = page.records[4]!;
    assert.equal(Buffer.from(page.next!, 'base64url').toString('utf8').split(':')[0], String(last.start));
    assert.throws(() => store.pageFlows({ port: 443 }, 5, 'not a cursor!'), StoreError);
  });
});
