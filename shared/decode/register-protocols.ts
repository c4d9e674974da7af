// The wiring: which decoder handles which link type, EtherType, IP protocol and
// UDP tunnel port. Adding a protocol = a module in protocols/ plus its lines here.
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '../packet/packet-record.js';
import { etherTypeTable, ipProtocolTable, linkTypeTable, udpTunnelPortTable } from './dispatch.js';
import { LinkType } from './link-types.js';
import { decodeArp } from './protocols/arp.js';
import { decodeEthernet } from './protocols/ethernet.js';
import { GENEVE_PORT, decodeGeneve } from './protocols/geneve.js';
import { decodeGre } from './protocols/gre.js';
import { GTP_U_PORT, decodeGtpU } from './protocols/gtp.js';
import { decodeIcmp, decodeIcmpv6 } from './protocols/icmp.js';
import { decodeIeee80211, decodeRadiotap } from './protocols/ieee80211.js';
import { decodeIpInIp, decodeSixInFour } from './protocols/ip-in-ip.js';
import { decodeIpv4 } from './protocols/ipv4.js';
import { decodeIpv6 } from './protocols/ipv6.js';
import { decodeSll, decodeSll2 } from './protocols/linux-sll.js';
import { decodeMpls } from './protocols/mpls.js';
import { decodeNflog } from './protocols/nflog.js';
import { decodeNullLoopback } from './protocols/null-loopback.js';
import { decodeCiscoHdlc, decodePpp, decodePppSerial, decodePppWithDirection, decodePppoeSession } from './protocols/ppp.js';
import { decodeRawIp, decodeRawIpv4, decodeRawIpv6 } from './protocols/raw-ip.js';
import { decodeSctp } from './protocols/sctp.js';
import { decodeTcp } from './protocols/tcp.js';
import { TEREDO_PORT, decodeTeredo } from './protocols/teredo.js';
import { decodeUdp } from './protocols/udp.js';
import { VLAN_ETHERTYPES, decodeVlan } from './protocols/vlan.js';
import { VXLAN_PORT, decodeVxlan } from './protocols/vxlan.js';

linkTypeTable.register(LinkType.Null, decodeNullLoopback);
linkTypeTable.register(LinkType.Loop, decodeNullLoopback);
linkTypeTable.register(LinkType.Ethernet, decodeEthernet);
linkTypeTable.register(LinkType.Ppp, decodePpp);
linkTypeTable.register(LinkType.PppHdlc, decodePppSerial);
linkTypeTable.register(LinkType.PppWithDirection, decodePppWithDirection);
linkTypeTable.register(LinkType.PppEther, decodePppoeSession);
linkTypeTable.register(LinkType.CiscoHdlc, decodeCiscoHdlc);
linkTypeTable.register(LinkType.Raw, decodeRawIp);
linkTypeTable.register(LinkType.RawBsd, decodeRawIp);
linkTypeTable.register(LinkType.RawOpenBsd, decodeRawIp);
linkTypeTable.register(LinkType.Ipv4, decodeRawIpv4);
linkTypeTable.register(LinkType.Ipv6, decodeRawIpv6);
linkTypeTable.register(LinkType.LinuxSll, decodeSll);
linkTypeTable.register(LinkType.LinuxSll2, decodeSll2);
linkTypeTable.register(LinkType.Nflog, decodeNflog);
linkTypeTable.register(LinkType.Ieee80211, decodeIeee80211);
linkTypeTable.register(LinkType.Ieee80211Radiotap, decodeRadiotap);

etherTypeTable.register(0x0800, decodeIpv4);
etherTypeTable.register(0x86dd, decodeIpv6);
etherTypeTable.register(0x0806, decodeArp);
for (const t of VLAN_ETHERTYPES) etherTypeTable.register(t, decodeVlan);
etherTypeTable.register(0x8847, decodeMpls);
etherTypeTable.register(0x8848, decodeMpls);
etherTypeTable.register(0x8864, decodePppoeSession);
etherTypeTable.register(0x880b, decodePpp);
/** Transparent Ethernet Bridging: an Ethernet frame inside a tunnel */
etherTypeTable.register(0x6558, decodeEthernet);

ipProtocolTable.register(IPPROTO_TCP, decodeTcp);
ipProtocolTable.register(IPPROTO_UDP, decodeUdp);
ipProtocolTable.register(IPPROTO_SCTP, decodeSctp);
ipProtocolTable.register(IPPROTO_ICMP, decodeIcmp);
ipProtocolTable.register(IPPROTO_ICMPV6, decodeIcmpv6);
ipProtocolTable.register(47, decodeGre);
ipProtocolTable.register(4, decodeIpInIp);
ipProtocolTable.register(41, decodeSixInFour);

udpTunnelPortTable.register(VXLAN_PORT, decodeVxlan);
udpTunnelPortTable.register(GENEVE_PORT, decodeGeneve);
udpTunnelPortTable.register(TEREDO_PORT, decodeTeredo);
udpTunnelPortTable.register(GTP_U_PORT, decodeGtpU);
