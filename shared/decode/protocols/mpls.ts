// MPLS label stacks (EtherTypes 0x8847/0x8848, link type 219, PPP, GRE, and as a
// tunnel in IP protocol 137 or UDP port 6635). MPLS does not say what it carries;
// after the bottom label the first nibble decides (RFC 4928, RFC 4385):
// 4 / 6 an IPv4 / IPv6 packet when its header fits what follows, 0 a pseudowire control
// word then an Ethernet frame; an Ethernet pseudowire without control word is taken
// when the bytes look like an Ethernet header (a known EtherType at offset 12).
import { TunnelKind } from '../../packet/packet-record.js';
import type { DecodedPacket } from '../decoded-packet.js';
import { markMalformed, markShort, type DecodeState } from '../decode-state.js';
import { decodeEtherType, setPayload } from '../dispatch.js';
import {
  ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_MPLS, ETHERTYPE_MPLS_MULTICAST, ETHERTYPE_QINQ, ETHERTYPE_TEB, ETHERTYPE_VLAN,
} from '../protocol-numbers.js';
import { u16 } from '../read-bytes.js';
import { enterTunnel } from '../tunnel.js';

const MAX_LABELS = 16;
const CONTROL_WORD = 4;
const ETHER_HEADER = 14;

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
  if (nibble === 4 && ipv4Fits(f, o, end, st)) decodeEtherType(ETHERTYPE_IPV4, f, o, end, out, st);
  else if (nibble === 6 && ipv6Fits(f, o, end, st)) decodeEtherType(ETHERTYPE_IPV6, f, o, end, out, st);
  else if (nibble === 0 && looksLikeEthernet(f, o + CONTROL_WORD, end)) decodeEtherType(ETHERTYPE_TEB, f, o + CONTROL_WORD, end, out, st);
  else if (looksLikeEthernet(f, o, end)) decodeEtherType(ETHERTYPE_TEB, f, o, end, out, st);
  else if (nibble === 4) decodeEtherType(ETHERTYPE_IPV4, f, o, end, out, st); // a damaged IPv4 packet: decoded and flagged
  else if (nibble === 6) decodeEtherType(ETHERTYPE_IPV6, f, o, end, out, st);
}

/** An IPv4 header whose header and total lengths are consistent with the bytes after the stack. */
function ipv4Fits(f: Uint8Array, o: number, end: number, st: DecodeState): boolean {
  if (end - o < 4) return true; // too short to tell: decode as IPv4 (and flag what is missing)
  const total = u16(f, o + 2);
  return (f[o]! & 0x0f) >= 5 && total >= 20 && o + total <= declaredEnd(end, st);
}

/** An IPv6 header whose payload length fits the bytes after the stack. */
function ipv6Fits(f: Uint8Array, o: number, end: number, st: DecodeState): boolean {
  if (end - o < 6) return true;
  return o + 40 + u16(f, o + 4) <= declaredEnd(end, st);
}

/** Where the enclosing packet ends: the captured end, or beyond it when the capture was snapped. */
function declaredEnd(end: number, st: DecodeState): number {
  return st.capShort && st.declEnd > end ? st.declEnd : end;
}

/** An Ethernet header at o whose EtherType is one a pseudowire would carry. */
function looksLikeEthernet(f: Uint8Array, o: number, end: number): boolean {
  if (end - o < ETHER_HEADER) return false;
  const t = u16(f, o + 12);
  return t === ETHERTYPE_IPV4 || t === ETHERTYPE_IPV6 || t === ETHERTYPE_ARP || t === ETHERTYPE_VLAN || t === ETHERTYPE_QINQ ||
    t === ETHERTYPE_MPLS || t === ETHERTYPE_MPLS_MULTICAST;
}

/** MPLS in IP (protocol 137): the label stack is the tunnel payload. */
export function decodeMplsInIp(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  setPayload(f, off, end, out, st);
  enterTunnel(TunnelKind.Mpls, ETHERTYPE_MPLS, f, off, end, out, st);
}

/** MPLS in UDP (port 6635). */
export function decodeMplsInUdp(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  enterTunnel(TunnelKind.Mpls, ETHERTYPE_MPLS, f, off, end, out, st);
}
