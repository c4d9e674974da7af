// Test helper: the encapsulation corpus, one case per encapsulation the decoder
// knows, each wrapping three inner packets (IPv4/TCP, IPv6/UDP, IPv4/ICMP), plus
// frames that carry no IP packet and malformed IP headers. Each built frame knows
// what a correct decode of it shows. Used by the tshark comparison and the fuzzer.
import assert from 'node:assert/strict';
import { DecodedPacket, LinkType } from '../../../shared/decode/index.js';
import { formatIp } from '../../../shared/net/ip-address.js';
import { RecordFlag, TunnelKind } from '../../../shared/packet/packet-record.js';
import {
  ETH_IPV4, ETH_IPV6, MID4, OUTER4, avs, ayiya, erspan2, erspan3, ethIp, geneve, gre, gtpu, icmpEcho, ipType, ipnet, mplsLabel, nsh,
  outer4, outer6, pflog, pktap, ppi, pppoePadi, pppoeSession, prism, q922, radiotap, sll, sll2, teredo, vxlan, vxlanGpe, wlanData,
} from './encap-builders.js';
import { be16, be32, bytes, concat, ethernet, ipv4, ipv6, mac, tcp, udp, vlanTag } from './frame-builder.js';

export interface Inner { name: string; ip: Uint8Array; v: 4 | 6; src: string; dst: string; proto: number; sport: number; dport: number }

export const INNER: Inner[] = [
  { name: 'v4 tcp', ip: ipv4({ src: '10.1.2.3', dst: '192.0.2.9', proto: 6 }, tcp({ sport: 40000, dport: 443, flags: 0x18 }, bytes(5))), v: 4, src: '10.1.2.3', dst: '192.0.2.9', proto: 6, sport: 40000, dport: 443 },
  { name: 'v6 udp', ip: ipv6({ src: '2001:db8::1', dst: '2001:db8::2', next: 17 }, udp(5353, 53, bytes(12))), v: 6, src: '2001:db8::1', dst: '2001:db8::2', proto: 17, sport: 5353, dport: 53 },
  { name: 'v4 icmp', ip: ipv4({ src: '10.9.8.7', dst: '192.0.2.77', proto: 1 }, icmpEcho()), v: 4, src: '10.9.8.7', dst: '192.0.2.77', proto: 1, sport: 8, dport: 0 },
];

export interface EncapCase {
  name: string;
  linkType: number;
  /** the frame carrying `inner` (an IP packet) */
  wrap: (inner: Uint8Array) => Uint8Array;
  /** tunnel kind the record must name (default: none) */
  tunnel?: TunnelKind;
  /** inner packets this encapsulation can carry (default: all) */
  only?: (4 | 6)[];
  /** why tshark does not find the inner packet (a policy difference the comparison names) */
  tsharkMisses?: string;
}

const v6only: (4 | 6)[] = [6];
const l = (label: number, bottom: boolean): number[] => mplsLabel(label, bottom);

