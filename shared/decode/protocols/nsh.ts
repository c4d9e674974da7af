// Network Service Header (RFC 8300; EtherType 0x894F, GRE, VXLAN-GPE next protocol 4):
// a base header whose length field counts the whole NSH in 4-byte words (service path
// and context headers included), then the packet its next-protocol field names.
import type { DecodedPacket } from '../decoded-packet.js';
import { markMalformed, markShort, type DecodeState } from '../decode-state.js';
import { decodeEtherType } from '../dispatch.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_MPLS, ETHERTYPE_NSH, ETHERTYPE_TEB } from '../protocol-numbers.js';

const NSH_MIN = 8; // base header + service path header

/**
 * The EtherType of a "next protocol" value of NSH and VXLAN-GPE (one IANA registry
 * for both: 1 IPv4, 2 IPv6, 3 Ethernet, 4 NSH, 5 MPLS), or 0.
 */
export function nextProtocolToEtherType(p: number): number {
  switch (p) {
    case 1: return ETHERTYPE_IPV4;
    case 2: return ETHERTYPE_IPV6;
    case 3: return ETHERTYPE_TEB;
    case 4: return ETHERTYPE_NSH;
    case 5: return ETHERTYPE_MPLS;
    default: return 0;
  }
}

export function decodeNsh(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < NSH_MIN) {
    markShort(out, st, off + NSH_MIN, 'nsh: header cut short');
    return;
  }
  if (f[off]! >> 6 !== 0) return; // only version 0 is defined
  const len = (f[off + 1]! & 0x3f) << 2;
  if (len < NSH_MIN) {
    markMalformed(out, 'nsh: length shorter than the base header');
    return;
  }
  if (off + len > end) {
    markShort(out, st, off + len, 'nsh: context headers cut short');
    return;
  }
  const et = nextProtocolToEtherType(f[off + 3]!);
  if (et !== 0) decodeEtherType(et, f, off + len, end, out, st);
}
