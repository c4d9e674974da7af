// Test helper: builds the headers of every encapsulation the decoder knows, each from
// its specification (RFCs, IEEE and vendor documents), independently of the decoder.
// Used by the encapsulation corpus, which writes them to a capture and checks them
// against tshark.
import { be16, be32, bytes, concat, ethernet, ipv4, ipv6, mac, udp } from './frame-builder.js';

export const OUTER4 = { src: '198.51.100.1', dst: '198.51.100.2' };
export const OUTER6 = { src: '2001:db8:ffff::1', dst: '2001:db8:ffff::2' };
export const MID4 = { src: '203.0.113.1', dst: '203.0.113.2' };

export const ETH_IPV4 = 0x0800;
export const ETH_IPV6 = 0x86dd;

/** EtherType of an IP packet by its first nibble. */
export function ipType(ip: Uint8Array): number {
  return ip[0]! >> 4 === 6 ? ETH_IPV6 : ETH_IPV4;
}

/** An IPv4 packet from OUTER4 carrying `payload` as IP protocol `proto`. */
export function outer4(proto: number, payload: Uint8Array, addr = OUTER4): Uint8Array {
  return ipv4({ ...addr, proto, id: 0x0101, df: true }, payload);
}

export function outer6(next: number, payload: Uint8Array): Uint8Array {
  return ipv6({ ...OUTER6, next }, payload);
}

/** An Ethernet frame carrying an IP packet. */
export function ethIp(ip: Uint8Array, dst?: string, src?: string): Uint8Array {
  return ethernet(ipType(ip), ip, dst, src);
}

export function icmpEcho(): Uint8Array {
  return concat([8, 0, 0, 0], be16(0x1234), be16(1), bytes(16, 0x61));
}

// ---- MPLS (RFC 3032) ----
export function mplsLabel(label: number, bottom: boolean, ttl = 64): number[] {
  return be32(((label << 12) | (bottom ? 0x100 : 0) | ttl) >>> 0);
}

// ---- PPPoE (RFC 2516) ----
export function pppoeSession(ip: Uint8Array): Uint8Array {
  const ppp = concat(be16(ip[0]! >> 4 === 6 ? 0x0057 : 0x0021), ip);
  return concat([0x11, 0x00], be16(0x2a2a), be16(ppp.length), ppp);
}

/** A PADI: host-uniq and service-name tags. */
export function pppoePadi(): Uint8Array {
  const tags = concat(be16(0x0101), be16(0), be16(0x0103), be16(4), be32(0xdeadbeef));
  return concat([0x11, 0x09], be16(0), be16(tags.length), tags);
}

// ---- Frame Relay (Q.922 address, RFC 2427) ----
/** The 2-byte Q.922 address of a DLCI (EA bit set in the second byte). */
export function q922(dlci: number): number[] {
  return [((dlci >> 4) & 0x3f) << 2, ((dlci & 0x0f) << 4) | 0x01];
}

// ---- GRE (RFC 2784/2890) ----
export function gre(proto: number, payload: Uint8Array, opts: { key?: number; seq?: number } = {}): Uint8Array {
  const flags = (opts.key !== undefined ? 0x2000 : 0) | (opts.seq !== undefined ? 0x1000 : 0);
  return concat(be16(flags), be16(proto), opts.key !== undefined ? be32(opts.key) : [], opts.seq !== undefined ? be32(opts.seq) : [], payload);
}

/** ERSPAN type II header (8 bytes): version 1, session 5. */
export function erspan2(): number[] {
  return [...be32(0x10000005), ...be32(0)];
}

/** ERSPAN type III header (12 bytes, +8 with the platform-specific subheader). */
export function erspan3(platform: boolean): number[] {
  return [...be32(0x20000005), ...be32(123456), ...be32(platform ? 1 : 0), ...(platform ? [...be32(0x0c000000), ...be32(0)] : [])];
}

// ---- UDP tunnels ----
export function vxlan(frame: Uint8Array): Uint8Array {
  return udp(50001, 4789, concat([0x08, 0, 0, 0], [0, 0x12, 0x34, 0], frame));
}

/** VXLAN-GPE (I and P flags) with a next protocol: 1 IPv4, 2 IPv6, 3 Ethernet, 4 NSH. */
export function vxlanGpe(next: number, payload: Uint8Array): Uint8Array {
  return udp(50002, 4790, concat([0x0c, 0, 0, next], [0, 0x12, 0x34, 0], payload));
}

/** Geneve with one 8-byte option (class 0x0102, type 0x80). */
export function geneve(proto: number, payload: Uint8Array): Uint8Array {
  const opt = [...be16(0x0102), 0x80, 1, ...be32(0xcafef00d)];
  return udp(50003, 6081, concat([opt.length / 4, 0], be16(proto), [0, 0x12, 0x34, 0], opt, payload));
}

/** GTP-U G-PDU, optionally with a PDU session container extension header. */
export function gtpu(ip: Uint8Array, extension: boolean): Uint8Array {
  const ext = extension ? [...be16(0), 0, 0x85, 1, 0x10, 0x09, 0] : [];
  return udp(2152, 2152, concat([extension ? 0x34 : 0x30, 0xff], be16(ext.length + ip.length), be32(0x01020304), ext, ip));
}

