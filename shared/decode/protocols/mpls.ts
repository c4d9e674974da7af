// MPLS label stacks (unicast 0x8847, multicast 0x8848). MPLS does not say what it
// carries: after the bottom label a first nibble of 4/6 means IPv4/IPv6, and 0
// means a pseudowire control word followed by an Ethernet frame.
import type { DecodedPacket } from '../decoded-packet.js';
import { markMalformed, markShort, type DecodeState } from '../decode-state.js';
import { decodeEtherType } from '../dispatch.js';
import { EtherType } from '../ether-types.js';

const MAX_LABELS = 16;

export function decodeMpls(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  let o = off;
  for (let n = 0; ; n++) {
    if (n === MAX_LABELS) {
      markMalformed(out, 'mpls: label stack deeper than 16');
      return;
    }
    if (end - o < 4) {
      markShort(out, st, o + 4, 'mpls: label stack cut short');
      return;
    }
    out.mplsDepth++;
    const bottom = f[o + 2]! & 1;
    o += 4;
    if (bottom !== 0) break;
  }
  if (o >= end) {
    markShort(out, st, o + 1, 'mpls: no payload after label stack');
    return;
  }
  const nibble = f[o]! >> 4;
  if (nibble === 4) decodeEtherType(EtherType.Ipv4, f, o, end, out, st);
  else if (nibble === 6) decodeEtherType(EtherType.Ipv6, f, o, end, out, st);
  else if (nibble === 0 && end - o >= 4) decodeEtherType(EtherType.TransparentEthernet, f, o + 4, end, out, st);
}
