// ICMP "ports": how an ICMP message maps to the (type, counterpart) pair that keys its
// flow. Request/reply types pair with their counterpart so both directions land in one
// flow, as Zeek does; every other type is one-way and keyed by (type, code).
// Two tables: Zeek's (flow keying) and the Community ID spec's, which differ only in
// that the spec maps ICMPv4 router solicitation -> advertisement one way.

/** Zeek's ICMPv4 counterparts; -1 = one-way. */
const ZEEK_V4 = new Int16Array(256).fill(-1);
/** Zeek's ICMPv6 counterparts; -1 = one-way. */
const ZEEK_V6 = new Int16Array(256).fill(-1);
const CID_V4 = new Int16Array(256).fill(-1);
const CID_V6 = new Int16Array(256).fill(-1);

function pair(table: Int16Array, a: number, b: number): void {
  table[a] = b;
  table[b] = a;
}

// echo, timestamp, information, router solicit/advert, address mask
pair(ZEEK_V4, 8, 0);
pair(ZEEK_V4, 13, 14);
pair(ZEEK_V4, 15, 16);
pair(ZEEK_V4, 10, 9);
pair(ZEEK_V4, 17, 18);

// echo, router solicit/advert, neighbor solicit/advert, MLD query/report,
// node information query/response, home agent address discovery request/reply
pair(ZEEK_V6, 128, 129);
pair(ZEEK_V6, 133, 134);
pair(ZEEK_V6, 135, 136);
pair(ZEEK_V6, 130, 131);
pair(ZEEK_V6, 139, 140);
pair(ZEEK_V6, 144, 145);

pair(CID_V4, 8, 0);
pair(CID_V4, 13, 14);
pair(CID_V4, 15, 16);
pair(CID_V4, 17, 18);
CID_V4[10] = 9; // the spec maps solicitation -> advertisement but not back
CID_V6.set(ZEEK_V6);

/**
 * The counterpart "port" of an ICMP message for flow keying (Zeek's rules):
 * the paired type for request/reply messages, -1 when the type is one-way.
 */
export function zeekIcmpCounterpart(ipv6: boolean, type: number): number {
  return (ipv6 ? ZEEK_V6 : ZEEK_V4)[type & 0xff]!;
}

/** Same as zeekIcmpCounterpart with the Community ID v1 spec's table. */
export function communityIdIcmpCounterpart(ipv6: boolean, type: number): number {
  return (ipv6 ? CID_V6 : CID_V4)[type & 0xff]!;
}