/** Teredo (RFC 4380) with optional authentication and origin indication headers. */
export function teredo(ip6: Uint8Array, auth: boolean, origin: boolean): Uint8Array {
  const a = auth ? [0x00, 0x01, 4, 2, 0x63, 0x6c, 0x69, 0x65, 0xaa, 0xbb, ...bytes(8, 0x5a), 0x00] : [];
  const o = origin ? [0x00, 0x00, ...be16(3544 ^ 0xffff), ...be32(0xc0000201 ^ 0xffffffff)] : [];
  return udp(3544, 50004, concat(a, o, ip6));
}

/** NSH (RFC 8300) MD type 2 without context, or MD type 1 with 16 bytes of context. */
export function nsh(next: number, payload: Uint8Array, md1 = false): Uint8Array {
  const words = md1 ? 6 : 2;
  const ttl = 63;
  return concat([ttl >> 2, ((ttl & 3) << 6) | words, md1 ? 1 : 2, next], be32((0x000100 << 8) | 255), md1 ? bytes(16, 0) : [], payload);
}

/** AYIYA forward message: 16-byte identity, 20-byte signature, next header. */
export function ayiya(ip: Uint8Array): Uint8Array {
  const next = ip[0]! >> 4 === 6 ? 41 : 4;
  return udp(5072, 5072, concat([(4 << 4) | 1, (5 << 4) | 2, (2 << 4) | 1, next], be32(1_700_000_000), bytes(16, 0x11), bytes(20, 0x22), ip));
}

// ---- link types ----
export function sll(proto: number, payload: Uint8Array): Uint8Array {
  return concat(be16(0), be16(1), be16(6), mac('02:00:00:00:00:0a'), [0, 0], be16(proto), payload);
}

export function sll2(proto: number, payload: Uint8Array): Uint8Array {
  return concat(be16(proto), [0, 0], be32(3), be16(1), [0, 6], mac('02:00:00:00:00:0a'), [0, 0], payload);
}

/** An 802.11 QoS data frame to the DS, carrying LLC/SNAP and `ip` (or an A-MSDU of several). */
export function wlanData(ips: Uint8Array[], amsdu = false): Uint8Array {
  const llc = (ip: Uint8Array): Uint8Array => concat([0xaa, 0xaa, 0x03, 0, 0, 0], be16(ipType(ip)), ip);
  const hdr = concat([0x88, 0x01], [0, 0], mac('02:00:00:00:00:01'), mac('02:00:00:00:00:02'), mac('02:00:00:00:00:03'), [0x10, 0], [amsdu ? 0x80 : 0, 0]);
  if (!amsdu) return concat(hdr, llc(ips[0]!));
  const subs = ips.map((ip, i) => {
    const body = llc(ip);
    const sub = concat(mac('02:00:00:00:00:03'), mac('02:00:00:00:00:02'), be16(body.length), body);
    return i < ips.length - 1 ? concat(sub, bytes((4 - (sub.length % 4)) % 4, 0)) : sub;
  });
  return concat(hdr, ...subs);
}

/** Radiotap with the Flags field (no FCS). */
export function radiotap(frame: Uint8Array): Uint8Array {
  return concat([0, 0, 9, 0, 0x02, 0, 0, 0, 0x00], frame);
}

/** Prism monitor header (144 bytes, little-endian host). */
export function prism(frame: Uint8Array): Uint8Array {
  const h = new Uint8Array(144);
  h.set([0x44, 0, 0, 0, 144, 0, 0, 0]);
  h.set(new TextEncoder().encode('wlan0'), 8);
  return concat(h, frame);
}

/** AVS capture header version 1 (64 bytes, big-endian). */
export function avs(frame: Uint8Array): Uint8Array {
  return concat(be32(0x80211001), be32(64), bytes(56, 0), frame);
}

/** PPI header of 8 bytes naming the link type of the frame. */
export function ppi(dlt: number, frame: Uint8Array): Uint8Array {
  return concat([0, 0, 8, 0, dlt & 0xff, (dlt >> 8) & 0xff, 0, 0], frame);
}

/** OpenBSD pflog header (61 bytes, padded to 64). */
export function pflog(af: number, ip: Uint8Array): Uint8Array {
  const h = new Uint8Array(64);
  h[0] = 61;
  h[1] = af;
  h.set(new TextEncoder().encode('em0'), 4);
  return concat(h, ip);
}

/** Apple PKTAP header (108 bytes, little-endian): a packet record of DLT_EN10MB. */
export function pktap(frame: Uint8Array): Uint8Array {
  const h = new Uint8Array(108);
  h.set([108, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]); // length, type "packet", DLT_EN10MB
  h.set(new TextEncoder().encode('en0'), 12);
  return concat(h, frame);
}

/** Solaris IPNET header (24 bytes). */
export function ipnet(ip: Uint8Array): Uint8Array {
  return concat([1, ip[0]! >> 4 === 6 ? 26 : 2], be16(0), be32(ip.length), be32(2), be32(0), be32(0), be32(0), ip);
}
