// The flow batch codec between the ingest thread and the analyzer workers: every record comes
// out as it went in (fuzzed), events keep their place in the stream, and the string table stays
// in step across batches, epochs, dropped batches and workers started afresh.
import assert from 'node:assert/strict';
import { serialize, deserialize } from 'node:v8';
import fc from 'fast-check';
import { APP_PROTOS, CONN_STATES, RECORD_CAUSES, type FlowRecord } from '../../../shared/flow/flow-record.js';
import { FlowBatchDecoder, FlowBatchEncoder, stringsOnly, TableMismatchError, type FlowBatch, type StreamEvent } from '../../../collector/analyze/flow-batch-codec.js';
import { generateFlows } from '../../../bench/analyze-bench.js';

/** What postMessage does to a batch: the strings and events are cloned, the numbers shared. */
function posted(b: FlowBatch): FlowBatch {
  const c = deserialize(serialize({ ...b, numbers: null })) as FlowBatch;
  return { ...c, numbers: b.numbers };
}

const num = fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.double({ min: 0, max: 1e16, noNaN: true }), fc.constant(2 ** 40 + 0.5));
const maybe = fc.option(fc.oneof(fc.integer({ min: 0, max: 1e9 }), fc.double({ min: -1, max: 1e9, noNaN: true })), { nil: null });
const text = fc.string({ maxLength: 40 });

const flowRecord: fc.Arbitrary<FlowRecord> = fc.record({
  uid: text, record_seq: fc.integer({ min: 0, max: 1e6 }), community_id: text, agent_id: fc.constantFrom('a', 'b', 'ü-agent'),
  proto: fc.constantFrom('tcp', 'udp', 'icmp', 'ip-99'), ip_proto: fc.integer({ min: 0, max: 255 }), ip_version: fc.constantFrom(4, 6),
  orig_addr: fc.oneof(fc.ipV4(), fc.ipV6(), text), orig_port: fc.integer({ min: 0, max: 65535 }),
  resp_addr: fc.oneof(fc.ipV4(), fc.ipV6(), text), resp_port: fc.integer({ min: 0, max: 65535 }), vlan: fc.integer({ min: 0, max: 4095 }),
  flow_start: num, start: num, end: num, duration: fc.double({ min: 0, max: 1e7, noNaN: true }),
  orig_pkts: num, resp_pkts: num, orig_ip_bytes: num, resp_ip_bytes: num, orig_payload_bytes: num, resp_payload_bytes: num,
  conn_state: fc.constantFrom(...CONN_STATES), history: fc.string({ maxLength: 12 }), record_cause: fc.constantFrom(...RECORD_CAUSES),
  rtt_syn_synack_us: maybe, rtt_synack_ack_us: maybe, retransmits_orig: num, retransmits_resp: num, zero_windows_orig: num, zero_windows_resp: num,
  iat_mean_orig_us: maybe, iat_stddev_orig_us: maybe, iat_mean_resp_us: maybe, iat_stddev_resp_us: maybe, pcr: maybe,
  tunnel: fc.constantFrom('', 'gre', 'vxlan'), orig_anon: fc.boolean(), resp_anon: fc.boolean(),
  app_proto: fc.constantFrom(...APP_PROTOS), server_name: fc.option(text, { nil: null }), server_name_anon: fc.boolean(),
  alpn: fc.constantFrom('', 'h2,http/1.1'), ja4: text, ja4s: text,
});

function roundTrip(records: readonly FlowRecord[], capacity: number): FlowRecord[] {
  const enc = new FlowBatchEncoder(capacity);
  const dec = new FlowBatchDecoder();
  const out: FlowRecord[] = [];
  const send = (): void => dec.replay(posted(enc.take()), (r) => out.push(r), () => undefined);
  for (const r of records) {
    enc.add(r);
    if (enc.full) send();
  }
  send();
  return out;
}

