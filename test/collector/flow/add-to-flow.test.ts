// FlowEngine.addToFlow (a segment handed to the flow a caller remembered for its key) against
// add(): the same records on random conversations whose pauses let flows expire and whose SYNs
// reuse the port pair, the remembered flow taken whenever the engine accepts it; and its
// refusals: an ended flow, also one its packet's time expired.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FlowEngine } from '../../../collector/flow/flow-engine.js';
import type { Flow } from '../../../collector/flow/flow.js';
import type { FlowRecord } from '../../../shared/flow/flow-record.js';
import { PacketRecord, TCP_ACK, TCP_SYN } from '../../../shared/packet/packet-record.js';
import { conversation, segmentRecord, stepArb, type Segment } from './tcp-segment.js';

const A = [10, 1, 1, 1];
const B = [93, 184, 216, 34];

/** The segment as an IPv4 record between A:40000 and B:443 (either way). */
function segment(rec: PacketRecord, s: Segment, tsUs: number): PacketRecord {
  segmentRecord(s, tsUs, rec);
  rec.ipVersion = 4;
  rec.src.set(s.fromA ? A : B);
  rec.dst.set(s.fromA ? B : A);
  rec.sport = s.fromA ? 40000 : 443;
  rec.dport = s.fromA ? 443 : 40000;
  rec.ipLen = 40 + s.len;
  rec.wireLen = 54 + s.len;
  return rec;
}

describe('FlowEngine.addToFlow', () => {
  it('gives the records of add() when a caller hands segments to the flows it remembered (fast-check)', () => {
    let taken = 0;
    let refused = 0;
    const gapArb = fc.constantFrom(1_000, 1_000, 1_000, 50_000, 2_000_000, 6_000_000, 70_000_000, 400_000_000);
    fc.assert(fc.property(fc.array(fc.tuple(stepArb, gapArb), { minLength: 1, maxLength: 80 }), (steps) => {
      const segs = conversation(steps.map(([s]) => s));
      const byAdd: FlowRecord[] = [];
      const byMemo: FlowRecord[] = [];
      const plain = new FlowEngine({ onRecord: (r) => byAdd.push(r), uidPrefix: 'F', timeouts: { activeUs: 30e6 } });
      const memo = new FlowEngine({ onRecord: (r) => byMemo.push(r), uidPrefix: 'F', timeouts: { activeUs: 30e6 } });
      // what a caller remembers per key (here the direction): the flow and the sender's side
      const remembered = new Map<boolean, { flow: Flow; fromA: boolean }>();
      const r1 = new PacketRecord();
      const r2 = new PacketRecord();
      let t = 1_700_000_000_000_000;
      segs.forEach((s, i) => {
        t += steps[i]![1];
        plain.add(segment(r1, s, t));
        const rec = segment(r2, s, t);
        const known = remembered.get(s.fromA);
        if ((s.flags & TCP_SYN) === 0 && known !== undefined) {
          if (memo.addToFlow(known.flow, known.fromA, rec)) { taken++; return; }
          refused++;
        }
        memo.add(rec);
        const flow = memo.lastFlowAdded;
        assert.ok(flow !== null);
        remembered.set(s.fromA, { flow, fromA: memo.lastFromA });
      });
      plain.flushAll();
      memo.flushAll();
      assert.deepEqual(byMemo, byAdd);
      assert.deepEqual(memo.stats, plain.stats);
    }), { numRuns: 800 });
    assert.ok(taken > 1000 && refused > 100, `segments taken ${taken}, refused ${refused}`);
  });

  it('refuses an ended flow, also one the expiry its packet made due ended, without counting the packet', () => {
    const records: FlowRecord[] = [];
    const engine = new FlowEngine({ onRecord: (r) => records.push(r), uidPrefix: 'F' });
    const rec = new PacketRecord();
    const t0 = 1_700_000_000_000_000;
    const s = (fromA: boolean, flags: number, seq: number, ack: number, len: number): Segment => ({ fromA, flags, seq, ack, len, window: 65535 });
    engine.add(segment(rec, s(true, TCP_SYN, 100, 0, 0), t0));
    const flow = engine.lastFlowAdded!;
    const fromA = engine.lastFromA;
    engine.add(segment(rec, s(false, TCP_SYN | TCP_ACK, 500, 101, 0), t0 + 10));
    assert.equal(engine.addToFlow(flow, fromA, segment(rec, s(true, TCP_ACK, 101, 501, 0), t0 + 20)), true);
    assert.equal(engine.stats.packets, 3);
    // past the TCP idle timeout (5 min): the expiry this time makes due ends the flow, and the
    // segment is add()'s (a new flow), which finds the time advanced already
    const late = segment(rec, s(true, TCP_ACK, 101, 501, 10), t0 + 301e6);
    assert.equal(engine.addToFlow(flow, fromA, late), false);
    assert.equal(flow.alive, false);
    assert.equal(records.length, 1, 'the idle flow ended');
    assert.equal(engine.stats.packets, 3, 'the refused segment not counted');
    engine.add(late);
    assert.equal(engine.stats.packets, 4);
    assert.equal(engine.activeFlows, 1);
    assert.equal(engine.addToFlow(flow, fromA, segment(rec, s(true, TCP_ACK, 111, 501, 0), t0 + 302e6)), false);
    assert.equal(engine.stats.packets, 4);
    engine.flushAll();
    assert.equal(records.length, 2);
    assert.deepEqual(records.map((r) => r.orig_pkts + r.resp_pkts), [3, 1]);
  });
});
