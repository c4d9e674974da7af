// IP carried directly in IP: IPv4-in-IP (protocol 4) and IPv6-in-IP (41, "6in4"
// when the outer is IPv4).
import { TunnelKind } from '../../packet/packet-record.js';
import type { DecodedPacket } from '../decoded-packet.js';
import type { DecodeState } from '../decode-state.js';
import { setPayload } from '../dispatch.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../protocol-numbers.js';
import { enterTunnel } from '../tunnel.js';

export function decodeIpInIp(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  setPayload(f, off, end, out, st);
  enterTunnel(TunnelKind.IpInIp, ETHERTYPE_IPV4, f, off, end, out, st);
}

export function decodeSixInFour(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  setPayload(f, off, end, out, st);
  enterTunnel(TunnelKind.SixInFour, ETHERTYPE_IPV6, f, off, end, out, st);
}
