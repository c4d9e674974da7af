// EtherType numbers the decoder dispatches on or produces (IEEE 802 / IANA registry), by name,
// so the wiring in register-protocols.ts and the decoders read as protocols, not hex.

export const enum EtherType {
  Ipv4 = 0x0800,
  Arp = 0x0806,
  /** Reverse ARP: link-local noise like ARP, not decoded */
  Rarp = 0x8035,
  Ipv6 = 0x86dd,
  /** Transparent Ethernet Bridging: an Ethernet frame inside a tunnel */
  TransparentEthernet = 0x6558,
  MplsUnicast = 0x8847,
  MplsMulticast = 0x8848,
  PppoeSession = 0x8864,
  Ppp = 0x880b,
  /** 802.1Q */
  Vlan = 0x8100,
  /** 802.1ad (QinQ service tag) */
  VlanQinQ = 0x88a8,
}
