// A packet record back into the bytes of an IP packet (LINKTYPE_RAW), for Wireshark: the IPv4 or
// IPv6 header, the transport header (TCP with its options rebuilt from the record's summary, UDP,
// ICMP/ICMPv6, SCTP's common header) and the payload bytes the record kept. The original length
// is the record's IP length, so a header-only record becomes a packet whose captured length is
// short of its length on the wire, as a snapped capture shows it. Checksums are computed where
// the packet is rebuilt: the IPv4 header always, TCP/UDP/ICMP when the whole payload was kept
// (otherwise they cannot be known: 0, or 0xffff for UDP over IPv6, where 0 is illegal). Pure; one scratch buffer, no allocation per packet.
//
// What a record does not carry is not invented: IP options and IPv6 extension headers (their
// room is kept with NOP options / padding so lengths stay true), SACK blocks (NOPs), the ICMP
// identifier and sequence (zero), link-layer headers and tunnels (the inner packet alone).
import {
  FragFlag, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, RecordFlag, TcpOpt, type PacketRecord,
} from '../packet/packet-record.js';

export const LINKTYPE_RAW = 101;

const IPV6_FRAGMENT = 44;
const IPV6_DEST_OPTS = 60;
const MAX_IP_LEN = 65535;

export interface RebuiltPacket {
  /** captured bytes: a view into the rebuilder's scratch buffer, valid until the next rebuild */
  data: Uint8Array;
  /** length of the packet on the wire (IP total length) */
  origLen: number;
  /** every payload byte the headers declare is present (checksums were computed) */
  complete: boolean;
  /** the header lengths could not be made to match the record's IP length exactly */
  approximate: boolean;
}

/** Internet checksum (RFC 1071) partial sum over b[off, off+len). */
function sum16(b: Uint8Array, off: number, len: number, acc: number): number {
  let s = acc;
  const end = off + (len & ~1);
  for (let i = off; i < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (len & 1) s += b[off + len - 1]! << 8;
  return s;
}

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return ~s & 0xffff;
}

/** TCP option bytes rebuilt from the record (order as Linux sends a SYN). */
function tcpOptionLength(rec: PacketRecord): number {
  const o = rec.tcpOptFlags;
  let n = 0;
  if (o & TcpOpt.Mss) n += 4;
  if (o & TcpOpt.SackPermitted) n += 2;
  if (o & TcpOpt.Timestamps) n += 10;
  if (o & TcpOpt.WindowScale) n += 3;
  return n;
}

export class PacketRebuilder {
  private readonly buf = new Uint8Array(MAX_IP_LEN + 128);