export const CASES: EncapCase[] = [
  { name: 'Ethernet', linkType: LinkType.Ethernet, wrap: (ip) => ethIp(ip) },
  { name: '802.1Q', linkType: LinkType.Ethernet, wrap: (ip) => ethernet(0x8100, concat(vlanTag(100, ipType(ip)), ip)) },
  { name: '802.1ad Q-in-Q', linkType: LinkType.Ethernet, wrap: (ip) => ethernet(0x88a8, concat(vlanTag(10, 0x8100), vlanTag(20, ipType(ip)), ip)) },
  { name: 'PPPoE session', linkType: LinkType.Ethernet, wrap: (ip) => ethernet(0x8864, pppoeSession(ip)) },
  { name: 'PPPoE session in 802.1Q', linkType: LinkType.Ethernet, wrap: (ip) => ethernet(0x8100, concat(vlanTag(7, 0x8864), pppoeSession(ip))) },
  { name: 'PPPoE session in Q-in-Q', linkType: LinkType.Ethernet, wrap: (ip) => ethernet(0x88a8, concat(vlanTag(300, 0x8100), vlanTag(7, 0x8864), pppoeSession(ip))) },
  { name: 'PPPoE without Ethernet (51)', linkType: LinkType.PppEther, wrap: (ip) => pppoeSession(ip) },
  { name: 'MPLS one label', linkType: LinkType.Ethernet, wrap: (ip) => ethernet(0x8847, concat(l(100, true), ip)) },
  { name: 'MPLS three labels', linkType: LinkType.Ethernet, wrap: (ip) => ethernet(0x8847, concat(l(16, false), l(17, false), l(18, true), ip)) },
  { name: 'MPLS in 802.1Q', linkType: LinkType.Ethernet, wrap: (ip) => ethernet(0x8100, concat(vlanTag(5, 0x8847), l(16, false), l(18, true), ip)) },
  { name: 'MPLS Ethernet pseudowire, control word', linkType: LinkType.Ethernet, tsharkMisses: 'pw-control-word',
    // a control word with sequence number 0x1234 (an all-zero one would read as a registered OUI to tshark's heuristic)
    wrap: (ip) => ethernet(0x8847, concat(l(20, false), l(21, true), be32(0x1234), ethIp(ip, '02:00:00:00:00:33', '02:00:00:00:00:44'))) },
  { name: 'MPLS Ethernet pseudowire, no control word', linkType: LinkType.Ethernet,
    wrap: (ip) => ethernet(0x8847, concat(l(20, false), l(21, true), ethIp(ip, '00:00:0c:07:ac:01', '00:1b:21:3a:4b:5c'))) },
  { name: 'MPLS in GRE', linkType: LinkType.Ethernet, tunnel: TunnelKind.Gre, wrap: (ip) => ethIp(outer4(47, gre(0x8847, concat(l(30, true), ip)))) },
  { name: 'MPLS in IP', linkType: LinkType.Ethernet, tunnel: TunnelKind.Mpls, wrap: (ip) => ethIp(outer4(137, concat(l(31, true), ip))) },
  { name: 'MPLS in UDP', linkType: LinkType.Ethernet, tunnel: TunnelKind.Mpls, wrap: (ip) => ethIp(outer4(17, udp(50005, 6635, concat(l(32, true), ip)))) },
  { name: 'Frame Relay, RFC 2427 NLPID', linkType: LinkType.FrameRelay, wrap: (ip) => concat(q922(100), [0x03, ip[0]! >> 4 === 6 ? 0x8e : 0xcc], ip) },
  { name: 'Frame Relay, Cisco encapsulation', linkType: LinkType.FrameRelay, wrap: (ip) => concat(q922(101), be16(ipType(ip)), ip) },
  { name: 'Frame Relay, SNAP', linkType: LinkType.FrameRelay, wrap: (ip) => concat(q922(102), [0x03, 0x00, 0x80, 0, 0, 0], be16(ipType(ip)), ip) },
  { name: 'Frame Relay, bridged Ethernet', linkType: LinkType.FrameRelay, wrap: (ip) => concat(q922(103), [0x03, 0x00, 0x80, 0x00, 0x80, 0xc2], be16(0x0007), ethIp(ip)) },
  // with the frame check sequence FabricPath switches keep (tshark's dissector expects it)
  { name: 'Cisco FabricPath', linkType: LinkType.Ethernet,
    wrap: (ip) => concat(ethernet(0x8903, concat([0x00, 0x3f], ethIp(ip, '02:00:00:00:00:b1', '02:00:00:00:00:b2')), '02:0a:00:01:00:00', '02:0b:00:02:00:00'), be32(0x0badf00d)) },
  { name: 'Cisco HDLC', linkType: LinkType.CiscoHdlc, wrap: (ip) => concat([0x0f, 0x00], be16(ipType(ip)), ip) },
  { name: 'PPP', linkType: LinkType.Ppp, wrap: (ip) => concat(be16(ip[0]! >> 4 === 6 ? 0x57 : 0x21), ip) },
  { name: 'PPP in HDLC-like framing', linkType: LinkType.PppHdlc, wrap: (ip) => concat([0xff, 0x03], be16(ip[0]! >> 4 === 6 ? 0x57 : 0x21), ip) },
  { name: 'ERSPAN type I', linkType: LinkType.Ethernet, tunnel: TunnelKind.Gre, wrap: (ip) => ethIp(outer4(47, gre(0x88be, ethIp(ip)))) },
  { name: 'ERSPAN type II', linkType: LinkType.Ethernet, tunnel: TunnelKind.Gre, wrap: (ip) => ethIp(outer4(47, gre(0x88be, concat(erspan2(), ethIp(ip)), { seq: 7 }))) },
  { name: 'ERSPAN type III', linkType: LinkType.Ethernet, tunnel: TunnelKind.Gre, wrap: (ip) => ethIp(outer4(47, gre(0x22eb, concat(erspan3(false), ethIp(ip)), { seq: 8 }))) },
  { name: 'ERSPAN type III, platform subheader', linkType: LinkType.Ethernet, tunnel: TunnelKind.Gre,
    wrap: (ip) => ethIp(outer4(47, gre(0x22eb, concat(erspan3(true), ethIp(ip)), { seq: 9 }))) },
  { name: 'GRE', linkType: LinkType.Ethernet, tunnel: TunnelKind.Gre, wrap: (ip) => ethIp(outer4(47, gre(ipType(ip), ip))) },
  { name: 'GRE with key and sequence', linkType: LinkType.Ethernet, tunnel: TunnelKind.Gre, wrap: (ip) => ethIp(outer4(47, gre(ipType(ip), ip, { key: 42, seq: 1 }))) },
  { name: 'GRE over IPv6', linkType: LinkType.Ethernet, tunnel: TunnelKind.Gre, wrap: (ip) => ethIp(outer6(47, gre(ipType(ip), ip))) },
  { name: 'GRE in GRE', linkType: LinkType.Ethernet, tunnel: TunnelKind.Gre, wrap: (ip) => ethIp(outer4(47, gre(ETH_IPV4, outer4(47, gre(ipType(ip), ip), MID4)))) },
  { name: 'GRE carrying Ethernet', linkType: LinkType.Ethernet, tunnel: TunnelKind.Gre, wrap: (ip) => ethIp(outer4(47, gre(0x6558, ethIp(ip)))) },
  { name: 'GRE in UDP', linkType: LinkType.Ethernet, tunnel: TunnelKind.Gre, wrap: (ip) => ethIp(outer4(17, udp(50006, 4754, gre(ipType(ip), ip)))) },
  { name: 'VXLAN', linkType: LinkType.Ethernet, tunnel: TunnelKind.Vxlan, wrap: (ip) => ethIp(outer4(17, vxlan(ethIp(ip)))) },
  { name: 'VXLAN in 802.1Q over IPv6', linkType: LinkType.Ethernet, tunnel: TunnelKind.Vxlan, wrap: (ip) => ethernet(0x8100, concat(vlanTag(9, ETH_IPV6), outer6(17, vxlan(ethIp(ip))))) },
  { name: 'VXLAN-GPE carrying IP', linkType: LinkType.Ethernet, tunnel: TunnelKind.VxlanGpe, wrap: (ip) => ethIp(outer4(17, vxlanGpe(ip[0]! >> 4 === 6 ? 2 : 1, ip))) },
  { name: 'VXLAN-GPE carrying Ethernet', linkType: LinkType.Ethernet, tunnel: TunnelKind.VxlanGpe, wrap: (ip) => ethIp(outer4(17, vxlanGpe(3, ethIp(ip)))) },
  { name: 'Geneve carrying Ethernet', linkType: LinkType.Ethernet, tunnel: TunnelKind.Geneve, wrap: (ip) => ethIp(outer4(17, geneve(0x6558, ethIp(ip)))) },
  { name: 'Geneve carrying IP', linkType: LinkType.Ethernet, tunnel: TunnelKind.Geneve, wrap: (ip) => ethIp(outer4(17, geneve(ipType(ip), ip))) },
  { name: 'GTP-U', linkType: LinkType.Ethernet, tunnel: TunnelKind.Gtp, wrap: (ip) => ethIp(outer4(17, gtpu(ip, false))) },
  { name: 'GTP-U with an extension header', linkType: LinkType.Ethernet, tunnel: TunnelKind.Gtp, wrap: (ip) => ethIp(outer4(17, gtpu(ip, true))) },
  { name: 'Teredo', linkType: LinkType.Ethernet, tunnel: TunnelKind.Teredo, only: v6only, wrap: (ip) => ethIp(outer4(17, teredo(ip, false, false))) },
  { name: 'Teredo with origin indication', linkType: LinkType.Ethernet, tunnel: TunnelKind.Teredo, only: v6only, wrap: (ip) => ethIp(outer4(17, teredo(ip, false, true))) },
  { name: 'Teredo with authentication', linkType: LinkType.Ethernet, tunnel: TunnelKind.Teredo, only: v6only, wrap: (ip) => ethIp(outer4(17, teredo(ip, true, false))) },
  { name: 'Teredo with authentication and origin', linkType: LinkType.Ethernet, tunnel: TunnelKind.Teredo, only: v6only, wrap: (ip) => ethIp(outer4(17, teredo(ip, true, true))) },
  { name: 'NSH over Ethernet (MD type 2)', linkType: LinkType.Ethernet, wrap: (ip) => ethernet(0x894f, nsh(ip[0]! >> 4 === 6 ? 2 : 1, ip)) },
  { name: 'NSH over Ethernet carrying Ethernet (MD type 1)', linkType: LinkType.Ethernet, wrap: (ip) => ethernet(0x894f, nsh(3, ethIp(ip), true)) },
  { name: 'NSH in GRE', linkType: LinkType.Ethernet, tunnel: TunnelKind.Gre, wrap: (ip) => ethIp(outer4(47, gre(0x894f, nsh(ip[0]! >> 4 === 6 ? 2 : 1, ip)))) },
  { name: 'NSH in VXLAN-GPE', linkType: LinkType.Ethernet, tunnel: TunnelKind.VxlanGpe, wrap: (ip) => ethIp(outer4(17, vxlanGpe(4, nsh(3, ethIp(ip))))) },
  { name: 'IP in IPv4 (4in4, 6in4)', linkType: LinkType.Ethernet, tunnel: undefined, wrap: (ip) => ethIp(outer4(ip[0]! >> 4 === 6 ? 41 : 4, ip)) },
  { name: 'IP in IPv6 (4in6, 6in6)', linkType: LinkType.Ethernet, tunnel: undefined, wrap: (ip) => ethIp(outer6(ip[0]! >> 4 === 6 ? 41 : 4, ip)) },
  { name: 'AYIYA', linkType: LinkType.Ethernet, tunnel: TunnelKind.Ayiya, wrap: (ip) => ethIp(outer4(17, ayiya(ip))) },
  { name: 'EtherIP', linkType: LinkType.Ethernet, tunnel: TunnelKind.EtherIp, wrap: (ip) => ethIp(outer4(97, concat([0x30, 0x00], ethIp(ip)))) },
  { name: 'PBB (802.1ah) under a B-tag', linkType: LinkType.Ethernet,
    wrap: (ip) => ethernet(0x88a8, concat(vlanTag(11, 0x88e7), be32(0x00012345), ethIp(ip, '02:00:00:00:00:c1', '02:00:00:00:00:c2'))) },
  { name: 'VN-Tag', linkType: LinkType.Ethernet, wrap: (ip) => ethernet(0x8926, concat(be32(0x80010002), be16(ipType(ip)), ip)) },
  { name: 'MACsec, integrity only', linkType: LinkType.Ethernet, wrap: (ip) => ethernet(0x88e5, concat([0x20, 0], be32(1), mac('02:00:00:00:00:0a'), be16(1), be16(ipType(ip)), ip, bytes(16, 0x77))) },
  { name: 'Linux SLL', linkType: LinkType.LinuxSll, wrap: (ip) => sll(ipType(ip), ip) },
  { name: 'Linux SLL2', linkType: LinkType.LinuxSll2, wrap: (ip) => sll2(ipType(ip), ip) },
  { name: 'NULL, little-endian', linkType: LinkType.Null, wrap: (ip) => concat([ip[0]! >> 4 === 6 ? 30 : 2, 0, 0, 0], ip) },
  { name: 'LOOP, big-endian', linkType: LinkType.Loop, wrap: (ip) => concat([0, 0, 0, ip[0]! >> 4 === 6 ? 24 : 2], ip) },
  { name: 'raw IP (101)', linkType: LinkType.Raw, wrap: (ip) => ip },
  { name: 'raw IPv4 / IPv6 (228, 229)', linkType: -1, wrap: (ip) => ip },
  { name: '802.11 with radiotap', linkType: LinkType.Ieee80211Radiotap, wrap: (ip) => radiotap(wlanData([ip])) },
  { name: '802.11', linkType: LinkType.Ieee80211, wrap: (ip) => wlanData([ip]) },
  { name: '802.11 A-MSDU (first subframe)', linkType: LinkType.Ieee80211Radiotap, wrap: (ip) => radiotap(wlanData([ip, INNER[0]!.ip], true)) },
  { name: '802.11 with Prism header', linkType: LinkType.Ieee80211Prism, wrap: (ip) => prism(wlanData([ip])) },
  { name: '802.11 with AVS header', linkType: LinkType.Ieee80211Avs, wrap: (ip) => avs(wlanData([ip])) },
  { name: '802.11 with PPI header', linkType: LinkType.Ppi, wrap: (ip) => ppi(LinkType.Ieee80211, wlanData([ip])) },
  { name: 'Aruba GRE carrying 802.11', linkType: LinkType.Ethernet, tunnel: TunnelKind.Gre, wrap: (ip) => ethIp(outer4(47, gre(0x8200, wlanData([ip])))) },
  { name: 'PFLOG', linkType: LinkType.Pflog, wrap: (ip) => pflog(ip[0]! >> 4 === 6 ? 24 : 2, ip) },
  { name: 'PKTAP', linkType: LinkType.Pktap, wrap: (ip) => pktap(ethIp(ip)) },
  { name: 'IPNET', linkType: LinkType.Ipnet, wrap: (ip) => ipnet(ip) },
];

