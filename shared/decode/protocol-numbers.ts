// The numbers the decoder dispatches on, by name: EtherTypes (also the protocol
// field of GRE, Geneve, SLL and Cisco HDLC), IP protocol numbers and UDP ports of
// tunnels. Transport protocol numbers (TCP, UDP, ...) live with the record in
// shared/packet/packet-record.ts.

// ---- EtherTypes (IEEE registry; GRE, Geneve, SLL and Cisco HDLC use the same numbers) ----
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_TEB = 0x6558; // Transparent Ethernet Bridging: an Ethernet frame follows
export const ETHERTYPE_FRAME_RELAY = 0x6559; // raw Frame Relay (in GRE)
export const ETHERTYPE_RARP = 0x8035;
export const ETHERTYPE_VLAN = 0x8100; // IEEE 802.1Q customer tag
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_PPP = 0x880b; // PPP in GRE (PPTP)
export const ETHERTYPE_WCCP = 0x883e; // Cisco WCCP redirection (in GRE)
export const ETHERTYPE_MPLS = 0x8847;
export const ETHERTYPE_MPLS_MULTICAST = 0x8848;
export const ETHERTYPE_PPPOE_DISCOVERY = 0x8863;
export const ETHERTYPE_PPPOE_SESSION = 0x8864;
export const ETHERTYPE_QINQ = 0x88a8; // IEEE 802.1ad service tag
export const ETHERTYPE_ERSPAN_1_2 = 0x88be;
export const ETHERTYPE_PBB = 0x88e7; // IEEE 802.1ah provider backbone bridging I-tag
export const ETHERTYPE_MACSEC = 0x88e5; // IEEE 802.1AE
export const ETHERTYPE_FABRICPATH = 0x8903; // Cisco FabricPath
export const ETHERTYPE_CISCO_METADATA = 0x8909;
export const ETHERTYPE_VNTAG = 0x8926; // Cisco VN-Tag (IEEE 802.1Qbh)
export const ETHERTYPE_NSH = 0x894f; // Network Service Header (RFC 8300)
export const ETHERTYPE_QINQ_9100 = 0x9100; // pre-standard Q-in-Q outer tags
export const ETHERTYPE_QINQ_9200 = 0x9200;
export const ETHERTYPE_QINQ_9300 = 0x9300;
export const ETHERTYPE_ERSPAN_3 = 0x22eb;

// ---- IP protocol numbers of tunnels (IANA) ----
export const IPPROTO_IPIP = 4; // IPv4 in IP
export const IPPROTO_IPV6 = 41; // IPv6 in IP (6in4, 6in6)
export const IPPROTO_GRE = 47;
export const IPPROTO_ETHERIP = 97; // RFC 3378
export const IPPROTO_MPLS_IN_IP = 137; // RFC 4023
export const IPPROTO_ETHERNET = 143; // Ethernet in IPv6 (SRv6 L2)

// ---- UDP ports of tunnels (IANA) ----
export const UDP_PORT_GTP_U = 2152;
export const UDP_PORT_TEREDO = 3544;
export const UDP_PORT_GRE_IN_UDP = 4754; // RFC 8086
export const UDP_PORT_VXLAN = 4789;
export const UDP_PORT_VXLAN_GPE = 4790;
export const UDP_PORT_AYIYA = 5072;
export const UDP_PORT_GENEVE = 6081;
export const UDP_PORT_MPLS_IN_UDP = 6635; // RFC 7510
