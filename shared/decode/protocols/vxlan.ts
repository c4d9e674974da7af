// VXLAN (UDP 4789): an 8-byte header whose I flag marks a valid VNI, then an Ethernet frame.
import { TunnelKind } from '../../packet/packet-record.js';
import type { DecodedPacket } from '../decoded-packet.js';
import type { DecodeState } from '../decode-state.js';
import { ETHERTYPE_TEB } from '../protocol-numbers.js';
import { enterTunnel } from '../tunnel.js';

export function decodeVxlan(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < 8 || (f[off]! & 0x08) === 0) return;
  enterTunnel(TunnelKind.Vxlan, ETHERTYPE_TEB, f, off + 8, end, out, st);
}
