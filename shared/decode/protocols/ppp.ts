// PPP framing: raw PPP (link type 9), PPP in HDLC-like framing (50), PPP with a
// direction byte (204), Cisco HDLC (104), and PPPoE sessions (EtherType 0x8864,
// or link type 51 without Ethernet). PPP protocol numbers map onto EtherTypes.
import type { DecodedPacket } from '../decoded-packet.js';
import { markShort, type DecodeState } from '../decode-state.js';
import { decodeEtherType } from '../dispatch.js';
import { u16 } from '../read-bytes.js';
import { EtherType } from '../ether-types.js';

/** The EtherType carrying the same protocol as PPP protocol p, or 0. */
function pppToEtherType(p: number): number {
  switch (p) {
    case 0x0021: return EtherType.Ipv4;
    case 0x0057: return EtherType.Ipv6;
    case 0x0281: return EtherType.MplsUnicast;
    case 0x0283: return EtherType.MplsMulticast;
    default: return 0;
  }
}

/** A PPP frame: optional FF 03 address/control, then a 1- or 2-byte protocol. */
export function decodePpp(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  let o = off;
  if (end - o >= 2 && f[o] === 0xff && f[o + 1] === 0x03) o += 2;
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
  if (end - off >= 1 && (f[off] === 0x0f || f[off] === 0x8f)) decodeCiscoHdlc(f, off, end, out, st);
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

/** Cisco HDLC (link type 104): address, control, EtherType. */
export function decodeCiscoHdlc(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < 4) {
    markShort(out, st, off + 4, 'chdlc: header cut short');
    return;
  }
  decodeEtherType(u16(f, off + 2), f, off + 4, end, out, st);
}

/** PPPoE session stage: 6-byte PPPoE header (its length bounds the PPP frame), then PPP. */
export function decodePppoeSession(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < 8) {
    markShort(out, st, off + 8, 'pppoe: header cut short');
    return;
  }
  const pppEnd = off + 6 + u16(f, off + 4);
  decodePpp(f, off + 6, pppEnd < end ? pppEnd : end, out, st);
}
