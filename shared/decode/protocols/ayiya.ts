// AYIYA, "Anything In Anything" (UDP 5072, SixXS tunnels): an 8-byte header whose
// length nibbles size the identity and signature that follow; "forward" messages
// (opcode 1) carry the packet its next-header field names (IPv4 or IPv6).
import { TunnelKind } from '../../packet/packet-record.js';
import type { DecodedPacket } from '../decoded-packet.js';
import type { DecodeState } from '../decode-state.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, IPPROTO_IPIP, IPPROTO_IPV6 } from '../protocol-numbers.js';
import { enterTunnel } from '../tunnel.js';

const HEADER = 8;
const OPCODE_FORWARD = 1;

export function decodeAyiya(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < HEADER) return;
  const identityLen = 1 << (f[off]! >> 4);
  const signatureLen = (f[off + 1]! >> 4) << 2;
  if ((f[off + 2]! & 0x0f) !== OPCODE_FORWARD) return; // echo, motd, query: no packet inside
  const next = f[off + 3]!;
  const et = next === IPPROTO_IPV6 ? ETHERTYPE_IPV6 : next === IPPROTO_IPIP ? ETHERTYPE_IPV4 : 0;
  if (et !== 0) enterTunnel(TunnelKind.Ayiya, et, f, off + HEADER + identityLen + signatureLen, end, out, st);
}
