// The common shape every reference flow (Zeek, FlowTest, nDPI, Arkime, Argus) and
// every one of our aggregated flows is reduced to before matching.
import { formatIp, parseIp } from '../../shared/net/ip-address.js';

export type ReferenceName = 'zeek' | 'flowtest' | 'ndpi' | 'arkime' | 'argus';

export const REFERENCE_NAMES: readonly ReferenceName[] = ['zeek', 'flowtest', 'ndpi', 'arkime', 'argus'];

export interface ComparableFlow {
  /** IP protocol number */
  ipProto: number;
  /** originator / first endpoint (normalized text address) */
  aAddr: string;
  aPort: number;
  bAddr: string;
  bPort: number;
  aPkts: number;
  bPkts: number;
  /** IP-layer bytes per direction, null when the reference has no IP byte counts */
  aBytes: number | null;
  bBytes: number | null;
  /** Zeek only */
  connState?: string;
  history?: string;
  /** free text for reports (reference line, uid, ...) */
  label: string;
}

/** Canonical text of an address (RFC 5952 for IPv6), or the input if it does not parse. */
export function normAddr(s: string): string {
  try {
    const a = parseIp(s);
    return formatIp(a.version, a.bytes);
  } catch {
    return s;
  }
}

export const IPPROTO = { icmp: 1, igmp: 2, tcp: 6, udp: 17, icmpv6: 58, sctp: 132 } as const;

export function isIcmp(ipProto: number): boolean {
  return ipProto === 1 || ipProto === 58;
}
