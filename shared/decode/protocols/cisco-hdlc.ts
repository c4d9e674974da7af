// Cisco HDLC (link type 104, and 205 with a direction byte in front): address
// (0x0F unicast, 0x8F broadcast), control, then an EtherType. SLARP (0x8035) and CDP
// carry no network packet.
import type { DecodedPacket } from '../decoded-packet.js';
import { markShort, type DecodeState } from '../decode-state.js';
import { decodeEtherType } from '../dispatch.js';
import { u16 } from '../read-bytes.js';

const CHDLC_HEADER = 4;
/** Cisco's serial line ARP reuses the RARP EtherType: keepalives, not a packet to decode */
const CHDLC_SLARP = 0x8035;

export function decodeCiscoHdlc(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < CHDLC_HEADER) {
    markShort(out, st, off + CHDLC_HEADER, 'chdlc: header cut short');
    return;
  }
  const proto = u16(f, off + 2);
  if (proto === CHDLC_SLARP) {
    out.etherType = proto;
    return;
  }
  decodeEtherType(proto, f, off + CHDLC_HEADER, end, out, st);
}

/** Link type 205: one direction byte (sent/received), then Cisco HDLC. */
export function decodeCiscoHdlcWithDirection(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < 1) {
    markShort(out, st, off + 1, 'chdlc: header cut short');
    return;
  }
  decodeCiscoHdlc(f, off + 1, end, out, st);
}
