// The decoder's tricky cases one by one: link layers (VLAN stacks, MPLS, PPPoE,
// SLL/SLL2, loopback in both byte orders, raw IP, PPP, NFLOG, 802.11), IPv6
// extension headers and fragments, TCP options, truncation at every layer,
// tunnels, and the API edges. Real frames from the reference captures where they
// exist, frames built from the RFC layouts where they do not.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DecodedPacket, L2Flag, LinkType, decodeOuter, decodePacket, decoderInternalErrors, isLinkTypeSupported, linkTypeName } from '../../../shared/decode/index.js';
import { formatIp } from '../../../shared/net/ip-address.js';
import { FragFlag, RecordFlag, TcpOpt, TunnelKind } from '../../../shared/packet/packet-record.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';
import { loadFrames, type TestFrame } from '../capture-file/capture-writers.js';
import { MAC_A, be16, be32, bytes, concat, ethernet, ipv4, ipv6, ipv6Extension, ipv6Fragment, mac, tcp, udp, vlanTag } from './frame-builder.js';

const out = new DecodedPacket();
const TRUNC_OR_MALF = RecordFlag.Truncated | RecordFlag.Malformed;

function decode(linkType: number, frame: Uint8Array, wireLen = frame.length): DecodedPacket {
  return decodePacket(linkType, frame, wireLen, 1_700_000_000_000_000, out);
}

const realCache = new Map<string, TestFrame[]>();
/** Frame n (1-based) of a reference capture. */
function real(rel: string, n: number): TestFrame {
  let frames = realCache.get(rel);
  if (!frames) {
    frames = loadFrames(join(referencePcapsDir(), rel));
    realCache.set(rel, frames);
  }
  const f = frames[n - 1];
  assert.ok(f, `${rel} has no frame ${n}`);
  return f;
}

function decodeReal(rel: string, n: number): DecodedPacket {
  const f = real(rel, n);
  return decodePacket(f.linkType, f.data, f.wireLen, f.tsUs, out);
}

function src(): string { return formatIp(out.ipVersion, out.src); }
function dst(): string { return formatIp(out.ipVersion, out.dst); }

/** A small IPv4/TCP packet used as the payload of many link-layer cases. */
function v4tcp(): Uint8Array {
  return ipv4({ src: '10.1.2.3', dst: '192.0.2.9', proto: 6 }, tcp({ sport: 40000, dport: 443, flags: 0x18 }, bytes(5)));
}
function v6udp(): Uint8Array {
  return ipv6({ src: '2001:db8::1', dst: '2001:db8::2', next: 17 }, udp(5353, 53, bytes(12)));
}

function assertV4tcp(what: string): void {
  assert.equal(out.ipVersion, 4, what);
  assert.equal(src(), '10.1.2.3', what);
  assert.equal(dst(), '192.0.2.9', what);
  assert.equal(out.proto, 6, what);
  assert.equal(out.sport, 40000, what);
  assert.equal(out.dport, 443, what);
  assert.equal(out.payloadLen, 5, what);
  assert.equal(out.flags & TRUNC_OR_MALF, 0, `${what}: ${out.issue}`);
}

function assertV6udp(what: string): void {
  assert.equal(out.ipVersion, 6, what);
  assert.equal(src(), '2001:db8::1', what);
  assert.equal(out.proto, 17, what);
  assert.equal(out.sport, 5353, what);
  assert.equal(out.dport, 53, what);
  assert.equal(out.flags & TRUNC_OR_MALF, 0, `${what}: ${out.issue}`);
}

