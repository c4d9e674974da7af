// Capture-system headers in front of a packet: Apple's PKTAP (link type 258; its
// header says its own length, its record type and the link type of the frame behind it) and Solaris
// IPNET (226; a 24-byte header whose family byte names IPv4 or IPv6).
import type { DecodedPacket } from '../decoded-packet.js';
import { MAX_LAYERS, markMalformed, markShort, type DecodeState } from '../decode-state.js';
import { decodeEtherType, linkTypeTable } from '../dispatch.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../protocol-numbers.js';

const PKTAP_MIN = 12;
/** pth_type_next: the header is followed by a packet */
const PTH_TYPE_PACKET = 1;
const IPNET_HEADER = 24;
const IPNET_AF_INET = 2;
const IPNET_AF_INET6 = 26;

function le32(f: Uint8Array, o: number): number {
  return (f[o]! | (f[o + 1]! << 8) | (f[o + 2]! << 16) | (f[o + 3]! << 24)) >>> 0;
}

/** PKTAP: header length, record type and link type in the capturing host's (little-endian) byte order. */
export function decodePktap(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < PKTAP_MIN) {
    markShort(out, st, off + PKTAP_MIN, 'pktap: header cut short');
    return;
  }
  const len = le32(f, off);
  if (len < PKTAP_MIN) {
    markMalformed(out, 'pktap: header length < 12');
    return;
  }
  if (len > end - off) {
    markShort(out, st, off + len, 'pktap: header cut short');
    return;
  }
  if (++st.layers > MAX_LAYERS) {
    markMalformed(out, 'decode: too many nested headers');
    return;
  }
  if (le32(f, off + 4) !== PTH_TYPE_PACKET) return;
  const d = linkTypeTable.get(le32(f, off + 8));
  if (d !== undefined) d(f, off + len, end, out, st);
}

export function decodeIpnet(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < IPNET_HEADER) {
    markShort(out, st, off + IPNET_HEADER, 'ipnet: header cut short');
    return;
  }
  const family = f[off + 1]!;
  if (family === IPNET_AF_INET) decodeEtherType(ETHERTYPE_IPV4, f, off + IPNET_HEADER, end, out, st);
  else if (family === IPNET_AF_INET6) decodeEtherType(ETHERTYPE_IPV6, f, off + IPNET_HEADER, end, out, st);
}
