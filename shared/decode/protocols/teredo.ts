// Teredo (UDP 3544, RFC 4380): IPv6 in UDP, optionally preceded by an
// authentication and/or an origin indication header; on other ports when it looks
// like Teredo (looksLikeTeredo).
import { TunnelKind } from '../../packet/packet-record.js';
import type { DecodedPacket } from '../decoded-packet.js';
import type { DecodeState } from '../decode-state.js';
import { ETHERTYPE_IPV6 } from '../protocol-numbers.js';
import { u16, u32 } from '../read-bytes.js';
import { enterTunnel } from '../tunnel.js';

const TEREDO_PREFIX = 0x20010000; // 2001:0::/32

/**
 * Teredo between a client and a relay uses neither side's 3544: an IPv6 packet that
 * fills the UDP payload exactly, from or to a Teredo address, is taken for one (Zeek
 * finds these by protocol detection; the exact length and prefix keep other UDP out).
 */
export function looksLikeTeredo(f: Uint8Array, o: number, end: number, udpPayloadLen: number): boolean {
  if (udpPayloadLen < 40 || end - o < 40 || f[o]! >> 4 !== 6) return false;
  if (40 + u16(f, o + 4) !== udpPayloadLen) return false;
  return u32(f, o + 8) === TEREDO_PREFIX || u32(f, o + 24) === TEREDO_PREFIX;
}

export function decodeTeredo(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  let o = off;
  if (end - o >= 4 && f[o] === 0 && f[o + 1] === 1) {
    // authentication: client id length, auth value length, then id, value, 8-byte nonce, confirmation byte
    o += 4 + f[o + 2]! + f[o + 3]! + 9;
  }
  if (end - o >= 8 && f[o] === 0 && f[o + 1] === 0) o += 8; // origin indication
  if (o >= end || f[o]! >> 4 !== 6) return; // bubbles and non-Teredo traffic on the port
  enterTunnel(TunnelKind.Teredo, ETHERTYPE_IPV6, f, o, end, out, st);
}
