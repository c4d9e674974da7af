// GRE (IP protocol 47, and GRE-in-UDP on port 4754): version 0 (RFC 2784/2890,
// optional checksum, key, sequence and the old source-route entries) and version 1
// (PPTP, PPP inside). The protocol type is an EtherType; ERSPAN I/II/III and Cisco
// MetaData and WCCP redirect headers are stepped over to reach the frame they carry,
// and Aruba's protocol types carry an 802.11 frame.
import { TunnelKind } from '../../packet/packet-record.js';
import type { DecodedPacket } from '../decoded-packet.js';
import { markShort, type DecodeState } from '../decode-state.js';
import { setPayload } from '../dispatch.js';
import { ETHERTYPE_CISCO_METADATA, ETHERTYPE_ERSPAN_1_2, ETHERTYPE_ERSPAN_3, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_TEB, ETHERTYPE_WCCP } from '../protocol-numbers.js';
import { u16 } from '../read-bytes.js';
import { enterTunnel, enterTunnelWith } from '../tunnel.js';
import { decodeIeee80211 } from './ieee80211.js';

const GRE_C = 0x8000;
const GRE_R = 0x4000;
const GRE_K = 0x2000;
const GRE_S = 0x1000;
const GRE_A = 0x0080; // PPTP acknowledgment number present
const ERSPAN_2_HEADER = 8;
const ERSPAN_3_HEADER = 12;
const ERSPAN_3_PLATFORM_SUBHEADER = 8;
/** ERSPAN III frame type field: 0 Ethernet, 2 IP (IPv4 or IPv6 by its first nibble) */
const ERSPAN_3_FT_IP = 2;
const CISCO_METADATA_HEADER = 8;
const WCCP_REDIRECT_HEADER = 4;
const ARUBA_PROTO_FIRST = 0x8200;
const ARUBA_PROTO_LAST = 0x8370;
const ARUBA_PROTO_9000 = 0x9000;

/** Over IP: the bytes after the GRE header are the record's payload, and the tunnel's inside. */
export function decodeGre(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  decodeGreHeader(f, off, end, out, st, true);
}

/** GRE in UDP (RFC 8086): the UDP record keeps its payload; the GRE payload is the tunnel's inside. */
export function decodeGreInUdp(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  decodeGreHeader(f, off, end, out, st, false);
}

/** The GRE header at off, then (when tunnels are decoded) what it carries. One function: this is a hot path. */
function decodeGreHeader(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState, payload: boolean): void {
  if (end - off < 4) {
    markShort(out, st, off + 4, 'gre: header cut short');
    return;
  }
  const flags = u16(f, off);
  let proto = u16(f, off + 2);
  const version = flags & 7;
  let hl = 4;
  if (version === 0) {
    if ((flags & (GRE_C | GRE_R)) !== 0) hl += 4;
    if ((flags & GRE_K) !== 0) hl += 4;
    if ((flags & GRE_S) !== 0) hl += 4;
    if ((flags & GRE_R) !== 0) {
      // source route entries: family(2) offset(1) length(1) data, until a NUL entry
      for (;;) {
        if (off + hl + 4 > end) {
          markShort(out, st, off + hl + 4, 'gre: routing cut short');
          return;
        }
        const sreLen = f[off + hl + 3]!;
        const family = u16(f, off + hl);
        hl += 4 + sreLen;
        if (family === 0 && sreLen === 0) break;
      }
    }
  } else if (version === 1) {
    hl = 8; // PPTP: payload length and call id always present
    if ((flags & GRE_S) !== 0) hl += 4;
    if ((flags & GRE_A) !== 0) hl += 4;
  } else {
    if (payload) setPayload(f, off + 4, end, out, st); // an unknown version: its header length is unknown
    return;
  }
  if (off + hl > end) {
    markShort(out, st, off + hl, 'gre: header cut short');
    return;
  }
  let o = off + hl;
  if (payload) setPayload(f, o, end, out, st);
  if (!st.innerTunnels) return;
  switch (proto) {
    case ETHERTYPE_ERSPAN_1_2:
      if ((flags & GRE_S) !== 0) o += ERSPAN_2_HEADER; // type II header; type I has none
      proto = ETHERTYPE_TEB;
      break;
    case ETHERTYPE_ERSPAN_3: {
      if (end - o < ERSPAN_3_HEADER) return;
      const ft = (f[o + 10]! >> 2) & 0x1f;
      o += (f[o + 11]! & 1) !== 0 ? ERSPAN_3_HEADER + ERSPAN_3_PLATFORM_SUBHEADER : ERSPAN_3_HEADER;
      if (ft === ERSPAN_3_FT_IP) {
        if (o >= end) return;
        proto = f[o]! >> 4 === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
      } else {
        proto = ETHERTYPE_TEB;
      }
      break;
    }
    case ETHERTYPE_CISCO_METADATA:
      // in GRE the CMD header starts with the payload EtherType, then version, length, option, SGT
      if (end - o < CISCO_METADATA_HEADER) return;
      proto = u16(f, o);
      o += CISCO_METADATA_HEADER;
      break;
    case ETHERTYPE_WCCP:
      // WCCPv2 puts a 4-byte redirect header before the IPv4 packet, WCCPv1 does not
      if (o < end && f[o]! >> 4 !== 4) o += WCCP_REDIRECT_HEADER;
      proto = ETHERTYPE_IPV4;
      break;
    default:
      if (proto >= ARUBA_PROTO_FIRST && isArubaProtocol(proto)) {
        enterTunnelWith(TunnelKind.Gre, decodeIeee80211, f, o, end, out, st);
        return;
      }
      break;
  }
  enterTunnel(TunnelKind.Gre, proto, f, o, end, out, st);
}

/** Aruba access points tunnel 802.11 frames in GRE with these protocol types (as Zeek recognises them). */
function isArubaProtocol(p: number): boolean {
  return ((p & 0xff0f) === 0x8200) || ((p & 0xff0f) === 0x8300 && p <= ARUBA_PROTO_LAST) || p === ARUBA_PROTO_9000;
}