/** Frames that carry no IP packet: the record must say so, and tshark must agree. */
export const NON_IP: { name: string; linkType: number; frame: Uint8Array; etherType: number }[] = [
  { name: 'PPPoE discovery (PADI)', linkType: LinkType.Ethernet, frame: ethernet(0x8863, pppoePadi(), 'ff:ff:ff:ff:ff:ff'), etherType: 0x8863 },
  { name: 'PPPoE discovery in Q-in-Q', linkType: LinkType.Ethernet, frame: ethernet(0x88a8, concat(vlanTag(300, 0x8100), vlanTag(7, 0x8863), pppoePadi()), 'ff:ff:ff:ff:ff:ff'), etherType: 0x8863 },
  { name: 'Cisco HDLC SLARP keepalive', linkType: LinkType.CiscoHdlc, frame: concat([0x8f, 0x00], be16(0x8035), be32(2), be32(7), be32(6), be16(0xffff)), etherType: 0x8035 },
  { name: 'VXLAN carrying ARP', linkType: LinkType.Ethernet,
    frame: ethIp(outer4(17, vxlan(ethernet(0x0806, concat(be16(1), be16(0x0800), [6, 4], be16(1), mac('02:00:00:00:00:0a'), [10, 0, 0, 1], bytes(6, 0), [10, 0, 0, 2]))))), etherType: 0x0800 },
];

