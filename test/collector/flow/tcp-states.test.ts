// TCP tracking through the real flow engine: every Zeek conn_state, history letters,
// role flips, handshake RTTs, retransmissions and zero windows.
import assert from 'node:assert/strict';
import { A, F, Harness, P, R, S, TcpScript } from './packet-script.js';
import type { FlowRecord } from '../../../shared/flow/flow-record.js';

function run(script: (c: TcpScript) => void): FlowRecord {
  const h = new Harness({ agentId: 'agent-1' });
  const c = new TcpScript(h, '10.0.0.1:40000', '192.0.2.10:8080');
  script(c);
  const recs = h.finish();
  assert.equal(recs.length, 1, `expected one record, got ${JSON.stringify(recs)}`);
  return recs[0]!;
}

describe('flow engine: TCP conn_state', () => {
  it('SF: handshake, data both ways, FIN exchange', () => {
    const r = run((c) => {
      c.handshake();
      c.send('a', P | A, 100);
      c.send('b', A);
      c.send('b', P | A, 300);
      c.send('a', A);
      c.send('a', F | A);
      c.send('b', F | A);
      c.send('a', A);
    });
    assert.equal(r.conn_state, 'SF');
    assert.equal(r.history, 'ShADadFf');
    assert.equal(r.orig_addr, '10.0.0.1');
    assert.equal(r.orig_port, 40000);
    assert.equal(r.resp_addr, '192.0.2.10');
    assert.equal(r.resp_port, 8080);
    assert.equal(r.orig_pkts, 6);
    assert.equal(r.resp_pkts, 4);
    assert.equal(r.orig_ip_bytes, 6 * 40 + 100);
    assert.equal(r.resp_ip_bytes, 4 * 40 + 300);
    assert.equal(r.orig_payload_bytes, 100);
    assert.equal(r.resp_payload_bytes, 300);
    assert.equal(r.record_cause, 'close');
    assert.equal(r.agent_id, 'agent-1');
    assert.equal(r.rtt_syn_synack_us, 1000);
    assert.equal(r.rtt_synack_ack_us, 1000);
    assert.equal(r.pcr, (100 - 300) / 400);
  });

  it('S0: SYN without answer', () => {
    const r = run((c) => c.send('a', S));
    assert.equal(r.conn_state, 'S0');
    assert.equal(r.history, 'S');
    assert.equal(r.rtt_syn_synack_us, null);
  });

  it('REJ: SYN answered by RST', () => {
    const r = run((c) => {
      c.send('a', S);
      c.send('b', R | A);
    });
    assert.equal(r.conn_state, 'REJ');
    assert.equal(r.history, 'Sr');
  });

  it('S1: established, not closed', () => {
    const r = run((c) => {
      c.handshake();
      c.send('a', P | A, 10);
    });
    assert.equal(r.conn_state, 'S1');
    assert.equal(r.record_cause, 'flush');
  });

  it('S2: originator closes, responder never does', () => {
    const r = run((c) => {
      c.handshake();
      c.send('a', F | A);
    });
    assert.equal(r.conn_state, 'S2');
  });

  it('S3: responder closes, originator never does', () => {
    const r = run((c) => {
      c.handshake();
      c.send('b', F | A);
    });
    assert.equal(r.conn_state, 'S3');
  });

  it('RSTO: established, originator aborts', () => {
    const r = run((c) => {
      c.handshake();
      c.send('a', R | A);
    });
    assert.equal(r.conn_state, 'RSTO');
    assert.equal(r.history, 'ShAR');
  });

  it('RSTR: established, responder aborts', () => {
    const r = run((c) => {
      c.handshake();
      c.send('a', P | A, 5);
      c.send('b', R | A);
    });
    assert.equal(r.conn_state, 'RSTR');
  });

  it('RSTOS0: SYN then RST from the originator, no SYN-ACK', () => {
    const r = run((c) => {
      c.send('a', S);
      c.send('a', R);
    });
    assert.equal(r.conn_state, 'RSTOS0');
  });

  it('RSTRH: SYN-ACK then RST from the responder, SYN never seen', () => {
    const r = run((c) => {
      c.send('b', S | A);
      c.send('b', R);
    });
    assert.equal(r.conn_state, 'RSTRH');
    // the SYN-ACK sender is the responder: roles flipped at once
    assert.equal(r.orig_addr, '10.0.0.1');
    assert.equal(r.resp_port, 8080);
    assert.equal(r.history, '^hr');
  });

  it('SH: SYN then FIN from the originator', () => {
    const r = run((c) => {
      c.send('a', S);
      c.send('a', F);
    });
    assert.equal(r.conn_state, 'SH');
  });

  it('SHR: SYN-ACK then FIN from the responder', () => {
    const r = run((c) => {
      c.send('b', S | A);
      c.send('b', F | A);
    });
    assert.equal(r.conn_state, 'SHR');
  });

  it('OTH: mid-stream traffic without SYN', () => {
    const r = run((c) => {
      c.send('a', P | A, 50);
      c.send('b', A);
    });
    assert.equal(r.conn_state, 'OTH');
    assert.equal(r.history, 'Da');
  });
});

