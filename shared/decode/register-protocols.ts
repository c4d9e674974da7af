// The wiring: which decoder handles which link type, EtherType, IP protocol and
// UDP tunnel port. Adding a protocol = a module in protocols/ plus its lines here.
// Keys are named (protocol-numbers.ts, link-types.ts, packet-record.ts).
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '../packet/packet-record.js';
import { etherTypeTable, ipProtocolTable, linkTypeTable, udpTunnelPortTable } from './dispatch.js';
import { LinkType } from './link-types.js';
import {
  ETHERTYPE_ARP, ETHERTYPE_FABRICPATH, ETHERTYPE_MACSEC, ETHERTYPE_FRAME_RELAY, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_MPLS, ETHERTYPE_MPLS_MULTICAST,
  ETHERTYPE_NSH, ETHERTYPE_PBB, ETHERTYPE_PPP, ETHERTYPE_PPPOE_DISCOVERY, ETHERTYPE_PPPOE_SESSION, ETHERTYPE_QINQ, ETHERTYPE_QINQ_9100,
  ETHERTYPE_QINQ_9200, ETHERTYPE_QINQ_9300, ETHERTYPE_RARP, ETHERTYPE_TEB, ETHERTYPE_VLAN, ETHERTYPE_VNTAG,
  IPPROTO_ETHERIP, IPPROTO_ETHERNET, IPPROTO_GRE, IPPROTO_IPIP, IPPROTO_IPV6, IPPROTO_MPLS_IN_IP,
  UDP_PORT_AYIYA, UDP_PORT_GENEVE, UDP_PORT_GRE_IN_UDP, UDP_PORT_GTP_U, UDP_PORT_MPLS_IN_UDP, UDP_PORT_TEREDO, UDP_PORT_VXLAN, UDP_PORT_VXLAN_GPE,
} from './protocol-numbers.js';
import { decodeArp } from './protocols/arp.js';
import { decodeAyiya } from './protocols/ayiya.js';
import { decodeIpnet, decodePktap } from './protocols/capture-headers.js';
import { decodeCiscoHdlc, decodeCiscoHdlcWithDirection } from './protocols/cisco-hdlc.js';
import { decodeEtherIp, decodeEthernetInIp } from './protocols/etherip.js';
import { decodeEthernet } from './protocols/ethernet.js';
import { decodeFabricPath } from './protocols/fabricpath.js';
import { decodeFrameRelay, decodeFrameRelayWithDirection } from './protocols/frame-relay.js';
import { decodeGeneve } from './protocols/geneve.js';
import { decodeGre, decodeGreInUdp } from './protocols/gre.js';
import { decodeGtpU } from './protocols/gtp.js';
import { decodeIcmp, decodeIcmpv6 } from './protocols/icmp.js';
import { decodeIeee80211, decodeRadiotap } from './protocols/ieee80211.js';
import { decodeIpInIp, decodeSixInFour } from './protocols/ip-in-ip.js';
import { decodeIpv4 } from './protocols/ipv4.js';
import { decodeIpv6 } from './protocols/ipv6.js';
import { decodeSll, decodeSll2 } from './protocols/linux-sll.js';
import { decodeMacsec } from './protocols/macsec.js';
import { decodeMpls, decodeMplsInIp, decodeMplsInUdp } from './protocols/mpls.js';
import { decodeNflog } from './protocols/nflog.js';
import { decodeNsh } from './protocols/nsh.js';
import { decodeNullLoopback } from './protocols/null-loopback.js';
import { decodePbb } from './protocols/pbb.js';
import { decodePflog } from './protocols/pflog.js';
import { decodePpi } from './protocols/ppi.js';
import { decodePpp, decodePppSerial, decodePppWithDirection } from './protocols/ppp.js';
import { decodePppoeDiscovery, decodePppoeSession } from './protocols/pppoe.js';
import { decodeAvs, decodePrism } from './protocols/prism.js';
import { decodeRawIp, decodeRawIpv4, decodeRawIpv6 } from './protocols/raw-ip.js';
import { decodeSctp } from './protocols/sctp.js';
import { decodeTcp } from './protocols/tcp.js';
import { decodeTeredo } from './protocols/teredo.js';
import { decodeUdp } from './protocols/udp.js';
import { decodeVlan } from './protocols/vlan.js';
import { decodeVnTag } from './protocols/vntag.js';
import { decodeVxlan } from './protocols/vxlan.js';
import { decodeVxlanGpe } from './protocols/vxlan-gpe.js';