  /** The packet of one IP record, or null for a non-IP record (ARP, unknown link layer). */
  rebuild(rec: PacketRecord): RebuiltPacket | null {
    const v = rec.ipVersion;
    if (v !== 4 && v !== 6) return null;
    const proto = rec.proto;
    const later = rec.fragOffset !== 0;
    const fragment = (rec.flags & RecordFlag.Fragment) !== 0 || later || (rec.fragFlags & FragFlag.MoreFragments) !== 0;
    const v6frag = v === 6 && fragment;
    const payloadLen = rec.payloadLen;
    const kept = Math.min(rec.payload.length, payloadLen);
    const baseIp = v === 4 ? 20 : 40 + (v6frag ? 8 : 0);
    // room the record's lengths leave for the transport header (and IP options / ext headers)
    const declared = rec.ipLen > 0 ? rec.ipLen - baseIp - payloadLen : -1;

    let th = 0; // transport header bytes we write
    let thKnown = true; // we can write that header
    let opts = 0;
    if (!later) {
      if (proto === IPPROTO_TCP) { opts = tcpOptionLength(rec); th = 20 + ((opts + 3) & ~3); }
      else if (proto === IPPROTO_UDP || proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) th = 8;
      else if (proto === IPPROTO_SCTP) th = 12;
      else if (declared > 0) { th = declared; thKnown = false; }
    }
    // spread the record's extra header room: TCP options (NOPs), then IPv4 options / an IPv6
    // destination options header of padding, so the IP length stays the record's
    let extra = declared - th;
    let tcpPad = 0;
    let ipPad = 0;
    let approximate = false;
    if (declared >= 0 && extra > 0) {
      if (proto === IPPROTO_TCP && !later) {
        tcpPad = Math.min(extra - (extra % 4), 60 - th);
        extra -= tcpPad;
      }
      const maxIpPad = v === 4 ? 40 : 256; // IPv6: one PadN option (at most 255 bytes of padding)
      const step = v === 4 ? 4 : 8;
      if (extra > 0 && extra % step === 0 && extra <= maxIpPad) { ipPad = extra; extra = 0; }
      if (extra !== 0) approximate = true;
    } else if (declared >= 0 && extra < 0) {
      // the record's headers were shorter than what we rebuild (options the summary overstates)
      if (proto === IPPROTO_TCP && !later && declared >= 20 && declared % 4 === 0) { th = declared; opts = Math.min(opts, th - 20); }
      else approximate = true;
    } else if (declared < 0) {
      approximate = true;
    }
    const ipHdr = baseIp + ipPad;
    let origLen = ipHdr + th + tcpPad + payloadLen;
    if (origLen > MAX_IP_LEN) origLen = MAX_IP_LEN; // BIG TCP / GSO: the field cannot say more
    const b = this.buf;
    // ---- IP header ----
    const tpOff = ipHdr;
    if (v === 4) {
      b[0] = 0x40 | (ipHdr >> 2);
      b[1] = 0;
      put16(b, 2, origLen);
      put16(b, 4, rec.ipId & 0xffff);
      put16(b, 6, ((rec.fragFlags & FragFlag.DontFragment) ? 0x4000 : 0) | ((rec.fragFlags & FragFlag.MoreFragments) ? 0x2000 : 0) | ((rec.fragOffset >>> 3) & 0x1fff));
      b[8] = rec.ttl & 0xff;
      b[9] = proto & 0xff;
      put16(b, 10, 0);
      b.set(rec.src.subarray(0, 4), 12);
      b.set(rec.dst.subarray(0, 4), 16);
      b.fill(1, 20, ipHdr); // NOP options standing in for the options the record does not carry
      put16(b, 10, fold(sum16(b, 0, ipHdr, 0)));
    } else {
      b[0] = 0x60;
      b[1] = 0;
      b[2] = 0;
      b[3] = 0;
      put16(b, 4, origLen - 40);
      b[7] = rec.ttl & 0xff;
      b.set(rec.src, 8);
      b.set(rec.dst, 24);
      let o = 40;
      let nextAt = 6;
      if (ipPad > 0) {
        b[nextAt] = IPV6_DEST_OPTS;
        nextAt = o;
        b[o + 1] = ipPad / 8 - 1;
        // one PadN option filling the header
        b[o + 2] = 1;
        b[o + 3] = ipPad - 4;
        b.fill(0, o + 4, o + ipPad);
        o += ipPad;
      }
      if (v6frag) {
        b[nextAt] = IPV6_FRAGMENT;
        nextAt = o;
        b[o + 1] = 0;
        put16(b, o + 2, (rec.fragOffset & 0xfff8) | ((rec.fragFlags & FragFlag.MoreFragments) ? 1 : 0));
        put32(b, o + 4, rec.ipId);
        o += 8;
      }
      b[nextAt] = proto & 0xff;
    }
    // ---- transport header ----
    const complete = kept === payloadLen && !fragment && thKnown;
    let capLen = tpOff;
    if (th > 0 && thKnown) {
      const t = tpOff;
      if (proto === IPPROTO_TCP) {
        const hl = th + tcpPad;
        put16(b, t, rec.sport);
        put16(b, t + 2, rec.dport);
        put32(b, t + 4, rec.tcpSeq);
        put32(b, t + 8, rec.tcpAck);
        b[t + 12] = ((hl >> 2) << 4) | ((rec.tcpFlags >>> 8) & 1);
        b[t + 13] = rec.tcpFlags & 0xff;
        put16(b, t + 14, rec.tcpWindow);
        put16(b, t + 16, 0);
        put16(b, t + 18, 0);
        let o = t + 20;
        const end = t + hl;
        const f = rec.tcpOptFlags;
        if ((f & TcpOpt.Mss) && o + 4 <= end) { b[o] = 2; b[o + 1] = 4; put16(b, o + 2, rec.tcpMss); o += 4; }
        if ((f & TcpOpt.SackPermitted) && o + 2 <= end) { b[o] = 4; b[o + 1] = 2; o += 2; }
        if ((f & TcpOpt.Timestamps) && o + 10 <= end) { b[o] = 8; b[o + 1] = 10; put32(b, o + 2, rec.tcpTsVal); put32(b, o + 6, rec.tcpTsEcr); o += 10; }
        if ((f & TcpOpt.WindowScale) && o + 3 <= end) { b[o] = 3; b[o + 1] = 3; b[o + 2] = rec.tcpWscale & 0xff; o += 3; }
        b.fill(1, o, end); // NOPs: alignment, and room of options the summary does not rebuild (SACK blocks)
        capLen = end;
      } else if (proto === IPPROTO_UDP) {
        put16(b, t, rec.sport);
        put16(b, t + 2, rec.dport);
        put16(b, t + 4, Math.min(8 + payloadLen, 0xffff));
        // 0 is "no checksum" over IPv4 but illegal over IPv6: an unknowable one there is 0xffff
        put16(b, t + 6, v === 6 ? 0xffff : 0);
        capLen = t + 8;
      } else if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) {
        b[t] = rec.sport & 0xff;
        b[t + 1] = rec.dport & 0xff;
        b.fill(0, t + 2, t + 8);
        capLen = t + 8;
      } else if (proto === IPPROTO_SCTP) {
        put16(b, t, rec.sport);
        put16(b, t + 2, rec.dport);
        b.fill(0, t + 4, t + 12);
        capLen = t + 12;
      }
    }
    // ---- payload ----
    // without its transport header the payload has no place (unknown protocols): headers only
    const payloadAt = capLen;
    const placeable = later || (th > 0 ? thKnown : true);
    if (placeable && kept > 0 && payloadAt + kept <= b.length) {
      b.set(rec.payload.subarray(0, kept), payloadAt);
      capLen = payloadAt + kept;
    }
    if (complete && th > 0) this.transportChecksum(rec, v, proto, tpOff, capLen);
    if (capLen > origLen) capLen = origLen;
    return { data: b.subarray(0, capLen), origLen, complete, approximate };
  }

  private transportChecksum(rec: PacketRecord, v: number, proto: number, t: number, end: number): void {
    const b = this.buf;
    const len = end - t;
    const at = proto === IPPROTO_TCP ? t + 16 : proto === IPPROTO_UDP ? t + 6 : proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6 ? t + 2 : -1;
    if (at < 0) return; // SCTP uses CRC-32c; Wireshark does not check it by default
    put16(b, at, 0);
    let s = 0;
    if (proto !== IPPROTO_ICMP) {
      // pseudo header: addresses, protocol, upper-layer length
      const alen = v === 4 ? 4 : 16;
      s = sum16(rec.src, 0, alen, s);
      s = sum16(rec.dst, 0, alen, s);
      s += proto & 0xff;
      s += len & 0xffff;
      s += Math.floor(len / 65536);
    }
    s = sum16(b, t, len, s);
    let c = fold(s);
    if (proto === IPPROTO_UDP && c === 0) c = 0xffff; // 0 means "no checksum" for UDP
    put16(b, at, c);
  }
}

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
