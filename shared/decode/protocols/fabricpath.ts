// Cisco FabricPath (EtherType 0x8903): the outer switch addresses and the EtherType
// are followed by a 2-byte FTag/TTL, then the host's original Ethernet frame. The
// host frame's MAC addresses are the ones that name endpoints, so they replace the
// outer (switch) ones, as Zeek and Wireshark report them.
import type { DecodedPacket } from '../decoded-packet.js';
import { markShort, type DecodeState } from '../decode-state.js';
import { decodeEthernet } from './ethernet.js';

const FTAG_TTL = 2;

export function decodeFabricPath(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < FTAG_TTL) {
    markShort(out, st, off + FTAG_TTL, 'fabricpath: header cut short');
    return;
  }
  if (st.tunnelDepth === 0) forgetMacFacts(out); // inside a tunnel the outer frame's MACs stay
  decodeEthernet(f, off + FTAG_TTL, end, out, st);
}

/** Lets the next Ethernet header supply the MAC offsets and broadcast/multicast flags. */
export function forgetMacFacts(out: DecodedPacket): void {
  out.dstMacOff = -1;
  out.srcMacOff = -1;
  out.l2Flags = 0;
}
