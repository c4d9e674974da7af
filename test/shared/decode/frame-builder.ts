// Test helper: builds frames byte by byte for the cases the reference captures do
// not cover (each header written from its RFC layout, independently of the decoder).
import { parseIp } from '../../../shared/net/ip-address.js';

export function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function be16(v: number): number[] {
  return [(v >>> 8) & 0xff, v & 0xff];
}

export function be32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

export function mac(s: string): number[] {
  return s.split(':').map((h) => parseInt(h, 16));
}

function addr(s: string, len: 4 | 16): number[] {
  return Array.from(parseIp(s).bytes.subarray(0, len));
}

export const MAC_A = '02:00:00:00:00:0a';
export const MAC_B = '02:00:00:00:00:0b';

export function ethernet(type: number, payload: Uint8Array, dst = MAC_B, src = MAC_A): Uint8Array {
  return concat(mac(dst), mac(src), be16(type), payload);
}

/** A VLAN tag (TPID is written by the enclosing header): TCI then the inner EtherType. */
export function vlanTag(vid: number, innerType: number, pcp = 0): number[] {
  return [...be16((pcp << 13) | vid), ...be16(innerType)];
}

export interface Ipv4Opts {
  src: string;
  dst: string;
  proto: number;
  id?: number;
  ttl?: number;
  df?: boolean;
  mf?: boolean;
  /** bytes, multiple of 8 */
  fragOffset?: number;
  options?: number[];
  /** override the total length field */
  totalLength?: number;
  version?: number;
}

export function ipv4(o: Ipv4Opts, payload: Uint8Array): Uint8Array {
  const opts = o.options ?? [];
  const hl = 20 + opts.length;
  const total = o.totalLength ?? hl + payload.length;
  const ffo = (o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) | ((o.fragOffset ?? 0) >> 3);
  const h = [((o.version ?? 4) << 4) | (hl >> 2), 0, ...be16(total), ...be16(o.id ?? 0x1234), ...be16(ffo), o.ttl ?? 64, o.proto, 0, 0, ...addr(o.src, 4), ...addr(o.dst, 4), ...opts];
  return concat(h, payload);
}

export interface Ipv6Opts {
  src: string;
  dst: string;
  next: number;
  hop?: number;
  payloadLength?: number;
}

export function ipv6(o: Ipv6Opts, payload: Uint8Array): Uint8Array {
  const h = [0x60, 0, 0, 0, ...be16(o.payloadLength ?? payload.length), o.next, o.hop ?? 64, ...addr(o.src, 16), ...addr(o.dst, 16)];
  return concat(h, payload);
}

/** A generic IPv6 extension header (hop-by-hop, routing, destination options) padded to 8n bytes. */
export function ipv6Extension(next: number, body: number[] = []): number[] {
  const total = Math.max(8, Math.ceil((2 + body.length) / 8) * 8);
  const h = [next, total / 8 - 1, ...body];
  while (h.length < total) h.push(0);
  return h;
}

export function ipv6Fragment(next: number, offsetBytes: number, more: boolean, id: number): number[] {
  return [next, 0, ...be16(offsetBytes | (more ? 1 : 0)), ...be32(id)];
}

export interface TcpOpts {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  options?: number[];
  /** override the data offset (32-bit words) */
  dataOffset?: number;
}

export function tcp(o: TcpOpts, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const opts = [...(o.options ?? [])];
  while (opts.length % 4 !== 0) opts.push(0);
  const doff = o.dataOffset ?? (20 + opts.length) / 4;
  const h = [...be16(o.sport), ...be16(o.dport), ...be32(o.seq ?? 1000), ...be32(o.ack ?? 0), doff << 4, o.flags ?? 0x02, ...be16(o.window ?? 65535), 0, 0, 0, 0, ...opts];
  return concat(h, payload);
}

export function udp(sport: number, dport: number, payload: Uint8Array, length?: number): Uint8Array {
  return concat([...be16(sport), ...be16(dport), ...be16(length ?? 8 + payload.length), 0, 0], payload);
}

export function bytes(n: number, fill = 0xab): Uint8Array {
  return new Uint8Array(n).fill(fill);
}
