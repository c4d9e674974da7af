// PPPoE (RFC 2516): the discovery stage (EtherType 0x8863: PADI/PADO/PADR/PADS/PADT,
// no network packet inside) and the session stage (0x8864, or link type 51 without
// Ethernet): a 6-byte header whose length field bounds the PPP frame that follows.
// Both also appear inside 802.1Q / 802.1ad (Q-in-Q) tags, through the VLAN decoder.
import type { DecodedPacket } from '../decoded-packet.js';
import { markShort, type DecodeState } from '../decode-state.js';
import { u16 } from '../read-bytes.js';
import { decodePpp } from './ppp.js';

const PPPOE_HEADER = 6;

/** Discovery: the header must be there; the tags that follow carry no packet to decode. */
export function decodePppoeDiscovery(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < PPPOE_HEADER) markShort(out, st, off + PPPOE_HEADER, 'pppoe: discovery header cut short');
}

/** Session: header, then a PPP frame of the declared length (2-byte protocol, no address/control). */
export function decodePppoeSession(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < PPPOE_HEADER + 2) {
    markShort(out, st, off + PPPOE_HEADER + 2, 'pppoe: header cut short');
    return;
  }
  const pppEnd = off + PPPOE_HEADER + u16(f, off + 4);
  decodePpp(f, off + PPPOE_HEADER, pppEnd < end ? pppEnd : end, out, st);
}