describe('decodePacket: tricky cases', () => {
  const errorsBefore = decoderInternalErrors();
  after(() => assert.equal(decoderInternalErrors(), errorsBefore, 'internal decoder errors'));

  describe('link layers', () => {
    it('Ethernet: MAC offsets, unicast / multicast / broadcast flags', () => {
      decode(LinkType.Ethernet, ethernet(0x0800, v4tcp()));
      assertV4tcp('unicast');
      assert.equal(out.dstMacOff, 0);
      assert.equal(out.srcMacOff, 6);
      assert.equal(out.l2Flags, 0);
      assert.equal(out.etherType, 0x0800);
      assert.equal(out.l3Off, 14);
      assert.equal(out.l4Off, 34);
      decode(LinkType.Ethernet, ethernet(0x86dd, v6udp(), '33:33:00:00:00:fb'));
      assertV6udp('multicast');
      assert.equal(out.l2Flags, L2Flag.Multicast);
      decode(LinkType.Ethernet, ethernet(0x0800, v4tcp(), 'ff:ff:ff:ff:ff:ff'));
      assert.equal(out.l2Flags, L2Flag.Multicast | L2Flag.Broadcast);
    });

    it('IEEE 802.3 with LLC/SNAP carries IPv4; other LLC (STP) is not IP', () => {
      const ip = v4tcp();
      decode(LinkType.Ethernet, concat(mac('02:00:00:00:00:0b'), mac(MAC_A), be16(8 + ip.length), [0xaa, 0xaa, 0x03, 0, 0, 0], be16(0x0800), ip));
      assertV4tcp('snap');
      decode(LinkType.Ethernet, concat(mac('01:80:c2:00:00:00'), mac(MAC_A), be16(38), [0x42, 0x42, 0x03], bytes(35, 0)));
      assert.equal(out.ipVersion, 0);
      assert.equal(out.etherType, 0);
      assert.equal(out.flags, 0);
      assert.equal(out.l2Flags, L2Flag.Multicast);
    });

    it('VLAN stacks: 802.1ad + 802.1Q + 802.1Q, innermost id wins', () => {
      const frame = ethernet(0x88a8, concat(vlanTag(100, 0x8100), vlanTag(200, 0x8100, 5), vlanTag(300, 0x0800), v4tcp()));
      decode(LinkType.Ethernet, frame);
      assertV4tcp('q-in-q-in-q');
      assert.equal(out.vlan, 300);
      assert.equal(out.vlanDepth, 3);
      assert.equal(out.l3Off, 14 + 12);
      // pre-standard 0x9100 outer tag
      decode(LinkType.Ethernet, ethernet(0x9100, concat(vlanTag(7, 0x8100), vlanTag(4095, 0x86dd), v6udp())));
      assertV6udp('0x9100');
      assert.equal(out.vlan, 4095);
      // tag cut by the capture
      const cut = frame.subarray(0, 14 + 6);
      decode(LinkType.Ethernet, cut, frame.length);
      assert.equal(out.flags, RecordFlag.Truncated);
      assert.match(out.issue, /^vlan/);
      assert.equal(out.vlan, 100);
    });

    it('real 802.1ad Q-in-Q frames (tcpdump) report two tags', () => {
      decodeReal('tcpdump/802.1ad_QinQ.pcap', 1);
      assert.equal(out.vlanDepth, 2);
      assert.ok(out.vlan > 0);
    });

    it('MPLS: label stacks with IPv4/IPv6 by first nibble, pseudowire control word + Ethernet', () => {
      const label = (l: number, bottom: boolean): number[] => be32((l << 12) | (bottom ? 0x100 : 0) | 64);
      decode(LinkType.Ethernet, ethernet(0x8847, concat(label(16, false), label(17, false), label(18, true), v4tcp())));
      assertV4tcp('3 labels');
      assert.equal(out.mplsDepth, 3);
      assert.equal(out.etherType, 0x0800);
      decode(LinkType.Ethernet, ethernet(0x8848, concat(label(99, true), v6udp())));
      assertV6udp('multicast MPLS');
      assert.equal(out.mplsDepth, 1);
      decode(LinkType.Ethernet, ethernet(0x8847, concat(label(5, true), [0, 0, 0, 0], ethernet(0x0800, v4tcp(), '02:00:00:00:00:33'))));
      assertV4tcp('pseudowire');
      assert.equal(out.dstMacOff, 0, 'outer MACs');
      // no bottom-of-stack label before the end of the frame
      decode(LinkType.Ethernet, ethernet(0x8847, concat(label(1, false), label(2, false))));
      assert.equal(out.flags, RecordFlag.Malformed);
      assert.match(out.issue, /^mpls/);
      decodeReal('flowtest/mpls-vpn-transport-vpn-labels.pcap', 1);
      assert.equal(out.mplsDepth, 2);
      assert.equal(out.proto, 1);
    });

    it('PPPoE session: IPv4 (0x0021) and IPv6 (0x0057); LCP and discovery are not IP', () => {
      const pppoe = (proto: number, payload: Uint8Array): Uint8Array => concat([0x11, 0x00], be16(0x1234), be16(2 + payload.length), be16(proto), payload);
      decode(LinkType.Ethernet, ethernet(0x8864, pppoe(0x0021, v4tcp())));
      assertV4tcp('pppoe ipv4');
      assert.equal(out.etherType, 0x0800);
      decode(LinkType.Ethernet, ethernet(0x8864, pppoe(0x0057, v6udp())));
      assertV6udp('pppoe ipv6');
      decode(LinkType.Ethernet, ethernet(0x8864, pppoe(0xc021, bytes(10))));
      assert.equal(out.ipVersion, 0);
      assert.equal(out.etherType, 0x8864);
      decode(LinkType.Ethernet, ethernet(0x8863, bytes(20)));
      assert.equal(out.ipVersion, 0);
      assert.equal(out.etherType, 0x8863);
      decode(LinkType.PppEther, pppoe(0x0021, v4tcp()));
      assertV4tcp('link type 51');
      decodeReal('zeek/pppoe.pcap', 1);
      assert.equal(out.etherType, 0x8863);
    });

    it('Linux SLL and SLL2: protocol, packet type flags and sender address', () => {
      const sll = (pktType: number, proto: number, payload: Uint8Array): Uint8Array => concat(be16(pktType), be16(1), be16(6), mac(MAC_A), [0, 0], be16(proto), payload);
      decode(LinkType.LinuxSll, sll(0, 0x0800, v4tcp()));
      assertV4tcp('sll');
      assert.equal(out.srcMacOff, 6);
      assert.equal(out.dstMacOff, -1);
      decode(LinkType.LinuxSll, sll(1, 0x0800, v4tcp()));
      assert.equal(out.l2Flags, L2Flag.Broadcast | L2Flag.Multicast);
      const sll2 = (pktType: number, proto: number, payload: Uint8Array): Uint8Array => concat(be16(proto), [0, 0], be32(3), be16(1), [pktType, 6], mac(MAC_A), [0, 0], payload);
      decode(LinkType.LinuxSll2, sll2(2, 0x86dd, v6udp()));
      assertV6udp('sll2');
      assert.equal(out.l2Flags, L2Flag.Multicast);
      assert.equal(out.srcMacOff, 12);
      decode(LinkType.LinuxSll2, sll2(4, 0x0800, v4tcp()).subarray(0, 19), 100);
      assert.equal(out.flags, RecordFlag.Truncated);
      assert.match(out.issue, /^sll2/);
      decodeReal('suricata-verify/decode-sll2-02.pcap', 1);
      assert.equal(out.ipVersion, 4);
      assert.equal(out.proto, 6);
    });

    it('BSD loopback: address family in either byte order, NULL (0) and LOOP (108)', () => {
      const f = real('zeek/tls_pop3-starttls.pcap', 1);
      assert.deepEqual([...f.data.subarray(0, 4)], [2, 0, 0, 0], 'the capture is little-endian');
      decode(LinkType.Null, f.data);
      const ref = { v: out.ipVersion, s: src(), d: dst(), sp: out.sport, dp: out.dport };
      assert.equal(ref.v, 4);
      const swapped = f.data.slice();
      swapped.set([0, 0, 0, 2], 0);
      for (const lt of [LinkType.Null, LinkType.Loop]) {
        decode(lt, swapped);
        assert.deepEqual({ v: out.ipVersion, s: src(), d: dst(), sp: out.sport, dp: out.dport }, ref);
      }
      for (const af of [10, 23, 24, 28, 30]) {
        decode(LinkType.Null, concat([af, 0, 0, 0], v6udp()));
        assertV6udp(`AF ${af} little-endian`);
        decode(LinkType.Null, concat([0, 0, 0, af], v6udp()));
        assertV6udp(`AF ${af} big-endian`);
      }
      decode(LinkType.Null, concat([7, 0, 0, 0], v4tcp()));
      assert.equal(out.ipVersion, 0);
      assert.equal(out.flags, 0);
    });

    it('raw IP link types (101, 12, 14, 228, 229)', () => {
      for (const lt of [LinkType.Raw, LinkType.RawBsd, LinkType.RawOpenBsd, LinkType.Ipv4]) {
        decode(lt, v4tcp());
        assertV4tcp(`link type ${lt}`);
        assert.equal(out.l3Off, 0);
      }
      for (const lt of [LinkType.Raw, LinkType.Ipv6]) {
        decode(lt, v6udp());
        assertV6udp(`link type ${lt}`);
      }
      // link type 101 names no version: a first nibble of neither 4 nor 6 is not an IP packet
      decode(LinkType.Raw, concat([0x50], bytes(30)));
      assert.equal(out.flags, RecordFlag.Malformed);
      assert.equal(out.ipVersion, 0);
      // link types 228/229 do, but the header's own version wins (as in Zeek)
      decode(LinkType.Ipv6, v4tcp());
      assertV4tcp('IPv4 under link type 229');
      decode(LinkType.Ipv4, v6udp());
      assertV6udp('IPv6 under link type 228');
      // neither 4 nor 6 under link type 229: a malformed IPv6 packet
      decode(LinkType.Ipv6, concat([0x50], bytes(50)));
      assert.equal(out.flags, RecordFlag.Malformed | RecordFlag.BadIpHeader);
      assert.equal(out.ipVersion, 6);
      assert.match(out.issue, /version is not 6/);
    });

    it('PPP framings: plain, FF 03, compressed protocol, HDLC, Cisco HDLC, with direction', () => {
      decode(LinkType.Ppp, concat(be16(0x0021), v4tcp()));
      assertV4tcp('ppp');
      decode(LinkType.Ppp, concat([0xff, 0x03], be16(0x0057), v6udp()));
      assertV6udp('ppp ff03');
      decode(LinkType.Ppp, concat([0x21], v4tcp()));
      assertV4tcp('ppp compressed protocol');
      decode(LinkType.PppHdlc, concat([0xff, 0x03, 0x00, 0x21], v4tcp()));
      assertV4tcp('ppp hdlc');
      decode(LinkType.PppHdlc, concat([0x0f, 0x00], be16(0x0800), v4tcp()));
      assertV4tcp('cisco hdlc on link type 50');
      decode(LinkType.CiscoHdlc, concat([0x8f, 0x00], be16(0x86dd), v6udp()));
      assertV6udp('cisco hdlc');
      decode(LinkType.PppWithDirection, concat([1, 0xff, 0x03, 0x00, 0x21], v4tcp()));
      assertV4tcp('ppp with direction');
      decodeReal('zeek/ppp_quic-interop-retry.pcap', 1);
      assert.equal(out.ipVersion, 6);
    });

    it('NFLOG: the payload TLV in either byte order', () => {
      decodeReal('tcpdump/nflog.pcap', 1);
      assert.equal(src(), '74.82.42.42');
      assert.equal(out.sport, 53);
      const ip = v4tcp();
      const tlv = (len: number, type: number, le: boolean): number[] => (le ? [len & 0xff, len >> 8, type & 0xff, type >> 8] : [...be16(len), ...be16(type)]);
      for (const le of [true, false]) {
        const padded = concat(ip, bytes((4 - (ip.length % 4)) % 4, 0));
        decode(LinkType.Nflog, concat([2, 0, 0, 1], tlv(8, 1, le), [8, 0, 0, 0], tlv(4 + ip.length, 9, le), padded));
        assertV4tcp(`nflog ${le ? 'LE' : 'BE'}`);
      }
    });

    it('IEEE 802.11 (radiotap and bare): data frames by DS bits; protected frames stop', () => {
      decodeReal('zeek/radiotap.pcap', 3);
      assert.equal(out.ipVersion, 6);
      assert.equal(out.dport, 5353);
      const llc = [0xaa, 0xaa, 0x03, 0, 0, 0, ...be16(0x0800)];
      const a1 = mac('02:00:00:00:00:01'), a2 = mac('02:00:00:00:00:02'), a3 = mac('33:33:00:00:00:03');
      // QoS data, ToDS: addr1 = BSSID, addr2 = SA, addr3 = DA
      const frame = concat([0x88, 0x01], [0, 0], a1, a2, a3, [0, 0], [0, 0], llc, v4tcp());
      decode(LinkType.Ieee80211, frame);
      assertV4tcp('802.11 qos data');
      assert.equal(out.dstMacOff, 16);
      assert.equal(out.srcMacOff, 10);
      assert.equal(out.l2Flags, L2Flag.Multicast);
      const prot = frame.slice();
      prot[1] = 0x41;
      decode(LinkType.Ieee80211, prot);
      assert.equal(out.ipVersion, 0);
      assert.equal(out.flags, 0);
    });
  });

  describe('IP and transport', () => {
    it('IPv4 options are skipped by IHL', () => {
      decode(LinkType.Raw, ipv4({ src: '10.1.2.3', dst: '192.0.2.9', proto: 6, options: [0x94, 0x04, 0, 0, 1, 1, 1, 0] }, tcp({ sport: 40000, dport: 443 }, bytes(5))));
      assertV4tcp('options');
      assert.equal(out.l4Off, 28);
    });

    it('IPv4 fragments: the first has ports, later ones carry only payload', () => {
      const first = ipv4({ src: '10.1.2.3', dst: '192.0.2.9', proto: 17, mf: true, id: 777 }, udp(1000, 2000, bytes(100), 3000));
      decode(LinkType.Raw, first);
      assert.equal(out.flags, RecordFlag.Fragment);
      assert.equal(out.fragFlags, FragFlag.MoreFragments);
      assert.equal(out.ipId, 777);
      assert.equal(out.sport, 1000);
      assert.equal(out.payloadLen, 100);
      const later = ipv4({ src: '10.1.2.3', dst: '192.0.2.9', proto: 17, fragOffset: 1480, id: 777 }, bytes(300));
      decode(LinkType.Raw, later);
      assert.equal(out.flags, RecordFlag.Fragment);
      assert.equal(out.fragOffset, 1480);
      assert.equal(out.proto, 17);
      assert.equal(out.sport + out.dport, 0);
      assert.equal(out.l4Off, -1);
      assert.equal(out.payloadOff, 20);
      assert.equal(out.payloadLen, 300);
      assert.equal(out.payload.length, 300);
      decode(LinkType.Raw, ipv4({ src: '10.1.2.3', dst: '192.0.2.9', proto: 6, df: true }, tcp({ sport: 40000, dport: 443 }, bytes(5))));
      assert.equal(out.flags, 0, 'DF alone is not a fragment');
      assert.equal(out.fragFlags, FragFlag.DontFragment);
      decodeReal('flowtest/ipv4-udp-fragmented.pcap', 5);
      assert.equal(out.flags & RecordFlag.Fragment, RecordFlag.Fragment);
      assert.equal(out.sport, 0);
    });

    it('IPv6 extension chain: hop-by-hop, destination options, routing, fragment, AH; no next header', () => {
      const chain = concat(ipv6Extension(60, [1, 4, 0, 0, 0, 0]), ipv6Extension(43, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), ipv6Extension(44), ipv6Fragment(6, 0, true, 0xdeadbeef), tcp({ sport: 1234, dport: 80 }, bytes(8)));
      decode(LinkType.Raw, ipv6({ src: '2001:db8::1', dst: '2001:db8::2', next: 0 }, chain));
      assert.equal(out.proto, 6);
      assert.equal(out.sport, 1234);
      assert.equal(out.dport, 80);
      assert.equal(out.flags, RecordFlag.Fragment);
      assert.equal(out.fragFlags, FragFlag.MoreFragments);
      assert.equal(out.ipId, 0xdeadbeef);
      assert.equal(out.payloadLen, 8);
      assert.equal(out.ipLen, 40 + chain.length);
      decode(LinkType.Raw, ipv6({ src: '2001:db8::1', dst: '2001:db8::2', next: 44 }, concat(ipv6Fragment(6, 1448, false, 5), bytes(40))));
      assert.equal(out.proto, 6);
      assert.equal(out.sport + out.dport, 0);
      assert.equal(out.fragOffset, 1448);
      assert.equal(out.fragFlags, 0);
      assert.equal(out.flags, RecordFlag.Fragment);
      assert.equal(out.payloadLen, 40);
      const ah = [17, 4, 0, 0, ...be32(0x100), ...be32(1), ...bytes(12)]; // (4+2)*4 = 24 bytes
      decode(LinkType.Raw, ipv6({ src: '2001:db8::1', dst: '2001:db8::2', next: 51 }, concat(ah, udp(5353, 53, bytes(12)))));
      assertV6udp('AH');
      decode(LinkType.Raw, ipv6({ src: '2001:db8::1', dst: '2001:db8::2', next: 59 }, new Uint8Array(0)));
      assert.equal(out.proto, 59);
      assert.equal(out.flags, 0);
      // extension header cut by the capture
      const full = ipv6({ src: '2001:db8::1', dst: '2001:db8::2', next: 0 }, chain);
      decode(LinkType.Raw, full.subarray(0, 44), full.length);
      assert.equal(out.flags, RecordFlag.Truncated);
      assert.match(out.issue, /^ipv6: extension header/);
      decodeReal('flowtest/ipv6-hop-by-hop.pcap', 1);
      assert.equal(out.proto, 58);
    });

    it('TCP options: MSS, window scale, SACK-permitted, SACK, timestamps', () => {
      const opts = [2, 4, ...be16(1460), 1, 3, 3, 7, 4, 2, 8, 10, ...be32(111), ...be32(222), 1, 1, 5, 10, ...be32(5000), ...be32(6000)];
      decode(LinkType.Raw, ipv4({ src: '10.1.2.3', dst: '192.0.2.9', proto: 6 }, tcp({ sport: 1, dport: 2, seq: 0xfffffff0, ack: 0x80000000, flags: 0x12, window: 29200, options: opts })));
      assert.equal(out.tcpOptFlags, TcpOpt.Mss | TcpOpt.WindowScale | TcpOpt.SackPermitted | TcpOpt.Sack | TcpOpt.Timestamps);
      assert.equal(out.tcpMss, 1460);
      assert.equal(out.tcpWscale, 7);
      assert.equal(out.tcpTsVal, 111);
      assert.equal(out.tcpTsEcr, 222);
      assert.equal(out.tcpSeq, 0xfffffff0);
      assert.equal(out.tcpAck, 0x80000000);
      assert.equal(out.tcpFlags, 0x12);
      assert.equal(out.tcpWindow, 29200);
      assert.equal(out.flags, 0);
      decodeReal('zeek/http_get.pcap', 1); // a real SYN: MSS, NOP, WS, NOP, NOP, TS, SACK-permitted, EOL
      assert.equal(out.tcpOptFlags, TcpOpt.Mss | TcpOpt.WindowScale | TcpOpt.SackPermitted | TcpOpt.Timestamps);
      assert.equal(out.tcpMss, 1460);
    });

    it('TCP option errors: bad lengths are Malformed, a capture cut inside options is Truncated', () => {
      const pkt = (options: number[]): Uint8Array => ipv4({ src: '10.1.2.3', dst: '192.0.2.9', proto: 6 }, tcp({ sport: 1, dport: 2, options }));
      decode(LinkType.Raw, pkt([2, 4, 5, 0xb4, 3, 1, 0, 0]));
      assert.equal(out.flags, RecordFlag.Malformed);
      assert.match(out.issue, /option length < 2/);
      assert.equal(out.tcpMss, 1460, 'options before the bad one are kept');
      decode(LinkType.Raw, pkt([1, 1, 8, 10, 0, 0, 0, 1]));
      assert.equal(out.flags, RecordFlag.Malformed);
      assert.match(out.issue, /runs past the header/);
      const full = pkt([2, 4, 5, 0xb4, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
      decode(LinkType.Raw, full.subarray(0, 20 + 20 + 6), full.length);
      assert.equal(out.flags, RecordFlag.Truncated);
      assert.match(out.issue, /options cut short/);
      assert.equal(out.tcpOptFlags, TcpOpt.Mss);
      decode(LinkType.Raw, ipv4({ src: '10.1.2.3', dst: '192.0.2.9', proto: 6 }, tcp({ sport: 1, dport: 2, dataOffset: 3 })));
      assert.equal(out.flags, RecordFlag.Malformed);
      assert.match(out.issue, /data offset/);
    });

    it('UDP, SCTP, ICMP, ICMPv6 ports and payload lengths', () => {
      decode(LinkType.Raw, ipv4({ src: '10.1.2.3', dst: '192.0.2.9', proto: 17 }, udp(53, 5353, bytes(33))));
      assert.equal(out.payloadLen, 33);
      assert.equal(out.payloadOff, 28);
      decode(LinkType.Raw, ipv4({ src: '10.1.2.3', dst: '192.0.2.9', proto: 17 }, udp(53, 5353, bytes(33), 4)));
      assert.equal(out.flags, RecordFlag.Malformed);
      assert.match(out.issue, /udp: length < 8/);
      decode(LinkType.Raw, ipv4({ src: '10.1.2.3', dst: '192.0.2.9', proto: 132 }, concat(be16(2905), be16(36412), bytes(8, 0), bytes(16))));
      assert.equal(out.sport, 2905);
      assert.equal(out.dport, 36412);
      assert.equal(out.payloadLen, 16);
      decode(LinkType.Raw, ipv4({ src: '10.1.2.3', dst: '192.0.2.9', proto: 1 }, concat([3, 13, 0, 0], bytes(4, 0), bytes(28))));
      assert.equal(out.sport, 3);
      assert.equal(out.dport, 13);
      assert.equal(out.payloadLen, 28);
      decode(LinkType.Raw, ipv6({ src: '2001:db8::1', dst: 'ff02::1', next: 58 }, concat([134, 0, 0, 0], bytes(12))));
      assert.equal(out.proto, 58);
      assert.equal(out.sport, 134);
      assert.equal(out.dport, 0);
    });

    it('ARP: opcode and IPv4 sender/target in src/dst, not IP', () => {
      const arp = concat(be16(1), be16(0x0800), [6, 4], be16(1), mac(MAC_A), [10, 0, 0, 1], bytes(6, 0), [10, 0, 0, 2]);
      decode(LinkType.Ethernet, ethernet(0x0806, arp, 'ff:ff:ff:ff:ff:ff'));
      assert.equal(out.ipVersion, 0);
      assert.equal(out.etherType, 0x0806);
      assert.equal(out.arpOp, 1);
      assert.deepEqual([...out.src.subarray(0, 4), ...out.dst.subarray(0, 4)], [10, 0, 0, 1, 10, 0, 0, 2]);
      assert.equal(out.l2Flags, L2Flag.Broadcast | L2Flag.Multicast);
    });

    it('TSO / BIG TCP: an IPv4 total length of 0 takes the frame length', () => {
      decodeReal('tcpdump/bigtcp-ipv4.pcap', 1);
      assert.equal(out.flags, 0);
      assert.equal(out.ipLen, 80052);
      assert.equal(out.payloadLen, 80000);
      assert.equal(out.payload.length, 80000);
    });

    it('a total length beyond the frame is Malformed, unless the capture was snapped (capLen < wireLen)', () => {
      const f = real('tcpdump/ipv4_invalid_total_length.pcap', 1);
      decode(f.linkType, f.data, f.wireLen);
      assert.equal(out.flags, RecordFlag.Malformed);
      assert.match(out.issue, /total length exceeds/);
      decode(f.linkType, f.data, f.data.length + 200);
      assert.equal(out.flags, 0, 'a snapped packet with whole headers is not flagged');
      assert.equal(out.ipLen, 85);
      decode(LinkType.Raw, ipv4({ src: '10.1.2.3', dst: '192.0.2.9', proto: 6, totalLength: 12 }, tcp({ sport: 1, dport: 2 })));
      assert.equal(out.flags, RecordFlag.Malformed | RecordFlag.BadIpHeader);
      assert.match(out.issue, /total length < header length/);
    });

    it('a malformed IP header still makes a record: BadIpHeader with the announced version and the whole addresses', () => {
      const v4 = ipv4({ src: '10.1.2.3', dst: '192.0.2.9', proto: 6, ttl: 7, id: 0x4242 }, tcp({ sport: 1, dport: 2 }));
      const bad = (mutate: (ip: Uint8Array) => Uint8Array, wire?: number): DecodedPacket => {
        const ip = mutate(v4.slice());
        const frame = ethernet(0x0800, ip);
        return decode(LinkType.Ethernet, frame, wire ?? frame.length);
      };
      const checkV4 = (what: string, flags: number, srcWant: string, dstWant: string): void => {
        assert.equal(out.ipVersion, 4, what);
        assert.equal(out.flags, flags, `${what}: ${out.issue}`);
        assert.equal(src(), srcWant, what);
        assert.equal(dst(), dstWant, what);
        assert.equal(out.sport, 0, `${what}: no transport decoded`);
        assert.equal(out.l4Off, -1, what);
      };
      const BAD = RecordFlag.Malformed | RecordFlag.BadIpHeader;
      bad((ip) => { ip[0] = 0x45 & 0xf0 | 3; return ip; });
      checkV4('IHL 3', BAD, '10.1.2.3', '192.0.2.9');
      assert.match(out.issue, /header length < 20/);
      assert.equal(out.ttl, 7);
      assert.equal(out.ipId, 0x4242);
      assert.equal(out.proto, 6);
      bad((ip) => { ip[0] = 0x75; return ip; });
      checkV4('version 7 under EtherType IPv4', BAD, '0.0.0.0', '0.0.0.0');
      assert.match(out.issue, /version is not 4/);
      bad((ip) => ip.subarray(0, 18));
      checkV4('18 of 20 header bytes, not snapped', BAD, '10.1.2.3', '0.0.0.0');
      assert.match(out.issue, /header cut short/);
      bad((ip) => ip.subarray(0, 18), 200);
      checkV4('18 of 20 header bytes, snapped', RecordFlag.Truncated | RecordFlag.BadIpHeader, '10.1.2.3', '0.0.0.0');
      bad((ip) => ip.subarray(0, 0));
      checkV4('EtherType IPv4 and nothing after it', BAD, '0.0.0.0', '0.0.0.0');
      // IPv6: a cut fixed header keeps the source when it is whole
      const v6 = ethernet(0x86dd, v6udp());
      decode(LinkType.Ethernet, v6.subarray(0, 14 + 39));
      assert.equal(out.ipVersion, 6);
      assert.equal(out.flags, BAD);
      assert.equal(src(), '2001:db8::1');
      assert.equal(dst(), '::');
      assert.equal(out.proto, 17);
      decode(LinkType.Ethernet, ethernet(0x86dd, concat([0x75], bytes(50))));
      assert.equal(out.ipVersion, 6);
      assert.equal(out.flags, BAD);
      assert.match(out.issue, /version is not 6/);
      // inside a tunnel the sound outer packet stays the record
      const vx = ethernet(0x0800, ipv4({ src: '198.51.100.1', dst: '198.51.100.2', proto: 17 },
        udp(40000, 4789, concat([0x08, 0, 0, 0, 0, 0, 1, 0], ethernet(0x0800, concat([0x46], bytes(10)))))));
      decode(LinkType.Ethernet, vx);
      assert.equal(out.ipVersion, 4);
      assert.equal(src(), '198.51.100.1');
      assert.equal(out.dport, 4789);
      assert.equal(out.flags, 0);
    });

    it('the payload is a view of the frame, limited to the captured bytes', () => {
      const f = real('zeek/http_get.pcap', 4);
      decode(f.linkType, f.data, f.wireLen);
      assert.equal(out.payloadLen, 136);
      assert.equal(out.payload.buffer, f.data.buffer);
      assert.equal(Buffer.from(out.payload.subarray(0, 4)).toString(), 'GET ');
      decode(f.linkType, f.data.subarray(0, 100), f.wireLen);
      assert.equal(out.payloadLen, 136);
      assert.equal(out.payload.length, 100 - out.payloadOff);
      assert.equal(out.flags, 0);
    });

    for (const [rel, n, layers] of [
      ['zeek/http_get.pcap', 1, [[14, /^ethernet/], [34, /^ipv4/], [78, /^tcp/]]],
      ['zeek/ftp_ipv6.pcap', 1, [[14, /^ethernet/], [54, /^ipv6/], [98, /^tcp/]]],
      ['zeek/pcapng-multi-interface.pcapng', 1, [[14, /^ethernet/], [34, /^ipv4/], [42, /^udp/]]],
    ] as const) {
      it(`truncation at every length of a real frame (${rel}): Truncated naming the layer, or Malformed when not snapped`, () => {
        const f = real(rel, n);
        for (let cut = 0; cut < f.data.length; cut++) {
          const data = f.data.subarray(0, cut);
          decode(f.linkType, data, f.wireLen);
          const layer = layers.find(([end]) => cut < end);
          if (layer) {
            assert.equal(out.flags & TRUNC_OR_MALF, RecordFlag.Truncated, `cut ${cut}: ${out.issue}`);
            assert.match(out.issue, layer[1], `cut ${cut}`);
          } else {
            assert.equal(out.flags, 0, `cut ${cut} in the payload: ${out.issue}`);
          }
          decode(f.linkType, data, cut);
          assert.equal(out.flags & RecordFlag.Truncated, 0, `cut ${cut}, not snapped`);
          if (cut > 0) assert.equal(out.flags & RecordFlag.Malformed, RecordFlag.Malformed, `cut ${cut}, not snapped`);
        }
      });
    }
  });

  describe('tunnels', () => {
    it('VXLAN: inner packet with Inner flag; decodeOuter and innerTunnels:false keep the outer UDP', () => {
      decodeReal('zeek/tunnels_vxlan.pcap', 3);
      assert.equal(out.flags & RecordFlag.Inner, RecordFlag.Inner);
      assert.equal(out.tunnel, TunnelKind.Vxlan);
      assert.equal(out.proto, 1);
      assert.equal(out.dstMacOff, 0, 'MAC facts stay those of the outer frame');
      const inner = { s: src(), d: dst() };
      const f = real('zeek/tunnels_vxlan.pcap', 3);
      decodeOuter(f.linkType, f.data, f.wireLen, f.tsUs, out);
      assert.equal(out.proto, 17);
      assert.equal(out.dport, 4789);
      assert.equal(out.flags & RecordFlag.Inner, 0);
      assert.notEqual(src(), inner.s);
      decodePacket(f.linkType, f.data, f.wireLen, f.tsUs, out, { innerTunnels: false });
      assert.equal(out.dport, 4789);
      decodePacket(f.linkType, f.data, f.wireLen, f.tsUs, out, {});
      assert.equal(out.tunnel, TunnelKind.Vxlan, 'default is to decapsulate');
    });

    it('a tunnel carrying no IP packet (VXLAN with ARP inside) keeps the outer packet', () => {
      decodeReal('zeek/tunnels_vxlan.pcap', 1);
      assert.equal(out.flags, 0);
      assert.equal(out.tunnel, TunnelKind.None);
      assert.equal(out.proto, 17);
      assert.equal(out.dport, 4789);
      assert.equal(out.etherType, 0x0800, 'outer facts restored');
    });

    it('Geneve, GRE, GTP-U and 6in4 from real captures', () => {
      decodeReal('tcpdump/geneve.pcap', 1);
      assert.equal(out.tunnel, TunnelKind.Geneve);
      decodeReal('zeek/tunnels_gre-sample.pcap', 1);
      assert.equal(out.tunnel, TunnelKind.Gre);
      assert.equal(out.proto, 1);
      decodeReal('arkime/gtp-iphone.pcap', 1);
      assert.equal(out.tunnel, TunnelKind.Gtp);
      assert.equal(out.dport, 53);
      decodeReal('ndpi/6in4tunnel.pcap', 1);
      assert.equal(out.tunnel, TunnelKind.SixInFour);
      assert.equal(out.ipVersion, 6);
    });

    const outer = (proto: number, payload: Uint8Array): Uint8Array => ethernet(0x0800, ipv4({ src: '198.51.100.1', dst: '198.51.100.2', proto }, payload));

    it('GRE variants: key + sequence, ERSPAN II and III, PPTP (version 1) with PPP', () => {
      decode(LinkType.Ethernet, outer(47, concat(be16(0x3000), be16(0x0800), be32(42), be32(7), v4tcp())));
      assertV4tcp('gre key+seq');
      assert.equal(out.tunnel, TunnelKind.Gre);
      const mirrored = ethernet(0x0800, v4tcp(), '02:00:00:00:00:99');
      decode(LinkType.Ethernet, outer(47, concat(be16(0x1000), be16(0x88be), be32(1), bytes(8, 0), mirrored)));
      assertV4tcp('erspan II');
      assert.equal(out.dstMacOff, 0);
      decode(LinkType.Ethernet, outer(47, concat(be16(0x0000), be16(0x22eb), bytes(12, 0), mirrored)));
      assertV4tcp('erspan III');
      decode(LinkType.Ethernet, outer(47, concat(be16(0x3001), be16(0x880b), be16(40), be16(9), be32(3), [0xff, 0x03, 0x00, 0x21], v4tcp())));
      assertV4tcp('pptp');
    });

    it('IP-in-IP, Teredo (with origin indication) and GTP-U with an extension header', () => {
      decode(LinkType.Ethernet, outer(4, v4tcp()));
      assertV4tcp('ipip');
      assert.equal(out.tunnel, TunnelKind.IpInIp);
      const teredo = concat([0, 0], be16(0x1234), bytes(4, 0), v6udp());
      decode(LinkType.Ethernet, outer(17, udp(3544, 50000, teredo)));
      assertV6udp('teredo');
      assert.equal(out.tunnel, TunnelKind.Teredo);
      const ip = v4tcp();
      const gtp = concat([0x34, 0xff], be16(4 + 4 + ip.length), be32(0x1000), be16(0), [0, 0x85], [1, 0x10, 0x05, 0x00], ip);
      decode(LinkType.Ethernet, outer(17, udp(2152, 2152, gtp)));
      assertV4tcp('gtp with extension');
      assert.equal(out.tunnel, TunnelKind.Gtp);
      // GTP echo request: not user data, stays outer
      decode(LinkType.Ethernet, outer(17, udp(2152, 2152, concat([0x32, 0x01], be16(4), be32(0), be16(1), [0, 0]))));
      assert.equal(out.tunnel, TunnelKind.None);
      assert.equal(out.dport, 2152);
    });

    it('nested tunnels report the innermost kind; a broken inside keeps the outer packet', () => {
      const gre = concat(be16(0), be16(0x0800), v4tcp());
      const vxlanInner = ethernet(0x0800, ipv4({ src: '172.16.0.1', dst: '172.16.0.2', proto: 47 }, gre));
      decode(LinkType.Ethernet, outer(17, udp(12345, 4789, concat([0x08, 0, 0, 0], [0, 0, 1, 0], vxlanInner))));
      assertV4tcp('gre in vxlan');
      assert.equal(out.tunnel, TunnelKind.Gre);
      decode(LinkType.Ethernet, outer(47, concat(be16(0), be16(0x0800), [0x45, 0, 0], bytes(5))));
      assert.equal(out.flags & RecordFlag.Inner, 0);
      assert.equal(out.proto, 47);
      assert.equal(src(), '198.51.100.1');
      assert.equal(out.flags & TRUNC_OR_MALF, 0, 'the failed inside leaves no flags');
      // IP-in-IP nested deeper than the decoder goes: stops at its depth limit without error
      let p = v4tcp();
      for (let i = 0; i < 8; i++) p = ipv4({ src: `10.9.9.${i}`, dst: '10.8.8.8', proto: 4 }, p);
      decode(LinkType.Raw, p);
      assert.equal(out.tunnel, TunnelKind.IpInIp);
      assert.equal(out.proto, 4);
    });
  });

  describe('encapsulations added for imported captures (edges tshark cannot check)', () => {
    const outerV4 = (proto: number, payload: Uint8Array): Uint8Array => ethernet(0x0800, ipv4({ src: '198.51.100.1', dst: '198.51.100.2', proto }, payload));
    const label = (l: number, bottom: boolean): number[] => be32(((l << 12) | (bottom ? 0x100 : 0) | 64) >>> 0);

    it('link types tshark does not read (205, 206, 219) decode like the link types they extend', () => {
      const chdlc = concat([0x0f, 0x00], be16(0x0800), v4tcp());
      decode(LinkType.CiscoHdlcWithDirection, concat([1], chdlc));
      assertV4tcp('C_HDLC_WITH_DIR');
      const fr = concat([0x18, 0x41, 0x03, 0xcc], v4tcp());
      decode(LinkType.FrameRelayWithDirection, concat([0], fr));
      assertV4tcp('FRELAY_WITH_DIR');
      decode(LinkType.Mpls, concat(label(16, false), label(17, true), v6udp()));
      assertV6udp('MPLS link type');
      assert.equal(out.mplsDepth, 2);
    });

    it('Frame Relay: 3- and 4-byte Q.922 addresses; an address without its last byte is flagged', () => {
      decode(LinkType.FrameRelay, concat([0x18, 0x40, 0x01, 0x03, 0xcc], v4tcp()));
      assertV4tcp('3-byte address');
      decode(LinkType.FrameRelay, concat([0x18, 0x40, 0x00, 0x01, 0x03, 0x8e], v6udp()));
      assertV6udp('4-byte address');
      decode(LinkType.FrameRelay, concat([0x18, 0x40, 0x00, 0x00, 0x00, 0x01], v4tcp()));
      assert.equal(out.flags, RecordFlag.Malformed);
      assert.match(out.issue, /longer than 4/);
      decode(LinkType.FrameRelay, Uint8Array.of(0x18, 0x40), 100);
      assert.equal(out.flags, RecordFlag.Truncated);
      decode(LinkType.FrameRelay, concat([0x19, 0x03, 0xcc], v4tcp()));
      assert.equal(out.flags, RecordFlag.Malformed, 'a 1-byte address');
      // NLPIDs that carry no IP (Q.933 signalling) end the decode quietly
      decode(LinkType.FrameRelay, concat([0x00, 0x01, 0x03, 0x08], bytes(10)));
      assert.equal(out.ipVersion, 0);
      assert.equal(out.flags, 0);
    });

    it('FabricPath and PBB take the host frame\'s MAC addresses; inside a tunnel the outer frame\'s stay', () => {
      decode(LinkType.Ethernet, ethernet(0x8903, concat([0, 0x3f], ethernet(0x0800, v4tcp(), 'ff:ff:ff:ff:ff:ff', '02:00:00:00:00:77')), '02:0a:00:00:00:01'));
      assertV4tcp('fabricpath');
      assert.equal(out.dstMacOff, 16);
      assert.equal(out.srcMacOff, 22);
      assert.equal(out.l2Flags, L2Flag.Multicast | L2Flag.Broadcast, 'the host frame is a broadcast; the outer switch address is not');
      decode(LinkType.Ethernet, ethernet(0x88e7, concat(be32(0x00abcdef), ethernet(0x86dd, v6udp(), '02:00:00:00:00:c1'))));
      assertV6udp('pbb');
      assert.equal(out.dstMacOff, 18);
      const pbbInVxlan = ethernet(0x88e7, concat(be32(1), ethernet(0x0800, v4tcp())));
      decode(LinkType.Ethernet, outerV4(17, udp(40000, 4789, concat([0x08, 0, 0, 0, 0, 0, 1, 0], pbbInVxlan))));
      assertV4tcp('pbb in vxlan');
      assert.equal(out.dstMacOff, 0, 'MACs of the captured frame');
      // PBB inside PBB inside ...: bounded
      let frame = ethernet(0x0800, v4tcp());
      for (let i = 0; i < 60; i++) frame = ethernet(0x88e7, concat(be32(i), frame));
      decode(LinkType.Ethernet, frame);
      assert.equal(out.flags, RecordFlag.Malformed);
      assert.match(out.issue, /too many nested headers/);
    });

    it('MPLS: a first nibble of 4 that is not an IPv4 packet is an Ethernet pseudowire; a damaged IPv4 packet is still IPv4', () => {
      // destination MAC 45:00:... (a first nibble of 4), no control word
      decode(LinkType.Ethernet, ethernet(0x8847, concat(label(40, true), ethernet(0x0800, v4tcp(), '45:00:11:22:33:44', '02:00:00:00:00:55'))));
      assertV4tcp('pseudowire starting with 4');
      const ip = v4tcp();
      ip[3] = 0xff; // total length beyond the frame, nothing Ethernet-like behind it
      decode(LinkType.Ethernet, ethernet(0x8847, concat(label(41, true), ip)));
      assert.equal(out.ipVersion, 4);
      assert.equal(out.flags, RecordFlag.Malformed);
      assert.match(out.issue, /total length exceeds/);
      // a snapped capture: the total length beyond the captured bytes is fine
      const snapped = ethernet(0x8847, concat(label(42, true), ipv4({ src: '10.1.2.3', dst: '192.0.2.9', proto: 6 }, tcp({ sport: 40000, dport: 443 }, bytes(500)))));
      decode(LinkType.Ethernet, snapped.subarray(0, 80), snapped.length);
      assert.equal(out.ipVersion, 4);
      assert.equal(out.sport, 40000);
      assert.equal(out.flags, 0);
    });

    it('NSH, VXLAN-GPE, AYIYA, MACsec: what they carry, and when they carry nothing decodable', () => {
      decode(LinkType.Ethernet, ethernet(0x894f, concat([0x0f, 0xc1, 0x02, 0x01], be32(0x100ff), v4tcp())));
      assert.equal(out.flags, RecordFlag.Malformed, 'NSH length 1 word < base header');
      decode(LinkType.Ethernet, ethernet(0x894f, concat([0x4f, 0xc2, 0x02, 0x01], be32(0x100ff), v4tcp())));
      assert.equal(out.ipVersion, 0, 'NSH version 1 is not defined');
      decode(LinkType.Ethernet, outerV4(17, udp(40000, 4790, concat([0x0c, 0, 0, 0x7f], [0, 0, 1, 0], v4tcp()))));
      assert.equal(out.tunnel, TunnelKind.None, 'VXLAN-GPE with an unknown next protocol stays outer');
      assert.equal(out.dport, 4790);
      decode(LinkType.Ethernet, outerV4(17, udp(5072, 5072, concat([0x41, 0x52, 0x22, 41], be32(0), bytes(16, 1), bytes(20, 2), v6udp()))));
      assert.equal(out.tunnel, TunnelKind.None, 'AYIYA opcode 2 (echo) carries no packet');
      decode(LinkType.Ethernet, ethernet(0x88e5, concat([0x2c, 0], be32(1), bytes(8, 1), bytes(40, 0x99))));
      assert.equal(out.ipVersion, 0, 'encrypted MACsec');
      assert.equal(out.etherType, 0x88e5);
      decode(LinkType.Ethernet, ethernet(0x88e5, concat([0x00, 0], be32(1), be16(0x0800), v4tcp(), bytes(16, 0x77))));
      assertV4tcp('MACsec without SCI, integrity only');
    });

    it('GRE: WCCP with and without the redirect header, ERSPAN III carrying IP, GRE in UDP keeps the UDP payload on the outer record', () => {
      decode(LinkType.Ethernet, outerV4(47, concat(be16(0), be16(0x883e), be32(0x00000001), v4tcp())));
      assertV4tcp('WCCPv2');
      decode(LinkType.Ethernet, outerV4(47, concat(be16(0), be16(0x883e), v4tcp())));
      assertV4tcp('WCCPv1');
      const ft2 = [...be32(0x20000005), ...be32(0), ...be32(2 << 10)];
      decode(LinkType.Ethernet, outerV4(47, concat(be16(0x1000), be16(0x22eb), be32(1), ft2, v6udp())));
      assertV6udp('ERSPAN III frame type IP');
      const inUdp = outerV4(17, udp(50000, 4754, concat(be16(0), be16(0x0800), v4tcp())));
      decodeOuter(LinkType.Ethernet, inUdp, inUdp.length, 0, out);
      assert.equal(out.dport, 4754);
      assert.equal(out.payloadOff, 14 + 20 + 8, 'the UDP payload starts after the UDP header');
    });

    it('capture headers: PPI of a non-802.11 link, PKTAP records other than packets, bad lengths', () => {
      decode(LinkType.Ppi, concat([0, 0, 8, 0, 1, 0, 0, 0], ethernet(0x0800, v4tcp())));
      assertV4tcp('PPI carrying Ethernet');
      decode(LinkType.Ppi, concat([0, 0, 4, 0, 1, 0, 0, 0], ethernet(0x0800, v4tcp())));
      assert.equal(out.flags, RecordFlag.Malformed);
      const pktapHeader = (type: number): Uint8Array => { const h = new Uint8Array(108); h.set([108, 0, 0, 0, type, 0, 0, 0, 1, 0, 0, 0]); return h; };
      decode(LinkType.Pktap, concat(pktapHeader(1), ethernet(0x0800, v4tcp())));
      assertV4tcp('PKTAP packet');
      decode(LinkType.Pktap, concat(pktapHeader(2), ethernet(0x0800, v4tcp())));
      assert.equal(out.ipVersion, 0, 'PKTAP record that is not a packet');
      decode(LinkType.Pflog, concat([10, 2], bytes(62), v4tcp()));
      assert.equal(out.flags, RecordFlag.Malformed, 'pflog header length below the smallest header');
      decode(LinkType.Ieee80211Prism, concat([0x44, 0, 0, 0, 4, 0, 0, 0], bytes(20)));
      assert.equal(out.flags, RecordFlag.Malformed, 'prism header length 4');
    });

    it('a UDP length of 0 is the length of a datagram over 64 KiB (BIG TCP / GSO); in a small datagram it is Malformed', () => {
      const inner = ethernet(0x0800, v4tcp());
      const vx = concat(be16(40000), be16(4789), be16(0), be16(0), [0x08, 0, 0, 0, 0, 0, 1, 0], inner, bytes(70000));
      const big = ethernet(0x0800, ipv4({ src: '198.51.100.1', dst: '198.51.100.2', proto: 17, totalLength: 0 }, vx));
      decode(LinkType.Ethernet, big);
      assertV4tcp('VXLAN in a BIG TCP datagram');
      decode(LinkType.Ethernet, outerV4(17, concat(be16(40000), be16(53), be16(0), be16(0), bytes(20))));
      assert.equal(out.flags, RecordFlag.Malformed);
      assert.match(out.issue, /udp: length < 8/);
    });

    it('an IPv6 mobility header ends the extension chain: it is the packet\'s protocol', () => {
      decode(LinkType.Raw, ipv6({ src: '2001:db8::1', dst: '2001:db8::2', next: 135 }, Uint8Array.from([59, 1, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])));
      assert.equal(out.proto, 135);
      assert.equal(out.flags, 0);
    });
  });

  describe('API edges', () => {
    it('resets the record between packets and returns it', () => {
      assert.equal(decode(LinkType.Raw, v4tcp()), out);
      assert.equal(out.sport, 40000);
      decode(LinkType.Ethernet, ethernet(0x0806, bytes(28, 0)));
      assert.equal(out.sport, 0);
      assert.equal(out.ipVersion, 0);
      assert.equal(out.tsUs, 1_700_000_000_000_000);
      assert.equal(out.linkType, LinkType.Ethernet);
      assert.equal(out.capLen, 42);
    });

    it('unsupported link types decode to nothing without flags', () => {
      decode(9999, v4tcp());
      assert.equal(out.ipVersion, 0);
      assert.equal(out.flags, 0);
      assert.equal(isLinkTypeSupported(9999), false);
      assert.equal(isLinkTypeSupported(LinkType.LinuxSll2), true);
      assert.equal(linkTypeName(1), 'ETHERNET');
      assert.equal(linkTypeName(276), 'LINUX_SLL2');
      assert.equal(linkTypeName(9999), 'LINKTYPE_9999');
    });

    it('bounds nesting on hostile input (a thousand VLAN tags)', () => {
      const tags: number[] = [];
      for (let i = 0; i < 1000; i++) tags.push(...vlanTag(i & 0xfff, 0x8100));
      decode(LinkType.Ethernet, ethernet(0x8100, concat(tags, v4tcp())));
      assert.equal(out.flags, RecordFlag.Malformed);
      assert.match(out.issue, /too many nested headers/);
    });
  });
});
