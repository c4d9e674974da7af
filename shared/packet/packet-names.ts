// Names of the numbers a packet record carries: IP protocols and tunnel kinds. One table for
// every place that prints them (flow records, `dump inspect`, alerts). Pure.
import {
  IPPROTO_GRE, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_IPIP, IPPROTO_IPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, TunnelKind,
} from './packet-record.js';

const PROTOCOLS: Readonly<Record<number, string>> = {
  [IPPROTO_ICMP]: 'icmp',
  2: 'igmp',
  [IPPROTO_IPIP]: 'ipip',
  [IPPROTO_TCP]: 'tcp',
  [IPPROTO_UDP]: 'udp',
  [IPPROTO_IPV6]: 'ipv6',
  [IPPROTO_GRE]: 'gre',
  50: 'esp',
  51: 'ah',
  [IPPROTO_ICMPV6]: 'icmp6',
  89: 'ospf',
  103: 'pim',
  112: 'vrrp',
  [IPPROTO_SCTP]: 'sctp',
};

const TUNNELS: Readonly<Record<number, string>> = {
  [TunnelKind.Gre]: 'gre',
  [TunnelKind.Vxlan]: 'vxlan',
  [TunnelKind.Geneve]: 'geneve',
  [TunnelKind.SixInFour]: '6in4',
  [TunnelKind.Teredo]: 'teredo',
  [TunnelKind.Gtp]: 'gtp',
  [TunnelKind.IpInIp]: 'ipip',
  [TunnelKind.Ayiya]: 'ayiya',
  [TunnelKind.Mpls]: 'mpls',
  [TunnelKind.VxlanGpe]: 'vxlan-gpe',
  [TunnelKind.EtherIp]: 'etherip',
};

/** The protocol's name ("tcp", "icmp6"), or undefined for a number not in the table. */
export function ipProtocolName(proto: number): string | undefined {
  return PROTOCOLS[proto];
}

/** The tunnel kind's name ("vxlan"), or undefined for TunnelKind.None and unknown kinds. */
export function tunnelKindName(kind: number): string | undefined {
  return TUNNELS[kind];
}