/** IP headers that are not sound: each must become a record flagged BadIpHeader. */
export const BAD_IP: { name: string; frame: Uint8Array; version: 4 | 6 }[] = (() => {
  const good = INNER[0]!.ip;
  const mut = (f: (b: Uint8Array) => void): Uint8Array => { const b = good.slice(); f(b); return b; };
  return [
    { name: 'IPv4 header length 3', frame: ethernet(ETH_IPV4, mut((b) => { b[0] = 0x43; })), version: 4 },
    { name: 'IPv4 total length 12', frame: ethernet(ETH_IPV4, mut((b) => { b[2] = 0; b[3] = 12; })), version: 4 },
    { name: 'version 7 under EtherType IPv4', frame: ethernet(ETH_IPV4, mut((b) => { b[0] = 0x75; })), version: 4 },
    { name: 'IPv4 header cut at 17 bytes', frame: ethernet(ETH_IPV4, good.subarray(0, 17)), version: 4 },
    { name: 'IPv6 header cut at 30 bytes', frame: ethernet(ETH_IPV6, INNER[1]!.ip.subarray(0, 30)), version: 6 },
  ];
})();

export interface Built { label: string; linkType: number; data: Uint8Array; tsharkMisses?: string; check: (out: DecodedPacket, outer: DecodedPacket) => void }

