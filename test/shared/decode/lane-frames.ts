// Arbitrary frames of the decoder fast lane's kind (fast-check): Ethernet, an optional 802.1Q
// tag, IPv4 with options and flags, TCP with options or UDP, any field values.
import fc from 'fast-check';
import { concat, ethernet, ipv4, tcp, udp, vlanTag } from './frame-builder.js';

/** An arbitrary frame of the lane's kind: Ethernet, optional VLAN, IPv4 (options, flags), TCP (options) or UDP. */
export const builtFrame = fc.record({
  dstMac: fc.constantFrom('02:00:00:00:00:0b', 'ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:fb', '33:33:00:00:00:01'),
  vlan: fc.option(fc.nat(0xffff), { nil: undefined }),
  src: fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)),
  dst: fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)),
  id: fc.nat(0xffff),
  ttl: fc.nat(255),
  df: fc.boolean(),
  ipOptions: fc.array(fc.nat(255), { maxLength: 12 }),
  udp: fc.boolean(),
  sport: fc.nat(0xffff),
  dport: fc.constantFrom(80, 443, 53, 4789, 6081, 3544, 2152, 1234, 65535),
  seq: fc.nat(0xffffffff),
  ack: fc.nat(0xffffffff),
  flags: fc.nat(255),
  window: fc.nat(0xffff),
  tcpOptions: fc.oneof(
    fc.array(fc.nat(255), { maxLength: 40 }),
    fc.constant<number[]>([2, 4, 5, 180, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 3, 3, 7]),
    fc.constant<number[]>([1, 1, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1]),
  ),
  payload: fc.uint8Array({ maxLength: 80 }),
});

export type BuiltFrame = typeof builtFrame extends fc.Arbitrary<infer T> ? T : never;

export function build(b: BuiltFrame): Uint8Array {
  const l4 = b.udp ? udp(b.sport, b.dport, b.payload) : tcp({ sport: b.sport, dport: b.dport, seq: b.seq, ack: b.ack, flags: b.flags, window: b.window, options: b.tcpOptions }, b.payload);
  const opts = [...b.ipOptions];
  while (opts.length % 4 !== 0) opts.push(1);
  const ip = ipv4({ src: b.src.join('.'), dst: b.dst.join('.'), proto: b.udp ? 17 : 6, id: b.id, ttl: b.ttl, df: b.df, options: opts }, l4);
  return b.vlan === undefined ? ethernet(0x0800, ip, b.dstMac) : ethernet(0x8100, concat(vlanTag(b.vlan & 0x0fff, 0x0800, b.vlan >> 13), ip), b.dstMac);
}
