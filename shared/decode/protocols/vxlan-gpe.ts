// VXLAN Generic Protocol Extension (UDP 4790): the VXLAN header with a next-protocol
// byte (P flag): IPv4, IPv6, Ethernet, NSH or MPLS; without the P flag, Ethernet.
import { TunnelKind } from '../../packet/packet-record.js';
import type { DecodedPacket } from '../decoded-packet.js';
import type { DecodeState } from '../decode-state.js';
import { ETHERTYPE_TEB } from '../protocol-numbers.js';
import { enterTunnel } from '../tunnel.js';
import { nextProtocolToEtherType } from './nsh.js';

const HEADER = 8;
const FLAG_P = 0x04;

export function decodeVxlanGpe(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < HEADER) return;
  const et = (f[off]! & FLAG_P) !== 0 ? nextProtocolToEtherType(f[off + 3]!) : ETHERTYPE_TEB;
  if (et !== 0) enterTunnel(TunnelKind.VxlanGpe, et, f, off + HEADER, end, out, st);
}
