// pcap LINKTYPE_* numbers the decoder understands, and their names for messages.

export const LinkType = {
  Null: 0,
  Ethernet: 1,
  Ppp: 9,
  /** DLT_RAW as most platforms number it (files normally say 101) */
  RawBsd: 12,
  /** DLT_RAW on OpenBSD */
  RawOpenBsd: 14,
  PppHdlc: 50,
  PppEther: 51,
  Raw: 101,
  CiscoHdlc: 104,
  Ieee80211: 105,
  FrameRelay: 107,
  Loop: 108,
  LinuxSll: 113,
  Pflog: 117,
  Ieee80211Prism: 119,
  Ieee80211Radiotap: 127,
  Ieee80211Avs: 163,
  Ppi: 192,
  PppWithDirection: 204,
  CiscoHdlcWithDirection: 205,
  FrameRelayWithDirection: 206,
  Mpls: 219,
  Ipnet: 226,
  Ipv4: 228,
  Ipv6: 229,
  Nflog: 239,
  Pktap: 258,
  LinuxSll2: 276,
} as const;

export type LinkTypeNumber = (typeof LinkType)[keyof typeof LinkType];

const NAMES = new Map<number, string>([
  [0, 'NULL'],
  [1, 'ETHERNET'],
  [9, 'PPP'],
  [12, 'RAW'],
  [14, 'RAW'],
  [50, 'PPP_HDLC'],
  [51, 'PPP_ETHER'],
  [101, 'RAW'],
  [104, 'C_HDLC'],
  [105, 'IEEE802_11'],
  [107, 'FRELAY'],
  [108, 'LOOP'],
  [113, 'LINUX_SLL'],
  [117, 'PFLOG'],
  [119, 'IEEE802_11_PRISM'],
  [127, 'IEEE802_11_RADIOTAP'],
  [163, 'IEEE802_11_AVS'],
  [192, 'PPI'],
  [204, 'PPP_WITH_DIR'],
  [205, 'C_HDLC_WITH_DIR'],
  [206, 'FRELAY_WITH_DIR'],
  [219, 'MPLS'],
  [226, 'IPNET'],
  [228, 'IPV4'],
  [229, 'IPV6'],
  [239, 'NFLOG'],
  [258, 'PKTAP'],
  [276, 'LINUX_SLL2'],
]);

/** "ETHERNET", "LINUX_SLL2", ... or "LINKTYPE_<n>" for numbers the decoder does not know. */
export function linkTypeName(n: number): string {
  return NAMES.get(n) ?? `LINKTYPE_${n}`;
}
