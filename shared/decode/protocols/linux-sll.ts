// Linux "cooked" captures (any-interface captures): SLL (link type 113, 16-byte
// header) and SLL2 (276, 20-byte header). The packet type says whether the frame
// was broadcast/multicast; the address field is the sender's link address.
import { L2Flag, type DecodedPacket } from '../decoded-packet.js';
import { markShort, type DecodeState } from '../decode-state.js';
import { decodeEtherType } from '../dispatch.js';
import { u16 } from '../read-bytes.js';
import { decodeLlc } from './ethernet.js';

const PACKET_BROADCAST = 1;
const PACKET_MULTICAST = 2;
const ARPHRD_NETLINK = 824;
/** SLL protocol value meaning "802.2 LLC frame follows" */
const LINUX_SLL_P_802_2 = 0x0004;
/** protocol values below this are Linux packet types (ETH_P_802_2, ...), not EtherTypes */
const MIN_ETHERTYPE = 0x0600;

function decodeCooked(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState, pktType: number, hatype: number, addrLen: number, addrOff: number, proto: number): void {
  if (pktType === PACKET_BROADCAST) out.l2Flags |= L2Flag.Broadcast | L2Flag.Multicast;
  else if (pktType === PACKET_MULTICAST) out.l2Flags |= L2Flag.Multicast;
  if (addrLen === 6) out.srcMacOff = addrOff;
  if (hatype === ARPHRD_NETLINK) return; // netlink messages, not network packets
  if (proto >= MIN_ETHERTYPE) decodeEtherType(proto, f, off, end, out, st);
  else if (proto === LINUX_SLL_P_802_2) decodeLlc(f, off, end, out, st);
}

export function decodeSll(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < 16) {
    markShort(out, st, off + 16, 'sll: frame shorter than its header');
    return;
  }
  decodeCooked(f, off + 16, end, out, st, u16(f, off), u16(f, off + 2), u16(f, off + 4), off + 6, u16(f, off + 14));
}

export function decodeSll2(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < 20) {
    markShort(out, st, off + 20, 'sll2: frame shorter than its header');
    return;
  }
  decodeCooked(f, off + 20, end, out, st, f[off + 10]!, u16(f, off + 8), f[off + 11]!, off + 12, u16(f, off));
}
