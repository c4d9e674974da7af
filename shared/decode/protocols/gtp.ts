// GTP-U version 1 (UDP 2152): G-PDU messages (type 0xFF) carry a user IPv4/IPv6
// packet after the 8-byte header, the optional sequence/N-PDU/next-extension
// words and any extension headers. Other message types (echo, errors) stay outer.
import { TunnelKind } from '../../packet/packet-record.js';
import type { DecodedPacket } from '../decoded-packet.js';
import type { DecodeState } from '../decode-state.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../protocol-numbers.js';
import { enterTunnel } from '../tunnel.js';

const G_PDU = 0xff;

export function decodeGtpU(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < 8) return;
  const b0 = f[off]!;
  if (b0 >> 5 !== 1 || (b0 & 0x10) === 0 || f[off + 1] !== G_PDU) return; // version 1, protocol type GTP
  let o = off + 8;
  if ((b0 & 0x07) !== 0) {
    if (end - off < 12) return;
    let nextExt = f[off + 11]!;
    o = off + 12;
    while (nextExt !== 0) {
      if (o >= end) return;
      const len = f[o]! << 2;
      if (len === 0 || o + len > end) return;
      nextExt = f[o + len - 1]!;
      o += len;
    }
  }
  if (o >= end) return;
  const v = f[o]! >> 4;
  if (v === 4) enterTunnel(TunnelKind.Gtp, ETHERTYPE_IPV4, f, o, end, out, st);
  else if (v === 6) enterTunnel(TunnelKind.Gtp, ETHERTYPE_IPV6, f, o, end, out, st);
}
