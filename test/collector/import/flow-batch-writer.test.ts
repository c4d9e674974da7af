// FlowBatchWriter on a real SQLite store: a record the store refuses (NaN time, a missing
// text) costs only itself - the other agents' records of the same batch are stored, and the
// refusal is counted and reported (defence in depth behind the dump reader's value checks).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlowBatchWriter } from '../../../collector/import/flow-batch-writer.js';
import { SqliteFlowStore } from '../../../shared/store/sqlite-flow-store.js';
import type { RefusedFlow } from '../../../shared/store/flow-store.js';
import { NO_APP_FIELDS, type FlowRecord } from '../../../shared/flow/flow-record.js';

const NOW = 1_700_000_000_000_000;

function flow(uid: string, agent: string, over: Partial<FlowRecord> = {}): FlowRecord {
  return {
    uid, record_seq: 0, community_id: '1:x', agent_id: agent, proto: 'udp', ip_proto: 17, ip_version: 4,
    orig_addr: '10.0.0.1', orig_port: 5000, resp_addr: '192.0.2.1', resp_port: 53, vlan: 0, flow_start: NOW, start: NOW,
    end: NOW + 10, duration: 0.00001, orig_pkts: 1, resp_pkts: 1, orig_ip_bytes: 60, resp_ip_bytes: 80,
    orig_payload_bytes: 32, resp_payload_bytes: 52, conn_state: 'SF', history: 'Dd', record_cause: 'flush',
    rtt_syn_synack_us: null, rtt_synack_ack_us: null, retransmits_orig: 0, retransmits_resp: 0, zero_windows_orig: 0,
    zero_windows_resp: 0, iat_mean_orig_us: null, iat_stddev_orig_us: null, iat_mean_resp_us: null, iat_stddev_resp_us: null,
    pcr: null, tunnel: '', orig_anon: false, resp_anon: false, ...NO_APP_FIELDS, ...over,
  };
}

describe('FlowBatchWriter', () => {
  let dir: string;
  let store: SqliteFlowStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'meerkat-fbw-'));
    store = new SqliteFlowStore(join(dir, 'f.db'));
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores the rest of a batch when one record cannot be stored, and reports the one', () => {
    const seen: RefusedFlow[] = [];
    const w = new FlowBatchWriter(store, 100, (r) => seen.push(...r));
    for (let i = 0; i < 10; i++) w.add(flow(`A${i}`, 'agent-a'));
    w.add(flow('P0', 'agent-p', { flow_start: NaN, start: NaN }));
    w.add(flow('P1', 'agent-p', { end: Infinity }));
    for (let i = 0; i < 10; i++) w.add(flow(`B${i}`, 'agent-b'));
    w.flush(); // one batch of 22, as at shutdown (flushAll)
    assert.equal(w.written, 20);
    assert.equal(w.refused, 2);
    assert.deepEqual(seen.map((r) => [r.uid, r.agentId]), [['P0', 'agent-p'], ['P1', 'agent-p']]);
    assert.equal(store.countFlows({ agentId: 'agent-a' }), 10);
    assert.equal(store.countFlows({ agentId: 'agent-b' }), 10);
    assert.equal(store.countFlows({ agentId: 'agent-p' }), 0);
  });

  it('writes every record once across batches (each batch emptied after its write)', () => {
    const w = new FlowBatchWriter(store, 3);
    for (let i = 0; i < 7; i++) w.add(flow(`C${i}`, 'agent-c'));
    assert.equal(w.written, 6, 'two full batches of 3 written as they filled');
    w.flush();
    w.flush(); // nothing left: writes nothing
    assert.equal(w.written, 7);
    assert.equal(store.countFlows({ agentId: 'agent-c' }), 7);
    const uids = store.queryFlows({ agentId: 'agent-c' }).map((r) => r.uid).sort();
    assert.deepEqual(uids, ['C0', 'C1', 'C2', 'C3', 'C4', 'C5', 'C6']);
  });

  it('still throws when the database itself fails (the caller retries; nothing is silently dropped)', () => {
    const w = new FlowBatchWriter(store, 100);
    w.add(flow('A0', 'agent-a'));
    store.close();
    assert.throws(() => w.flush(), /not open|closed/i);
  });
});
