// Test helper: builds real wire-format frames (Ethernet, SLL, ARP, IPv4/IPv6, TCP/UDP,
// ICMPv6) and classic pcap files from them, for feeding the real decoder and libpcap tools.
// Checksums are left 0: neither the decoder nor BPF filters look at them.
import { parseIp } from '../../shared/net/ip-address.js';

function mac(text: string): number[] {
  return text.split(':').map((h) => parseInt(h, 16));
}

function u16(n: number): number[] {
  return [(n >>> 8) & 0xff, n & 0xff];
}

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

function addr(text: string): number[] {
  const a = parseIp(text);
  return [...a.bytes.subarray(0, a.version === 4 ? 4 : 16)];
}

export function ether(dst: string, src: string, etherType: number, payload: number[]): number[] {
  return [...mac(dst), ...mac(src), ...u16(etherType), ...payload];
}

/** Linux cooked (SLL, link type 113) header: packet type, device type, sender MAC, protocol. */
export function sll(pktType: number, arpHrd: number, srcMac: string, protocol: number, payload: number[]): number[] {
  return [...u16(pktType), ...u16(arpHrd), ...u16(6), ...mac(srcMac), 0, 0, ...u16(protocol), ...payload];
}

export function ipv4(src: string, dst: string, proto: number, payload: number[], ttl = 64): number[] {
  const len = 20 + payload.length;
  return [0x45, 0, ...u16(len), 0x12, 0x34, 0x40, 0, ttl, proto, 0, 0, ...addr(src), ...addr(dst), ...payload];
}

export function ipv6(src: string, dst: string, next: number, payload: number[], hop = 64): number[] {
  return [0x60, 0, 0, 0, ...u16(payload.length), next, hop, ...addr(src), ...addr(dst), ...payload];
}

export function udp(sport: number, dport: number, payload: number[] = []): number[] {
  return [...u16(sport), ...u16(dport), ...u16(8 + payload.length), 0, 0, ...payload];
}

export const SYN = 0x02;
export const ACK = 0x10;
export const PSH = 0x08;

export function tcp(sport: number, dport: number, flags: number, payload: number[] = [], seq = 1000, ack = 0): number[] {
  return [...u16(sport), ...u16(dport), ...u32(seq), ...u32(ack), 0x50, flags, ...u16(65535), 0, 0, 0, 0, ...payload];
}

export function icmpv6(type: number, code: number, body: number[] = []): number[] {
  return [type, code, 0, 0, ...body];
}

export function icmpv4(type: number, code: number, body: number[] = []): number[] {
  return [type, code, 0, 0, 0, 0, 0, 0, ...body];
}

/** ARP over Ethernet for IPv4 (op 1 request, 2 reply). */
export function arp(op: number, senderMac: string, senderIp: string, targetMac: string, targetIp: string): number[] {
  return [0, 1, 0x08, 0x00, 6, 4, ...u16(op), ...mac(senderMac), ...addr(senderIp), ...mac(targetMac), ...addr(targetIp)];
}

export interface PcapRecord {
  tsUs: number;
  frame: number[] | Uint8Array;
}

/** A classic little-endian microsecond pcap file. */
export function pcapFile(linkType: number, records: readonly PcapRecord[]): Uint8Array {
  const parts: Buffer[] = [];
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(65535, 16);
  h.writeUInt32LE(linkType, 20);
  parts.push(h);
  for (const r of records) {
    const f = Buffer.from(r.frame);
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(Math.floor(r.tsUs / 1e6), 0);
    rh.writeUInt32LE(r.tsUs % 1e6, 4);
    rh.writeUInt32LE(f.length, 8);
    rh.writeUInt32LE(f.length, 12);
    parts.push(rh, f);
  }
  return Buffer.concat(parts);
}
