// IEEE 802.1Q / 802.1ad VLAN tags (any stack depth): the innermost VLAN id wins.
import type { DecodedPacket } from '../decoded-packet.js';
import { markShort, type DecodeState } from '../decode-state.js';
import { decodeEtherType } from '../dispatch.js';
import { u16 } from '../read-bytes.js';

export function decodeVlan(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < 4) {
    markShort(out, st, off + 4, 'vlan: tag cut short');
    return;
  }
  out.vlan = u16(f, off) & 0x0fff;
  out.vlanDepth++;
  decodeEtherType(u16(f, off + 2), f, off + 4, end, out, st);
}
