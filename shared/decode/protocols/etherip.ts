// Ethernet carried directly in IP: EtherIP (IP protocol 97, RFC 3378: a 2-byte
// header with version 3) and IP protocol 143 (Ethernet, used by SRv6 L2 services),
// decoded as tunnels.
import { TunnelKind } from '../../packet/packet-record.js';
import type { DecodedPacket } from '../decoded-packet.js';
import type { DecodeState } from '../decode-state.js';
import { setPayload } from '../dispatch.js';
import { ETHERTYPE_TEB } from '../protocol-numbers.js';
import { enterTunnel } from '../tunnel.js';

const ETHERIP_HEADER = 2;
const ETHERIP_VERSION = 3;

export function decodeEtherIp(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  setPayload(f, off, end, out, st);
  if (end - off < ETHERIP_HEADER || f[off]! >> 4 !== ETHERIP_VERSION) return;
  enterTunnel(TunnelKind.EtherIp, ETHERTYPE_TEB, f, off + ETHERIP_HEADER, end, out, st);
}

export function decodeEthernetInIp(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  setPayload(f, off, end, out, st);
  enterTunnel(TunnelKind.EtherIp, ETHERTYPE_TEB, f, off, end, out, st);
}