// ---- link types ----
linkTypeTable.register(LinkType.Null, decodeNullLoopback);
linkTypeTable.register(LinkType.Loop, decodeNullLoopback);
linkTypeTable.register(LinkType.Ethernet, decodeEthernet);
linkTypeTable.register(LinkType.Ppp, decodePpp);
linkTypeTable.register(LinkType.PppHdlc, decodePppSerial);
linkTypeTable.register(LinkType.PppWithDirection, decodePppWithDirection);
linkTypeTable.register(LinkType.PppEther, decodePppoeSession);
linkTypeTable.register(LinkType.CiscoHdlc, decodeCiscoHdlc);
linkTypeTable.register(LinkType.CiscoHdlcWithDirection, decodeCiscoHdlcWithDirection);
linkTypeTable.register(LinkType.FrameRelay, decodeFrameRelay);
linkTypeTable.register(LinkType.FrameRelayWithDirection, decodeFrameRelayWithDirection);
linkTypeTable.register(LinkType.Mpls, decodeMpls);
linkTypeTable.register(LinkType.Raw, decodeRawIp);
linkTypeTable.register(LinkType.RawBsd, decodeRawIp);
linkTypeTable.register(LinkType.RawOpenBsd, decodeRawIp);
linkTypeTable.register(LinkType.Ipv4, decodeRawIpv4);
linkTypeTable.register(LinkType.Ipv6, decodeRawIpv6);
linkTypeTable.register(LinkType.LinuxSll, decodeSll);
linkTypeTable.register(LinkType.LinuxSll2, decodeSll2);
linkTypeTable.register(LinkType.Nflog, decodeNflog);
linkTypeTable.register(LinkType.Pflog, decodePflog);
linkTypeTable.register(LinkType.Ieee80211, decodeIeee80211);
linkTypeTable.register(LinkType.Ieee80211Radiotap, decodeRadiotap);
linkTypeTable.register(LinkType.Ieee80211Prism, decodePrism);
linkTypeTable.register(LinkType.Ieee80211Avs, decodeAvs);
linkTypeTable.register(LinkType.Ppi, decodePpi);
linkTypeTable.register(LinkType.Pktap, decodePktap);
linkTypeTable.register(LinkType.Ipnet, decodeIpnet);

// ---- EtherTypes (also GRE, Geneve, SLL, Cisco HDLC and Frame Relay protocol fields) ----
etherTypeTable.register(ETHERTYPE_IPV4, decodeIpv4);
etherTypeTable.register(ETHERTYPE_IPV6, decodeIpv6);
etherTypeTable.register(ETHERTYPE_ARP, decodeArp);
etherTypeTable.register(ETHERTYPE_RARP, decodeArp);
for (const t of [ETHERTYPE_VLAN, ETHERTYPE_QINQ, ETHERTYPE_QINQ_9100, ETHERTYPE_QINQ_9200, ETHERTYPE_QINQ_9300]) etherTypeTable.register(t, decodeVlan);
etherTypeTable.register(ETHERTYPE_MPLS, decodeMpls);
etherTypeTable.register(ETHERTYPE_MPLS_MULTICAST, decodeMpls);
etherTypeTable.register(ETHERTYPE_PPPOE_DISCOVERY, decodePppoeDiscovery);
etherTypeTable.register(ETHERTYPE_PPPOE_SESSION, decodePppoeSession);
etherTypeTable.register(ETHERTYPE_PPP, decodePpp);
etherTypeTable.register(ETHERTYPE_TEB, decodeEthernet);
etherTypeTable.register(ETHERTYPE_FRAME_RELAY, decodeFrameRelay);
etherTypeTable.register(ETHERTYPE_FABRICPATH, decodeFabricPath);
etherTypeTable.register(ETHERTYPE_PBB, decodePbb);
etherTypeTable.register(ETHERTYPE_VNTAG, decodeVnTag);
etherTypeTable.register(ETHERTYPE_NSH, decodeNsh);
etherTypeTable.register(ETHERTYPE_MACSEC, decodeMacsec);

// ---- IP protocols ----
ipProtocolTable.register(IPPROTO_TCP, decodeTcp);
ipProtocolTable.register(IPPROTO_UDP, decodeUdp);
ipProtocolTable.register(IPPROTO_SCTP, decodeSctp);
ipProtocolTable.register(IPPROTO_ICMP, decodeIcmp);
ipProtocolTable.register(IPPROTO_ICMPV6, decodeIcmpv6);
ipProtocolTable.register(IPPROTO_GRE, decodeGre);
ipProtocolTable.register(IPPROTO_IPIP, decodeIpInIp);
ipProtocolTable.register(IPPROTO_IPV6, decodeSixInFour);
ipProtocolTable.register(IPPROTO_MPLS_IN_IP, decodeMplsInIp);
ipProtocolTable.register(IPPROTO_ETHERIP, decodeEtherIp);
ipProtocolTable.register(IPPROTO_ETHERNET, decodeEthernetInIp);

// ---- UDP tunnel ports ----
udpTunnelPortTable.register(UDP_PORT_VXLAN, decodeVxlan);
udpTunnelPortTable.register(UDP_PORT_VXLAN_GPE, decodeVxlanGpe);
udpTunnelPortTable.register(UDP_PORT_GENEVE, decodeGeneve);
udpTunnelPortTable.register(UDP_PORT_TEREDO, decodeTeredo);
udpTunnelPortTable.register(UDP_PORT_GTP_U, decodeGtpU);
udpTunnelPortTable.register(UDP_PORT_AYIYA, decodeAyiya);
udpTunnelPortTable.register(UDP_PORT_GRE_IN_UDP, decodeGreInUdp);
udpTunnelPortTable.register(UDP_PORT_MPLS_IN_UDP, decodeMplsInUdp);
