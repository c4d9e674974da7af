// TcpConnection's shortcut for the common segment (an in-order ACK or data segment of a
// connection both sides have spoken on) against the general way: the same state and actions
// on random conversations built to reach it often, and the same flow records on every
// reference capture.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../../shared/packet/packet-record.js';
import { ConnHistory } from '../../../collector/flow/conn-history.js';
import { TcpAction, TcpConnection } from '../../../collector/flow/tcp-connection.js';
import { FlowEngine } from '../../../collector/flow/flow-engine.js';
import type { FlowRecord } from '../../../shared/flow/flow-record.js';
import { openCaptureFile } from '../../../shared/capture-file/index.js';
import { decodeFrameFast, DecodedPacket } from '../../../shared/decode/index.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';
import { conversation, segmentRecord, stepArb, type Step } from './tcp-segment.js';

/** The connection's whole state (endpoints, handshake times, history), for comparison. */
function snapshot(c: TcpConnection): string {
  return JSON.stringify(c, (k, v: unknown) => (k === 'fastPath' ? undefined : v));
}

describe('TcpConnection: the common segment\'s shortcut', () => {
  it('leaves the state and actions the general way leaves, segment by segment (fast-check)', () => {
    let shortcuts = 0;
    let segments = 0;
    const handshake: Step[] = [
      { fromA: true, seqKind: 'next', flags: TCP_SYN, len: 0, window: 65535, ackKind: 'random', rnd: 0 },
      { fromA: false, seqKind: 'next', flags: TCP_SYN | TCP_ACK, len: 0, window: 65535, ackKind: 'all', rnd: 0 },
      { fromA: true, seqKind: 'next', flags: TCP_ACK, len: 0, window: 65535, ackKind: 'all', rnd: 0 },
    ];
    // most conversations open with a handshake, some without its last ACK (the originator's
    // first ACK then comes from the random steps: the handshake times may be taken on the
    // shortcut); the others start mid-stream (Partial)
    const arb = fc.tuple(fc.constantFrom(0, 2, 3, 3), fc.array(stepArb, { minLength: 1, maxLength: 60 }))
      .map(([open, steps]) => [...handshake.slice(0, open), ...steps]);
    fc.assert(fc.property(arb, (steps) => {
      const fast = new TcpConnection(new ConnHistory(), true);
      const general = new TcpConnection(new ConnHistory(), false);
      let aOrig = true;
      conversation(steps).forEach((s, i) => {
        const rec = segmentRecord(s, 1_700_000_000_000_000 + i * 1000);
        const before = snapshot(general);
        const a = fast.process(s.fromA === aOrig, rec);
        const b = general.process(s.fromA === aOrig, rec);
        assert.equal(a, b, `action of segment ${i} ${JSON.stringify(s)} after ${before}`);
        assert.equal(snapshot(fast), snapshot(general), `state after segment ${i} ${JSON.stringify(s)} from ${before}`);
        if ((b & TcpAction.Flipped) !== 0) aOrig = !aOrig;
        segments++;
        // the segments the shortcut may take (its own test, repeated): so the run shows it was reached
        if ((s.flags & (TCP_SYN | TCP_FIN | TCP_RST | TCP_ACK)) === TCP_ACK && s.window !== 0 && /"state":[34]/.test(before)) shortcuts++;
      });
    }), { numRuns: 1500 });
    assert.ok(shortcuts > segments / 10, `segments of the kind the shortcut takes: ${shortcuts} of ${segments}`);
  });

  it('gives the same flow records on every reference capture', function () {
    this.timeout(120_000);
    const pcaps = referencePcapsDir();
    const files = readdirSync(pcaps, { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.(pcap|pcapng|cap)$/.test(f)).sort().map((f) => join(pcaps, f));
    assert.ok(files.length > 40, `reference captures found: ${files.length}`);
    const run = (tcpFastPath: boolean): FlowRecord[] => {
      const out: FlowRecord[] = [];
      const engine = new FlowEngine({ onRecord: (r) => out.push(r), uidPrefix: 'F', tcpFastPath });
      const d = new DecodedPacket();
      for (const file of files) {
        let reader;
        try {
          reader = openCaptureFile(file);
        } catch {
          continue; // not a capture this reader takes (the import tests cover those)
        }
        try {
          for (let fr = reader.next(); fr !== null; fr = reader.next()) {
            decodeFrameFast(fr.linkType, fr.buf, fr.offset, fr.capLen, fr.wireLen, fr.tsUs, d, { payloadView: false });
            engine.add(d, file);
          }
        } catch {
          // a damaged capture: the frames before the damage count, as in an import
        } finally {
          reader.close();
        }
        engine.flushAll();
      }
      return out;
    };
    const fast = run(true);
    const general = run(false);
    const tcp = fast.filter((r) => r.proto === 'tcp');
    assert.ok(tcp.length > 1000, `TCP flow records: ${tcp.length}`);
    assert.equal(fast.length, general.length);
    assert.deepEqual(fast, general);
  });
});
