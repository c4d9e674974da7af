// Cisco VN-Tag (EtherType 0x8926, IEEE 802.1Qbh): a 4-byte tag (direction, pointer,
// destination and source virtual interfaces), then the EtherType of what follows.
import type { DecodedPacket } from '../decoded-packet.js';
import { markShort, type DecodeState } from '../decode-state.js';
import { decodeEtherType } from '../dispatch.js';
import { u16 } from '../read-bytes.js';

const VNTAG = 4;

export function decodeVnTag(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < VNTAG + 2) {
    markShort(out, st, off + VNTAG + 2, 'vntag: tag cut short');
    return;
  }
  decodeEtherType(u16(f, off + VNTAG), f, off + VNTAG + 2, end, out, st);
}