describe('flow engine: TCP history, flips and counters', () => {
  it('flips a connection whose first packet is a SYN-ACK and measures nothing it did not see', () => {
    const r = run((c) => {
      c.send('b', S | A);
      c.send('a', A);
      c.send('a', P | A, 20);
      c.send('b', P | A, 40);
      c.send('a', F | A);
      c.send('b', F | A);
    });
    assert.equal(r.history, '^hADdFf');
    assert.equal(r.conn_state, 'SF');
    assert.equal(r.orig_addr, '10.0.0.1');
    assert.equal(r.orig_pkts, 3);
    assert.equal(r.resp_pkts, 3);
    assert.equal(r.rtt_syn_synack_us, null);
  });

  it('mid-stream: the side on a likely server port is the responder', () => {
    const h = new Harness();
    const c = new TcpScript(h, '192.0.2.10:443', '10.0.0.1:51000');
    c.send('a', P | A, 100); // the server speaks first in the capture
    c.send('b', A);
    const [r] = h.finish();
    assert.equal(r!.orig_addr, '10.0.0.1');
    assert.equal(r!.orig_port, 51000);
    assert.equal(r!.resp_port, 443);
    assert.equal(r!.history, '^dA');
    assert.equal(r!.resp_payload_bytes, 100);
  });

  it('records retransmissions once, then logarithmically (1, 10, 100)', () => {
    const r = run((c) => {
      c.handshake();
      c.send('a', P | A, 100);
      const seq = 1001; // the data segment's sequence number (ISN 1000 + SYN)
      for (let i = 0; i < 10; i++) c.send('a', P | A, 100, { seq });
    });
    assert.equal(r.retransmits_orig, 10);
    assert.equal(r.retransmits_resp, 0);
    assert.equal(r.history, 'ShADTT');
  });

  it('counts zero-window advertisements', () => {
    const r = run((c) => {
      c.handshake();
      c.send('a', P | A, 100);
      c.send('b', A, 0, { window: 0 });
      c.send('b', A, 0, { window: 0 });
    });
    assert.equal(r.zero_windows_resp, 2);
    assert.equal(r.zero_windows_orig, 0);
    assert.equal(r.history, 'ShADaw');
  });

  it('records a content gap when the peer acknowledges data we never saw', () => {
    const r = run((c) => {
      c.handshake();
      c.send('b', P | A, 100);
      c.send('a', A);
      // the responder's next 200 bytes are not captured, its FIN is
      c.send('b', F | A, 0, { seq: 500001 + 100 + 200 });
      c.send('a', A, 0, { ack: 500001 + 100 + 200 + 1 });
    });
    assert.equal(r.history, 'ShAdfg');
    assert.equal(r.conn_state, 'S3');
  });

  it('repeats S only for a SYN with a new sequence number', () => {
    const r = run((c) => {
      c.send('a', S);
      c.send('a', S, 0, { seq: 1000 }); // retransmitted SYN, same ISN
    });
    assert.equal(r.history, 'S');
    assert.equal(r.orig_pkts, 2);
  });

  it('a new SYN after the close starts a new flow (port reuse)', () => {
    const h = new Harness();
    const c = new TcpScript(h, '10.0.0.1:40000', '192.0.2.10:80');
    c.handshake();
    c.send('a', F | A);
    c.send('b', F | A);
    c.send('a', A);
    c.send('a', S, 0, { seq: 777777 });
    const recs = h.finish();
    assert.equal(recs.length, 2);
    assert.equal(recs[0]!.conn_state, 'SF');
    assert.equal(recs[0]!.record_cause, 'close');
    assert.equal(recs[1]!.conn_state, 'S0');
    assert.notEqual(recs[0]!.uid, recs[1]!.uid);
  });

  it('a SYN-ACK captured before its SYN stays one flow with the SYN sender as originator', () => {
    const h = new Harness({ tcpServerPorts: [] });
    h.add({ tsUs: 1, src: '192.0.2.10', dst: '10.0.0.1', proto: 6, sport: 7000, dport: 40000,
      tcpFlags: S | A, seq: 900, ack: 1001 });
    h.add({ tsUs: 2, src: '10.0.0.1', dst: '192.0.2.10', proto: 6, sport: 40000, dport: 7000,
      tcpFlags: S, seq: 1000 });
    h.add({ tsUs: 3, src: '10.0.0.1', dst: '192.0.2.10', proto: 6, sport: 40000, dport: 7000,
      tcpFlags: A, seq: 1001, ack: 901 });
    const recs = h.finish();
    assert.equal(recs.length, 1);
    const r = recs[0];
    assert.equal(r!.orig_addr, '10.0.0.1');
    assert.equal(r!.orig_pkts, 2);
    assert.equal(r!.resp_pkts, 1);
  });
});
