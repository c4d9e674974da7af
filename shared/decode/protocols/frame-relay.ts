// Frame Relay (link type 107, 206 with a direction byte; EtherType 0x6559 in GRE):
// a Q.922 address of 2-4 bytes (the EA bit ends it), then either RFC 2427 multiprotocol
// encapsulation (control 0x03, optional 0x00 pad, NLPID: IPv4, IPv6 or SNAP) or the
// Cisco encapsulation (an EtherType right after the address).
import type { DecodedPacket } from '../decoded-packet.js';
import { markMalformed, markShort, type DecodeState } from '../decode-state.js';
import { decodeEtherType } from '../dispatch.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_TEB } from '../protocol-numbers.js';
import { u16 } from '../read-bytes.js';

const CONTROL_UI = 0x03;
const NLPID_PAD = 0x00;
const NLPID_SNAP = 0x80;
const NLPID_IPV4 = 0xcc;
const NLPID_IPV6 = 0x8e;
const OUI_IEEE_802_1 = 0x0080c2; // bridged frames
const BRIDGED_ETHERNET_FCS = 0x0001;
const BRIDGED_ETHERNET = 0x0007;

export function decodeFrameRelay(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  // Q.922 address: the extended-address bit (bit 0) marks its last byte
  let o = off;
  for (;;) {
    if (o >= end) {
      markShort(out, st, o + 1, 'frame relay: address cut short');
      return;
    }
    if ((f[o++]! & 1) !== 0) break;
    if (o - off === 4) {
      markMalformed(out, 'frame relay: address longer than 4 bytes');
      return;
    }
  }
  if (o - off < 2) {
    markMalformed(out, 'frame relay: address shorter than 2 bytes');
    return;
  }
  if (end - o < 2) {
    markShort(out, st, o + 2, 'frame relay: header cut short');
    return;
  }
  if (f[o] !== CONTROL_UI) {
    decodeEtherType(u16(f, o), f, o + 2, end, out, st); // Cisco encapsulation
    return;
  }
  o++;
  if (f[o] === NLPID_PAD) o++;
  if (o >= end) {
    markShort(out, st, o + 1, 'frame relay: NLPID cut short');
    return;
  }
  const nlpid = f[o++]!;
  if (nlpid === NLPID_IPV4) decodeEtherType(ETHERTYPE_IPV4, f, o, end, out, st);
  else if (nlpid === NLPID_IPV6) decodeEtherType(ETHERTYPE_IPV6, f, o, end, out, st);
  else if (nlpid === NLPID_SNAP) decodeSnap(f, o, end, out, st);
}

/** SNAP after NLPID 0x80: OUI 00-00-00 names an EtherType; OUI 00-80-C2 a bridged frame. */
function decodeSnap(f: Uint8Array, o: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - o < 5) {
    markShort(out, st, o + 5, 'frame relay: SNAP header cut short');
    return;
  }
  const oui = (f[o]! << 16) | (f[o + 1]! << 8) | f[o + 2]!;
  const pid = u16(f, o + 3);
  if (oui === 0) decodeEtherType(pid, f, o + 5, end, out, st);
  else if (oui === OUI_IEEE_802_1 && (pid === BRIDGED_ETHERNET || pid === BRIDGED_ETHERNET_FCS)) {
    // bridged Ethernet: the MAC frame follows (its FCS, if any, is left as trailer)
    decodeEtherType(ETHERTYPE_TEB, f, o + 5, end, out, st);
  }
}

/** Link type 206: one direction byte, then Frame Relay. */
export function decodeFrameRelayWithDirection(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < 1) {
    markShort(out, st, off + 1, 'frame relay: header cut short');
    return;
  }
  decodeFrameRelay(f, off + 1, end, out, st);
}
