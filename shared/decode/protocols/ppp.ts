// PPP framing: raw PPP (link type 9), PPP in HDLC-like framing (50), PPP with a
// direction byte (204), and the PPP frame inside PPPoE sessions and PPTP (GRE).
// PPP protocol numbers map onto EtherTypes.
import type { DecodedPacket } from '../decoded-packet.js';
import { markShort, type DecodeState } from '../decode-state.js';
import { decodeEtherType } from '../dispatch.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_MPLS, ETHERTYPE_MPLS_MULTICAST } from '../protocol-numbers.js';
import { u16 } from '../read-bytes.js';
import { decodeCiscoHdlc } from './cisco-hdlc.js';

const PPP_IPV4 = 0x0021;
const PPP_IPV6 = 0x0057;
const PPP_MPLS = 0x0281;
const PPP_MPLS_MULTICAST = 0x0283;
const HDLC_ADDRESS_ALL = 0xff;
const HDLC_CONTROL_UI = 0x03;
const CHDLC_UNICAST = 0x0f;
const CHDLC_BROADCAST = 0x8f;

/** The EtherType carrying the same protocol as PPP protocol p, or 0. */
export function pppToEtherType(p: number): number {
  switch (p) {
    case PPP_IPV4: return ETHERTYPE_IPV4;
    case PPP_IPV6: return ETHERTYPE_IPV6;
    case PPP_MPLS: return ETHERTYPE_MPLS;
    case PPP_MPLS_MULTICAST: return ETHERTYPE_MPLS_MULTICAST;
    default: return 0;
  }
}

/** A PPP frame: optional FF 03 address/control, then a 1- or 2-byte protocol. */
export function decodePpp(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  let o = off;
  if (end - o >= 2 && f[o] === HDLC_ADDRESS_ALL && f[o + 1] === HDLC_CONTROL_UI) o += 2;
  if (o >= end) {
    markShort(out, st, o + 1, 'ppp: header cut short');
    return;
  }
  let proto: number;
  if ((f[o]! & 1) !== 0) {
    proto = f[o]!; // protocol-field compression: odd first byte is the whole protocol
    o += 1;
  } else {
    if (end - o < 2) {
      markShort(out, st, o + 2, 'ppp: protocol cut short');
      return;
    }
    proto = u16(f, o);
    o += 2;
  }
  const et = pppToEtherType(proto);
  if (et !== 0) decodeEtherType(et, f, o, end, out, st);
}

/** Link type 50: PPP in HDLC-like framing, or Cisco HDLC (address 0x0F/0x8F) on the same link. */
export function decodePppSerial(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off >= 1 && (f[off] === CHDLC_UNICAST || f[off] === CHDLC_BROADCAST)) decodeCiscoHdlc(f, off, end, out, st);
  else decodePpp(f, off, end, out, st);
}

/** Link type 204: one direction byte, then PPP. */
export function decodePppWithDirection(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < 1) {
    markShort(out, st, off + 1, 'ppp: header cut short');
    return;
  }
  decodePpp(f, off + 1, end, out, st);
}
