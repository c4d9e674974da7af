import assert from 'node:assert/strict';
import { decodePacket, DecodedPacket } from '../../../shared/decode/index.js';
import { EMPTY_BYTES } from '../../../shared/packet/packet-record.js';
import { SnapPolicy, SnapPolicyError } from '../../../agent/pipeline/snap-policy.js';
import { arp, ether, icmpv4, ipv4, tcp, udp, ACK, PSH } from '../../helpers/frames.js';

const H = '02:00:00:00:00:0a';
const P = '02:00:00:00:00:0b';
const T0 = 1_700_000_000_000_000;
const DATA = Array.from({ length: 300 }, (_, i) => i & 0xff);

function decode(frame: number[], tsUs = T0, capLen = frame.length): DecodedPacket {
  const f = Uint8Array.from(frame.slice(0, capLen));
  return decodePacket(1, f, frame.length, tsUs, new DecodedPacket());
}

const tcpData = (src = '10.0.0.5', dst = '198.51.100.7', dport = 443): number[] => ether(P, H, 0x0800, ipv4(src, dst, 6, tcp(50000, dport, ACK | PSH, DATA)));

describe('agent/pipeline/snap-policy', () => {
  it('keeps no payload by default', () => {
    const p = decode(tcpData());
    assert.equal(p.payloadLen, 300);
    new SnapPolicy().apply(p);
    assert.equal(p.payload, EMPTY_BYTES);
  });

  it('keeps min(snapLen, payload, captured) bytes, the right ones, changeable at run time', () => {
    const s = new SnapPolicy({ snapLen: 64 });
    const p = decode(tcpData());
    s.apply(p);
    assert.deepEqual([...p.payload], DATA.slice(0, 64));
    s.setSnapLen(1000);
    s.apply(p);
    assert.deepEqual([...p.payload], DATA);
    const cut = decode(tcpData(), T0, 14 + 20 + 20 + 100); // capture ended inside the payload
    s.apply(cut);
    assert.deepEqual([...cut.payload], DATA.slice(0, 100));
    s.setSnapLen(0);
    s.apply(p);
    assert.equal(p.payload.length, 0);
    assert.throws(() => s.setSnapLen(-1), SnapPolicyError);
    assert.throws(() => s.setSnapLen(70000), /0\.\.65535/);
  });

  it('reuses the view for a length instead of allocating per packet', () => {
    const s = new SnapPolicy({ snapLen: 32 });
    const a = decode(tcpData());
    s.apply(a);
    const first = a.payload;
    const b = decode(tcpData('10.0.0.6'));
    s.apply(b);
    assert.equal(b.payload, first);
  });

  it('never keeps ICMP error payloads (they quote the real addresses) unless told to', () => {
    const quoted = ipv4('10.0.0.5', '198.51.100.7', 17, udp(50000, 53, [1, 2, 3, 4]));
    const frame = ether(H, P, 0x0800, ipv4('198.51.100.7', '10.0.0.5', 1, icmpv4(3, 3, quoted)));
    const p = decode(frame);
    new SnapPolicy({ snapLen: 1500 }).apply(p);
    assert.equal(p.payload.length, 0);
    new SnapPolicy({ snapLen: 1500, keepIcmpErrorPayload: true }).apply(p);
    assert.ok(p.payload.length > 0);
    const echo = decode(ether(H, P, 0x0800, ipv4('198.51.100.7', '10.0.0.5', 1, icmpv4(0, 0, [9, 9, 9]))));
    new SnapPolicy({ snapLen: 1500 }).apply(echo);
    assert.deepEqual([...echo.payload], [9, 9, 9]);
  });

  it('keeps nothing of non-IP frames', () => {
    const p = decode(ether('ff:ff:ff:ff:ff:ff', H, 0x0806, arp(1, H, '10.0.0.5', '00:00:00:00:00:00', '10.0.0.1')));
    new SnapPolicy({ snapLen: 1500 }).apply(p);
    assert.equal(p.payload.length, 0);
  });

  it('per-peer rules raise the snap length for that peer (either side, optional port) until they expire', () => {
    const s = new SnapPolicy();
    s.addPeerRule({ address: '198.51.100.7', snapLen: 65535, untilUs: T0 + 60e6 });
    s.addPeerRule({ address: '203.0.113.1', port: 22, snapLen: 16, untilUs: T0 + 60e6 });
    const out = decode(tcpData());
    s.apply(out);
    assert.equal(out.payload.length, 300);
    const back = decode(ether(H, P, 0x0800, ipv4('198.51.100.7', '10.0.0.5', 6, tcp(443, 50000, ACK, DATA))));
    s.apply(back);
    assert.equal(back.payload.length, 300);
    const other = decode(tcpData('10.0.0.5', '198.51.100.8'));
    s.apply(other);
    assert.equal(other.payload.length, 0);
    const wrongPort = decode(tcpData('10.0.0.5', '203.0.113.1', 443));
    s.apply(wrongPort);
    assert.equal(wrongPort.payload.length, 0, 'port-limited rule, other port');
    const p22 = decode(tcpData('10.0.0.5', '203.0.113.1', 22));
    s.apply(p22);
    assert.equal(p22.payload.length, 16);
    const late = decode(tcpData(), T0 + 60e6);
    s.apply(late);
    assert.equal(late.payload.length, 0, 'rule lapsed at its deadline');
    assert.equal(s.peerRules, 2);
    s.expire(T0 + 61e6);
    assert.equal(s.peerRules, 0);
    assert.throws(() => s.addPeerRule({ address: 'nope', snapLen: 1, untilUs: 0 }), /IPv4 or IPv6/);
  });

  it('a rule may name a CIDR: every peer inside it, none outside', () => {
    const s = new SnapPolicy();
    s.addPeerRule({ address: '198.51.100.0/28', snapLen: 65535, untilUs: T0 + 60e6 });
    for (const [peer, kept] of [['198.51.100.1', 300], ['198.51.100.15', 300], ['198.51.100.16', 0], ['198.51.101.1', 0]] as const) {
      const p = decode(tcpData('10.0.0.5', peer));
      s.apply(p);
      assert.equal(p.payload.length, kept, peer);
    }
    assert.throws(() => s.addPeerRule({ address: '198.51.100.0/33', snapLen: 1, untilUs: 0 }), SnapPolicyError);
  });
});