describe('flow batch codec', () => {
  it('every record comes out equal to what went in (fuzzed: nulls, large and fractional numbers, any strings)', () => {
    fc.assert(fc.property(fc.array(flowRecord, { maxLength: 60 }), fc.integer({ min: 1, max: 16 }), (records, capacity) => {
      assert.deepEqual(roundTrip(records, capacity), records.map((r) => ({ ...r })));
    }), { numRuns: 300 });
  });

  it('generated traffic round-trips across many batches with the table carried over', () => {
    const recs = generateFlows(5000, 7);
    assert.deepEqual(roundTrip(recs, 256), recs);
  });

  it('DNS payloads, application records and watermarks come back in their place in the stream', () => {
    const recs = generateFlows(5, 1);
    const enc = new FlowBatchEncoder(64);
    enc.addAdvance('x', 1);
    enc.add(recs[0]!);
    enc.add(recs[1]!);
    const payload = new Uint8Array([1, 2, 3]);
    enc.addDns({ payload, agentId: 'x', tsUs: 5, client: 'c', server: 's', clientAnon: true, tcp: false });
    payload[0] = 9; // the producer reuses its buffer: the event kept a copy
    enc.add(recs[2]!);
    enc.addApp({
      kind: 'http', record: { ts: 7, uid: 'u', agent_id: 'x', orig_addr: 'a', orig_port: 1, resp_addr: 'b', resp_port: 80, orig_anon: false, resp_anon: false,
        method: 'GET', version: '1.1', host: 'h.example', host_anon: false, user_agent: null },
    });
    enc.addAdvance('x', 9);
    const seen: string[] = [];
    new FlowBatchDecoder().replay(posted(enc.take()), (r) => seen.push(r.uid), (e: StreamEvent) => seen.push(e.kind === 'dns' ? `dns:${[...e.payload].join(',')}` : e.kind === 'advance' ? `advance:${e.tUs}` : `app:${e.app.kind}`));
    assert.deepEqual(seen, ['advance:1', recs[0]!.uid, recs[1]!.uid, 'dns:1,2,3', recs[2]!.uid, 'app:http', 'advance:9']);
  });

  it('a worker whose records were dropped still gets the new strings (stringsOnly) and decodes what follows', () => {
    const recs = generateFlows(300, 3);
    const enc = new FlowBatchEncoder(100);
    const behind = new FlowBatchDecoder();
    const out: FlowRecord[] = [];
    for (let i = 0; i < 300; i++) {
      enc.add(recs[i]!);
      if (enc.full) {
        const b = enc.take();
        if (i < 200) behind.accept(posted(stringsOnly(b))); // dropped for it
        else behind.replay(posted(b), (r) => out.push(r), () => undefined);
      }
    }
    assert.deepEqual(out, recs.slice(200));
  });

  it('a worker started afresh decodes from the epoch resetTable names; an out-of-step table is an error, not a wrong record', () => {
    const recs = generateFlows(40, 2);
    const enc = new FlowBatchEncoder(10);
    const old = new FlowBatchDecoder();
    for (let i = 0; i < 10; i++) enc.add(recs[i]!);
    old.accept(posted(enc.take()));
    enc.add(recs[10]!);
    const from = enc.resetTable(); // a batch is being filled: the table starts over after it
    const pending = enc.take();
    assert.equal(pending.epoch, from - 1);
    const fresh = new FlowBatchDecoder();
    assert.throws(() => fresh.accept(posted(pending)), TableMismatchError);
    for (let i = 11; i < 21; i++) enc.add(recs[i]!);
    const next = enc.take();
    assert.equal(next.epoch, from);
    assert.equal(next.tableBase, 0);
    const got: FlowRecord[] = [];
    new FlowBatchDecoder().replay(posted(next), (r) => got.push(r), () => undefined);
    assert.deepEqual(got, recs.slice(11, 21));
    // an idle encoder starts the new table at once
    assert.equal(enc.resetTable(), from + 1);
    enc.add(recs[30]!);
    assert.equal(enc.take().epoch, from + 1);
  });
});
