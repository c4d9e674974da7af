// Teredo (UDP 3544, RFC 4380): IPv6 in UDP, optionally preceded by an
// authentication and/or an origin indication header.
import { TunnelKind } from '../../packet/packet-record.js';
import type { DecodedPacket } from '../decoded-packet.js';
import type { DecodeState } from '../decode-state.js';
import { ETHERTYPE_IPV6 } from '../protocol-numbers.js';
import { enterTunnel } from '../tunnel.js';

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
