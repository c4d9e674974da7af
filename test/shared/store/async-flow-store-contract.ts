// The one contract suite of AsyncFlowStore (shared/store/async-flow-store.ts), run against
// every backend with its real engine: SQLite (sqlite-async-flow-store.test.ts) and PostgreSQL
// (postgres/pg-flow-store.test.ts). Records are real: the flows of the reference capture built by
// the collector's flow engine.
import assert from 'node:assert/strict';
import { FlowEngine } from '../../../collector/flow/flow-engine.js';
import type { FlowRecord } from '../../../shared/flow/flow-record.js';
import type { DnsRecord } from '../../../shared/flow/app-records.js';
import type { AsyncFlowStore, DumpCommit } from '../../../shared/store/async-flow-store.js';
import type { DumpInfo } from '../../../shared/store/flow-store.js';
import { referenceRecords } from '../../helpers/transport-rig.js';

/** Flow records of the reference capture for one agent (uids fixed so two builds compare). */
export function referenceFlows(agentId: string): FlowRecord[] {
  const out: FlowRecord[] = [];
  const engine = new FlowEngine({ agentId, onRecord: (r) => out.push(r), uidPrefix: `C${agentId}.` });
  for (const r of referenceRecords()) engine.add(r);
  engine.flushAll();
  return out;
}

function info(seq: number): DumpInfo {
  return { receivedUs: 1_700_000_000_000_000 + seq, firstTsUs: seq * 1000, lastTsUs: seq * 1000 + 999, packetCount: 10 + seq, formatVersion: 2, linkType: 1, anonKeyId: '0123456789abcdef', snapLen: 0, compression: 'zstd', rawPath: null, rawBytes: 1234 };
}

function dnsRecord(agentId: string, uid: string): DnsRecord {
  return {
    uid, agent_id: agentId, ts: 1_000_000, orig_addr: '10.0.0.1', orig_port: 5353, resp_addr: '10.0.0.53', resp_port: 53, orig_anon: true, resp_anon: false,
    proto: 'udp', trans_id: 7, rtt_us: 900, query: 'example.com', query_anon: false, qclass: 1, qclass_name: 'C_INTERNET', qtype: 1, qtype_name: 'A',
    rcode: 0, rcode_name: 'NOERROR', AA: false, TC: false, RD: true, RA: true, answers: [],
  } as DnsRecord;
}

/** Drops the store-assigned nothing: records compare field by field as the engine made them. */
function byUid(a: FlowRecord, b: FlowRecord): number {
  return a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : a.record_seq - b.record_seq;
}

/** What a backend's factory must honour: the clock that stamps stored records, retention days. */
export interface ContractStoreOptions {
  nowUs: () => number;
  flowsDays: number;
}

