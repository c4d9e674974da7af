// Ethernet II and IEEE 802.3 (with LLC/SNAP) framing. The first Ethernet header
// of a frame supplies the MAC offsets and broadcast/multicast flags.
import { L2Flag, type DecodedPacket } from '../decoded-packet.js';
import { markShort, type DecodeState } from '../decode-state.js';
import { decodeEtherType } from '../dispatch.js';
import { u16 } from '../read-bytes.js';

const ETHER_HEADER = 14;
/** type field values from here on are EtherTypes; up to 1500 they are 802.3 lengths */
const MIN_ETHERTYPE = 0x0600;
const MAX_8023_LENGTH = 1500;

export function decodeEthernet(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < ETHER_HEADER) {
    markShort(out, st, off + ETHER_HEADER, 'ethernet: frame shorter than its header');
    return;
  }
  if (out.dstMacOff < 0) setMacFacts(f, off, off + 6, out);
  const type = u16(f, off + 12);
  if (type >= MIN_ETHERTYPE) decodeEtherType(type, f, off + ETHER_HEADER, end, out, st);
  else if (type <= MAX_8023_LENGTH) {
    // 802.3: the field is the LLC frame length; anything past it is padding
    const llcEnd = off + ETHER_HEADER + type;
    decodeLlc(f, off + ETHER_HEADER, llcEnd < end ? llcEnd : end, out, st);
  }
}

/** MAC offsets and group/broadcast flags for the first L2 header of the frame. */
export function setMacFacts(f: Uint8Array, dstOff: number, srcOff: number, out: DecodedPacket): void {
  out.dstMacOff = dstOff;
  out.srcMacOff = srcOff;
  if ((f[dstOff]! & 1) !== 0) {
    out.l2Flags |= L2Flag.Multicast;
    if ((f[dstOff]! & f[dstOff + 1]! & f[dstOff + 2]! & f[dstOff + 3]! & f[dstOff + 4]! & f[dstOff + 5]!) === 0xff) out.l2Flags |= L2Flag.Broadcast;
  }
}

/**
 * IEEE 802.2 LLC: only SNAP (AA AA 03, then an EtherType OUI and EtherType) carries protocols
 * we decode; other SAPs (STP, CDP, NetBIOS...) end the decode with etherType 0.
 */
export function decodeLlc(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < 3) {
    markShort(out, st, off + 3, 'llc: header cut short');
    return;
  }
  if (f[off] !== 0xaa || f[off + 1] !== 0xaa || f[off + 2] !== 0x03) return;
  if (end - off < 8) {
    markShort(out, st, off + 8, 'llc: SNAP header cut short');
    return;
  }
  // OUI 00-00-00 (RFC 1042) or 00-00-F8 (802.1H): the PID is an EtherType
  if (f[off + 3] !== 0 || f[off + 4] !== 0 || (f[off + 5] !== 0 && f[off + 5] !== 0xf8)) return;
  decodeEtherType(u16(f, off + 6), f, off + 8, end, out, st);
}
