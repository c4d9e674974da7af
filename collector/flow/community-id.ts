// Community ID v1 flow hashing (corelight/community-id-spec): SHA-1 over
// seed(2) . addrLo . addrHi . proto(1) . 0(1) [. portLo(2) . portHi(2)], base64, "1:" prefix.
// The endpoint holding the numerically smaller address:port is hashed first; ICMP
// type/code become ports by the spec's table, and one-way ICMP types keep their order.
// Computed once per flow, not per packet.
import * as nodeCrypto from 'node:crypto';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '../../shared/packet/packet-record.js';
import { communityIdIcmpCounterpart } from './icmp-pairs.js';

const buf = new Uint8Array(2 + 16 + 16 + 2 + 4);

// crypto.hash (one-shot, about 3x cheaper) exists from Node 20.12; fall back to createHash
const oneShot = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, enc: 'base64') => string }).hash;

function sha1Base64(data: Uint8Array): string {
  return oneShot !== undefined ? oneShot('sha1', data, 'base64') : nodeCrypto.createHash('sha1').update(data).digest('base64');
}

function compareEndpoints(len: number, a: Uint8Array, pa: number, b: Uint8Array, pb: number): number {
  for (let i = 0; i < len; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return pa - pb;
}

/**
 * Community ID v1 of a flow given one packet's view of it.
 * For ICMP/ICMPv6 pass the message type as sport and the code as dport.
 * Addresses use the PacketRecord layout (IPv4 in bytes 0..3 of 16).
 */
export function communityId(
  ipVersion: number,
  src: Uint8Array,
  dst: Uint8Array,
  proto: number,
  sport: number,
  dport: number,
  seed = 0,
): string {
  const alen = ipVersion === 6 ? 16 : 4;
  let hasPorts = proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP;
  let oneWay = false;
  if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) {
    hasPorts = true;
    const counterpart = communityIdIcmpCounterpart(proto === IPPROTO_ICMPV6, sport);
    if (counterpart < 0) oneWay = true; // keep (type, code) and the packet's direction
    else dport = counterpart;
  }
  if (!hasPorts) { sport = 0; dport = 0; }
  let swap = false;
  if (!oneWay) swap = compareEndpoints(alen, src, sport, dst, dport) > 0;
  const a = swap ? dst : src;
  const b = swap ? src : dst;
  const pa = swap ? dport : sport;
  const pb = swap ? sport : dport;
  let o = 0;
  buf[o++] = (seed >>> 8) & 0xff;
  buf[o++] = seed & 0xff;
  for (let i = 0; i < alen; i++) buf[o++] = a[i]!;
  for (let i = 0; i < alen; i++) buf[o++] = b[i]!;
  buf[o++] = proto & 0xff;
  buf[o++] = 0;
  if (hasPorts) {
    buf[o++] = (pa >>> 8) & 0xff;
    buf[o++] = pa & 0xff;
    buf[o++] = (pb >>> 8) & 0xff;
    buf[o++] = pb & 0xff;
  }
  return '1:' + sha1Base64(buf.subarray(0, o));
}
