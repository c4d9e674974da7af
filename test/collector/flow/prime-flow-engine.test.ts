// The flow engine's feedback primer (collector/flow/prime-flow-engine.ts): its script still
// takes the branches it exists for (were the engine to change so that a scenario no longer
// retransmits, fills a hole or expires on a timer, the primer would silently stop priming
// them), and it leaves nothing behind that another engine could see.
import assert from 'node:assert/strict';
import { primeFlowEngine } from '../../../collector/flow/prime-flow-engine.js';
import type { FlowRecord } from '../../../shared/flow/flow-record.js';
import { A, F, Harness, P, R, S, TcpScript } from './packet-script.js';

function primed(): FlowRecord[] {
  const out: FlowRecord[] = [];
  primeFlowEngine((r) => out.push(r));
  return out;
}

describe('flow engine primer', () => {
  it('runs every kind of conversation, state and record cause it is meant to prime', () => {
    const recs = primed();
    const states = new Set<string>(recs.map((r) => r.conn_state));
    for (const s of ['SF', 'REJ', 'S0', 'S1', 'S2', 'RSTR', 'OTH']) assert.ok(states.has(s), `conn_state ${s} in ${[...states].join(' ')}`);
    const causes = new Set<string>(recs.map((r) => r.record_cause));
    for (const c of ['close', 'timeout', 'start', 'flush']) assert.ok(causes.has(c), `record cause ${c}`);
    const protos = new Set(recs.map((r) => r.proto));
    for (const p of ['tcp', 'udp', 'icmp', 'gre']) assert.ok(protos.has(p), `protocol ${p}`);
    assert.ok(recs.some((r) => r.ip_version === 6), 'an IPv6 flow');
    const histories = recs.map((r) => r.history);
    const has = (re: RegExp, what: string): void => assert.ok(histories.some((h) => re.test(h)), `${what}: ${histories.join(' ')}`);
    has(/t/, 'a retransmission');
    has(/^ShADadtFf$/, 'a hole filled late (no gap)');
    has(/g/, 'a content gap');
    has(/I/, 'a FIN+RST');
    has(/Q/, 'a multi-flag probe');
    has(/\^/, 'roles flipped');
    has(/r.*r/, 'a RST repeated with another sequence number');
    // the fragment scenario: later fragments joined to their datagram, an unknown one port-less
    assert.ok(recs.some((r) => r.proto === 'udp' && r.orig_pkts >= 2 && r.orig_payload_bytes >= 3000), 'a fragmented datagram counted in its flow');
  });

  it('leaves nothing another engine sees: an engine fed around a priming emits what it emits alone', () => {
    const run = (primeBetween: boolean): FlowRecord[] => {
      const h = new Harness({ uidPrefix: 'T.' });
      const c = new TcpScript(h, '10.0.0.1:40000', '10.0.0.2:443');
      c.handshake();
      c.send('a', P | A, 100);
      if (primeBetween) primed();
      c.send('b', P | A, 1000);
      c.send('a', F | A);
      c.send('b', F | A);
      c.send('a', A);
      h.add({ tsUs: c.t + 10, src: '10.0.0.3', dst: '10.0.0.4', proto: 17, sport: 5000, dport: 53, payloadLen: 30 });
      const t = new TcpScript(h, '10.0.0.5:40001', '10.0.0.6:23', c.t + 20);
      t.send('a', S);
      t.send('b', R | A);
      return h.finish();
    };
    const alone = run(false);
    assert.equal(alone.length, 3);
    assert.deepEqual(run(true), alone);
  });
});