/** Every frame of the corpus, labelled, with what its decode must show. */
export function buildEncapsulationCorpus(): Built[] {
  const built: Built[] = [];
  for (const c of CASES) {
    for (const inner of INNER) {
      if (c.only && !c.only.includes(inner.v)) continue;
      const linkType = c.linkType === -1 ? (inner.v === 6 ? LinkType.Ipv6 : LinkType.Ipv4) : c.linkType;
      built.push({
        label: `${c.name} / ${inner.name}`, linkType, data: c.wrap(inner.ip), ...(c.tsharkMisses ? { tsharkMisses: c.tsharkMisses } : {}),
        check: (out, outer) => {
          const what = `${c.name} / ${inner.name}`;
          assert.deepEqual(
            { v: out.ipVersion, src: formatIp(out.ipVersion, out.src), dst: formatIp(out.ipVersion, out.dst), proto: out.proto, sport: out.sport, dport: out.dport },
            { v: inner.v, src: inner.src, dst: inner.dst, proto: inner.proto, sport: inner.sport, dport: inner.dport }, what);
          assert.equal(out.flags & (RecordFlag.Truncated | RecordFlag.Malformed), 0, `${what}: ${out.issue}`);
          const kind = c.tunnel ?? (c.name.startsWith('IP in') ? (inner.v === 6 ? TunnelKind.SixInFour : TunnelKind.IpInIp) : TunnelKind.None);
          assert.equal(out.tunnel, kind, `${what}: tunnel kind`);
          assert.equal((out.flags & RecordFlag.Inner) !== 0, kind !== TunnelKind.None, `${what}: Inner flag`);
          if (kind !== TunnelKind.None) assert.equal(formatIp(outer.ipVersion, outer.src), outer.ipVersion === 6 ? '2001:db8:ffff::1' : OUTER4.src, `${what}: outer packet`);
        },
      });
    }
  }
  for (const n of NON_IP) {
    built.push({
      label: n.name, linkType: n.linkType, data: n.frame,
      check: (out) => {
        assert.equal(out.etherType, n.etherType, n.name);
        assert.equal(out.flags & (RecordFlag.Truncated | RecordFlag.Malformed | RecordFlag.Inner), 0, `${n.name}: ${out.issue}`);
        if (n.etherType !== 0x0800) assert.equal(out.ipVersion, 0, n.name);
        else assert.equal(formatIp(out.ipVersion, out.src), OUTER4.src, `${n.name}: the outer packet stays the record`);
      },
    });
  }
  for (const b of BAD_IP) {
    built.push({
      label: b.name, linkType: LinkType.Ethernet, data: b.frame,
      check: (out) => {
        assert.equal(out.ipVersion, b.version, b.name);
        assert.equal(out.flags, RecordFlag.Malformed | RecordFlag.BadIpHeader, `${b.name}: ${out.issue}`);
      },
    });
  }
  return built;
}