export function asyncFlowStoreContract(name: string, open: (o: ContractStoreOptions) => Promise<AsyncFlowStore>): void {
  describe(`AsyncFlowStore contract: ${name}`, function () {
    this.timeout(60_000);
    let store: AsyncFlowStore;
    const flows = referenceFlows('agent-a');

    let clock = 1_700_000_000_000_000;
    beforeEach(async () => { clock = 1_700_000_000_000_000; store = await open({ nowUs: () => clock, flowsDays: 2 }); });
    afterEach(async () => { await store.close(); });

    it('commits a dump with its flows in one go and reads the flows back unchanged', async () => {
      assert.ok(flows.length > 20, 'the reference capture makes flows');
      const c: DumpCommit = { agentId: 'agent-a', sequence: 1, info: info(1), flows, dns: [dnsRecord('agent-a', flows[0]!.uid)], tls: [] };
      const r = await store.commitDump(c);
      assert.equal(r.stored, true);
      assert.equal(r.flows.inserted, flows.length);
      assert.equal(await store.hasDump('agent-a', 1), true);
      assert.equal(await store.countFlows(), flows.length);
      const back = (await store.queryFlows({ order: 'asc' })).sort(byUid);
      assert.deepEqual(back, [...flows].sort(byUid));
      const d = await store.getDump('agent-a', 1);
      assert.equal(d?.packetCount, 11);
      assert.equal(d?.anonKeyId, '0123456789abcdef');
      const agents = await store.listAgents();
      assert.deepEqual(agents.map((a) => a.agentId), ['agent-a']);
    });

    it('a second commit of the same (agent, sequence) writes nothing and says so', async () => {
      const c: DumpCommit = { agentId: 'agent-a', sequence: 5, info: info(5), flows: flows.slice(0, 10), dns: [], tls: [] };
      assert.equal((await store.commitDump(c)).stored, true);
      const again = await store.commitDump({ ...c, flows: flows.slice(10, 30) });
      assert.equal(again.stored, false);
      assert.equal(again.flows.inserted, 0);
      assert.equal(await store.countFlows(), 10);
      assert.equal(await store.countDumps('agent-a'), 1);
      // another agent's same sequence is another dump
      assert.equal((await store.commitDump({ ...c, agentId: 'agent-b', flows: [] })).stored, true);
      assert.equal(await store.countDumps(), 2);
    });

    it('concurrent commits of one key store it once', async () => {
      const c: DumpCommit = { agentId: 'agent-a', sequence: 9, info: info(9), flows: flows.slice(0, 5), dns: [], tls: [] };
      const rs = await Promise.all([store.commitDump(c), store.commitDump(c), store.commitDump(c)]);
      assert.equal(rs.filter((r) => r.stored).length, 1);
      assert.equal(await store.countFlows(), 5);
    });

    it('commits several dumps in one transaction, each once (group commit)', async () => {
      await store.commitDump({ agentId: 'agent-a', sequence: 1, info: info(1), flows: flows.slice(0, 2), dns: [], tls: [] });
      const rs = await store.commitDumps([
        { agentId: 'agent-a', sequence: 1, info: info(1), flows: flows.slice(2, 4), dns: [], tls: [] },
        { agentId: 'agent-a', sequence: 2, info: info(2), flows: flows.slice(4, 7), dns: [], tls: [] },
        { agentId: 'agent-b', sequence: 2, info: info(2), flows: flows.slice(7, 8), dns: [], tls: [] },
        { agentId: 'agent-a', sequence: 2, info: info(2), flows: flows.slice(8, 9), dns: [], tls: [] },
      ]);
      assert.deepEqual(rs.map((r) => r.stored), [false, true, true, false]);
      assert.deepEqual(rs.map((r) => r.flows.inserted), [0, 3, 1, 0]);
      assert.equal(await store.countFlows(), 6);
      assert.equal(await store.countDumps(), 3);
      assert.deepEqual((await store.listAgents()).map((a) => a.agentId), ['agent-a', 'agent-b']);
    });

    it('refuses a record a column cannot take, stores the rest of its dump', async () => {
      const bad = { ...flows[0]!, uid: 'bad-one', duration: Number.NaN };
      const r = await store.commitDump({ agentId: 'agent-a', sequence: 2, info: info(2), flows: [bad, flows[1]!, flows[2]!], dns: [], tls: [] });
      assert.equal(r.stored, true);
      assert.equal(r.flows.inserted, 2);
      assert.deepEqual(r.flows.refused.map((x) => x.uid), ['bad-one']);
      assert.match(r.flows.refused[0]!.reason, /duration/);
      assert.equal(await store.countFlows({ uid: 'bad-one' }), 0);
    });

    it('filters flows by agent, address, port, protocol, time and limit', async () => {
      await store.commitDump({ agentId: 'agent-a', sequence: 1, info: info(1), flows, dns: [], tls: [] });
      const other = referenceFlows('agent-b');
      await store.commitDump({ agentId: 'agent-b', sequence: 1, info: info(1), flows: other.slice(0, 7), dns: [], tls: [] });
      assert.equal(await store.countFlows({ agentId: 'agent-b' }), 7);
      const f = flows[3]!;
      const byAddr = await store.queryFlows({ agentId: 'agent-a', addr: f.resp_addr });
      assert.equal(byAddr.length, flows.filter((x) => x.orig_addr === f.resp_addr || x.resp_addr === f.resp_addr).length);
      assert.equal(await store.countFlows({ agentId: 'agent-a', port: f.resp_port }), flows.filter((x) => x.orig_port === f.resp_port || x.resp_port === f.resp_port).length);
      assert.equal(await store.countFlows({ agentId: 'agent-a', proto: 'udp' }), flows.filter((x) => x.proto === 'udp').length);
      const mid = flows[Math.floor(flows.length / 2)]!.start;
      assert.equal(await store.countFlows({ agentId: 'agent-a', since: mid }), flows.filter((x) => x.end >= mid).length);
      assert.equal(await store.countFlows({ agentId: 'agent-a', until: mid }), flows.filter((x) => x.start <= mid).length);
      const newest = await store.queryFlows({ agentId: 'agent-a', limit: 3 });
      assert.equal(newest.length, 3);
      assert.ok(newest[0]!.start >= newest[1]!.start && newest[1]!.start >= newest[2]!.start, 'newest first');
      await assert.rejects(store.queryFlows({ limit: -1 }), /limit/);
    });

    it('retention removes flows, log rows and dump rows older than flowsDays, keeps the rest', async () => {
      const day = 86_400_000_000;
      await store.commitDump({ agentId: 'agent-a', sequence: 1, info: { ...info(1), receivedUs: clock }, flows: flows.slice(0, 3), dns: [dnsRecord('agent-a', 'u1')], tls: [] });
      clock += 3 * day;
      await store.commitDump({ agentId: 'agent-a', sequence: 2, info: { ...info(2), receivedUs: clock }, flows: flows.slice(3, 5), dns: [], tls: [] });
      const r = await store.applyRetention(clock);
      assert.deepEqual(r, { flowsDeleted: 3, dumpRowsDeleted: 1 });
      assert.equal(await store.countFlows(), 2);
      assert.equal(await store.hasDump('agent-a', 1), false);
      assert.equal(await store.hasDump('agent-a', 2), true);
      assert.deepEqual(await store.applyRetention(clock), { flowsDeleted: 0, dumpRowsDeleted: 0 });
    });

    it('writes flows not tied to a dump (watermark, shutdown) in one transaction', async () => {
      const r = await store.writeFlows(flows.slice(0, 4), [], []);
      assert.equal(r.inserted, 4);
      assert.equal(await store.countFlows(), 4);
      assert.equal(await store.countDumps(), 0);
    });
  });
}
