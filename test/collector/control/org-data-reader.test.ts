// The console's read queries on a real SQLite flow store: the export gives every matching
// record once, newest first; address prefixes (octet-aligned or not, IPv4 and IPv6) select
// exactly what a containment check on each record selects; the overview's series covers every
// minute of its window; bad cursors are named.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { SqliteFlowStore } from '../../../shared/store/sqlite-flow-store.js';
import { cidrContains, parseCidr, parseIp } from '../../../shared/net/ip-address.js';
import { CursorError, OrgDataReader, parseCursor, type FlowQuery } from '../../../collector/control/org-data-reader.js';
import { flow, T0 } from '../analyze/flow-gen.js';
import type { FlowRecord } from '../../../shared/flow/flow-record.js';

describe('console data reader', function () {
  let dir: string;
  let db: string;
  const all: FlowRecord[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meerkat-reader-'));
    db = join(dir, 'meerkat.db');
    const store = new SqliteFlowStore(db);
    let x = 7;
    const rnd = (): number => { x = (x * 1103515245 + 12345) & 0x7fffffff; return x; };
    for (let i = 0; i < 3000; i++) {
      // several records share a start time: the cursor must break ties by id
      const start = T0 + Math.floor(i / 3) * 1_000_000;
      const v6 = i % 10 === 0;
      all.push(flow({
        start, end: start + 500_000, agent_id: i % 2 ? 'agent-a' : 'agent-b',
        orig_addr: v6 ? `fd00:${(rnd() % 4).toString(16)}::${(rnd() % 65535).toString(16)}` : `10.${rnd() % 3}.${rnd() % 40}.${rnd() % 256}`,
        resp_addr: v6 ? '2001:db8::1' : `192.0.2.${rnd() % 256}`, ip_version: v6 ? 6 : 4,
        resp_port: [443, 80, 53][i % 3]!, proto: i % 3 === 2 ? 'udp' : 'tcp',
      }));
    }
    store.insertFlows(all);
    store.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function pageAll(r: OrgDataReader, q: FlowQuery, _limit: number): { uid: string; start: number }[] {
    return [...r.iterateFlows(q, 1_000_000)].map((f) => ({ uid: f.uid, start: f.start }));
  }

  it('exports every record once, newest first; from a cursor, the older ones only', () => {
    const r = new OrgDataReader(db);
    try {
      const got = [...r.iterateFlows({}, 1_000_000)];
      assert.equal(got.length, all.length);
      assert.equal(new Set(got.map((g) => g.uid)).size, all.length);
      for (let i = 1; i < got.length; i++) assert.ok(got[i - 1]!.start >= got[i]!.start);
      const mid = got[1000]!;
      const rest = [...r.iterateFlows({ before: parseCursor(`${mid.start}.${mid.id}`) }, 1_000_000)];
      assert.deepEqual(rest.map((f) => f.uid), got.slice(1001).map((f) => f.uid));
      const b = pageAll(r, { agentId: 'agent-b', port: 443 }, 50);
      assert.equal(b.length, all.filter((f) => f.agent_id === 'agent-b' && (f.resp_port === 443 || f.orig_port === 443)).length);
    } finally {
      r.close();
    }
  });

  it('selects by address prefix exactly what containment selects (IPv4 any length, IPv6)', () => {
    const r = new OrgDataReader(db);
    const inside = (c: ReturnType<typeof parseCidr>, a: string): boolean => { const p = parseIp(a); return cidrContains(c, p.version, p.bytes); };
    try {
      fc.assert(fc.property(fc.constantFrom('10.0.0.0', '10.1.0.0', '10.2.16.0', '192.0.2.0', 'fd00::', 'fd00:1::', 'fd00:3::'), fc.integer({ min: 1, max: 32 }), (net, len) => {
        const cidr = net.includes(':') ? `${net}/${Math.min(128, len + 8)}` : `${net}/${len}`;
        const c = parseCidr(cidr);
        const want = all.filter((f) => inside(c, f.orig_addr) || inside(c, f.resp_addr)).map((f) => f.uid).sort();
        const got = pageAll(r, { addr: cidr }, 500).map((g) => g.uid).sort();
        assert.deepEqual(got, want, cidr);
      }), { numRuns: 40 });
      assert.equal(pageAll(r, { addr: all[5]!.orig_addr }, 100).length, all.filter((f) => f.orig_addr === all[5]!.orig_addr || f.resp_addr === all[5]!.orig_addr).length);
    } finally {
      r.close();
    }
  });

  it('streams an export of the whole filter, bounded by max', () => {
    const r = new OrgDataReader(db);
    try {
      assert.equal([...r.iterateFlows({ proto: 'udp' }, 1_000_000)].length, all.filter((f) => f.proto === 'udp').length);
      assert.equal([...r.iterateFlows({}, 25)].length, 25);
    } finally {
      r.close();
    }
  });

  it('builds the overview over every minute of its window (ending at the newest flow when nothing is recent)', () => {
    const r = new OrgDataReader(db);
    try {
      const o = r.overview(60, Date.now() * 1000);
      assert.equal(o.series.length, 61);
      assert.equal(o.flowsInWindow, o.series.reduce((n, s) => n + s.flows, 0));
      assert.ok(o.flowsInWindow > 0);
      assert.ok(o.topTalkers.length > 0 && o.topTalkers.length <= 10);
      assert.deepEqual(o.protocols.map((p) => p.key).sort(), ['tcp', 'udp']);
    } finally {
      r.close();
    }
  });

  it('answers an organisation without a database with nothing, and names a bad cursor', () => {
    const r = new OrgDataReader(join(dir, 'none.db'));
    assert.deepEqual([...r.iterateFlows({}, 10)], []);
    assert.deepEqual(r.alerts({}, 10), { alerts: [], next: null });
    r.close();
    assert.throws(() => parseCursor('12;DROP'), CursorError);
  });
});
