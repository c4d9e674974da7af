// Geneve (UDP 6081): 8-byte header plus variable options, then the protocol its
// EtherType field names (usually 0x6558, an Ethernet frame).
import { TunnelKind } from '../../packet/packet-record.js';
import type { DecodedPacket } from '../decoded-packet.js';
import type { DecodeState } from '../decode-state.js';
import { u16 } from '../read-bytes.js';
import { enterTunnel } from '../tunnel.js';

export function decodeGeneve(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < 8 || f[off]! >> 6 !== 0) return; // version 0 only
  const hl = 8 + ((f[off]! & 0x3f) << 2);
  enterTunnel(TunnelKind.Geneve, u16(f, off + 2), f, off + hl, end, out, st);
}
