// The decoder's fast lane: the common frame (Ethernet, at most one 802.1Q tag, IPv4 without
// fragmentation, TCP or UDP with consistent lengths) decoded straight from the caller's buffer
// in one function, without the dispatch tables' indirect calls or the per-call DecodeState.
// It fills the record exactly as decodeFrame does (test/shared/decode/fast-lane.test.ts checks
// every field against it); any frame outside that shape, or any doubt (a short or contradicting
// header, a UDP tunnel, an IPv4 fragment), goes to decodeFrame, which decodes it from scratch.
import { Direction, EMPTY_BYTES, FragFlag, IPPROTO_TCP, IPPROTO_UDP, RecordFlag, TcpOpt, TunnelKind } from '../packet/packet-record.js';
import { DecodedPacket, L2Flag } from './decoded-packet.js';
import { decodeFrame, tunnelDepthOf, type DecodeOptions } from './decode-packet.js';
import { udpTunnelPortTable } from './dispatch.js';
import { LinkType } from './link-types.js';
import { ETHERTYPE_IPV4, ETHERTYPE_VLAN } from './protocol-numbers.js';
import { decodeTcpOptions } from './protocols/tcp.js';
import { looksLikeTeredo } from './protocols/teredo.js';

/** TCP options NOP, NOP, timestamps (kind 8, length 10) as one big-endian word */
export const NOP_NOP_TIMESTAMPS = 0x0101080a;

/** Whether this platform stores an Int32Array's words little-endian (the record's address words are its bytes as stored). */
const PLATFORM_LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * One DataView over the last frame buffer seen: capture readers and live capture hand over the
 * same buffer frame after frame, so this is made again only when the buffer changes. A 16- or
 * 32-bit field read through it is one load and one bounds check instead of two or four of each.
 */
let viewBuf: Uint8Array | null = null;
let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
function viewOf(f: Uint8Array): DataView<ArrayBufferLike> {
  if (f !== viewBuf) {
    view = new DataView(f.buffer, f.byteOffset, f.byteLength);
    viewBuf = f;
  }
  return view;
}

/**
 * decodeFrame with a fast lane for Ethernet[/802.1Q]/IPv4/TCP|UDP: same arguments, same result
 * in `out` (field for field), fewer instructions for the common frame.
 */
export function decodeFrameFast(
  linkType: number, buf: Uint8Array, offset: number, capLen: number, wireLen: number, tsUs: number,
  out: DecodedPacket, opts?: DecodeOptions,
): DecodedPacket {
  if (linkType !== LinkType.Ethernet || !decodeFastLane(buf, offset, capLen, wireLen, tsUs, out, opts)) {
    decodeFrame(linkType, buf, offset, capLen, wireLen, tsUs, out, opts);
  }
  return out;
}

/**
 * The fast lane alone, for an Ethernet frame: true when it decoded the frame into `out` (as
 * decodeFrame would), false when the frame is not its kind (`out` then untouched).
 */
export function decodeFastLane(
  f: Uint8Array, offset: number, capLen: number, wireLen: number, tsUs: number, out: DecodedPacket, opts: DecodeOptions | undefined,
): boolean {
  const end = offset + capLen;
  // Ethernet II, then IPv4 directly or behind one 802.1Q tag. A frame said to reach past its
  // buffer goes to decodeFrame (the lane's DataView reads would throw there; decodeFrame does
  // not: test/shared/decode/fast-lane.test.ts)
  let l3 = offset + 14;
  if (l3 + 20 > end || end > f.length) return false;
  let type = (f[offset + 12]! << 8) | f[offset + 13]!;
  let vlan = -1;
  if (type === ETHERTYPE_VLAN) {
    vlan = ((f[l3]! << 8) | f[l3 + 1]!) & 0x0fff;
    type = (f[l3 + 2]! << 8) | f[l3 + 3]!;
    l3 += 4;
    if (l3 + 20 > end) return false;
  }
  if (type !== ETHERTYPE_IPV4) return false;

  // IPv4: version 4, header length >= 20 and captured, a total length that fits the frame, no
  // fragmentation beyond Don't Fragment (the cases decodeIpv4 flags or handles apart)
  const vihl = f[l3]!;
  const hl = (vihl & 0x0f) << 2;
  if (vihl >> 4 !== 4 || hl < 20) return false;
  const total = (f[l3 + 2]! << 8) | f[l3 + 3]!;
  if (total < hl) return false; // also total 0 (TSO), which decodeIpv4 sizes from the frame
  const declEnd = l3 + total;
  const capShort = capLen < wireLen;
  if (declEnd > offset + (capShort ? wireLen : capLen) || (declEnd > end && !capShort)) return false;
  const l4 = l3 + hl;
  if (l4 > end) return false;
  const ffo = (f[l3 + 6]! << 8) | f[l3 + 7]!;
  if ((ffo & 0xbfff) !== 0) return false; // MF, an offset or the reserved bit
  const proto = f[l3 + 9]!;
  const segEnd = declEnd < end ? declEnd : end;
  const avail = segEnd - l4;

  let tcpHl = 0;
  let payOff: number;
  if (proto === IPPROTO_TCP) {
    if (avail < 20) return false;
    tcpHl = (f[l4 + 12]! >> 4) << 2;
    if (tcpHl < 20 || l4 + tcpHl > segEnd) return false;
    payOff = l4 + tcpHl;
  } else if (proto === IPPROTO_UDP) {
    if (avail < 8) return false;
    const ulen = (f[l4 + 4]! << 8) | f[l4 + 5]!;
    if (ulen < 8 || l4 + ulen > declEnd) return false;
    payOff = l4 + 8;
    if (opts === undefined || tunnelDepthOf(opts) > 0) {
      const sport = (f[l4]! << 8) | f[l4 + 1]!;
      const dport = (f[l4 + 2]! << 8) | f[l4 + 3]!;
      if (udpTunnelPortTable.has(dport) || udpTunnelPortTable.has(sport) || looksLikeTeredo(f, payOff, segEnd, ulen - 8)) return false;
    }
  } else {
    return false;
  }

  // committed: from here on the record is written as decodeFrame would write it. Every field
  // is written once, with the value reset() would give it where this frame has none (reset()
  // and then the frame's values wrote most fields twice: per packet, that was a third of the
  // lane's stores).
  out.tsUs = tsUs;
  out.direction = Direction.Unknown;
  out.ipVersion = 4;
  const dv = viewOf(f);
  // the address words hold the address bytes as they lie in the frame
  const w = out.addrWords;
  w[0] = dv.getInt32(l3 + 12, PLATFORM_LE); w[1] = 0; w[2] = 0; w[3] = 0;
  w[4] = dv.getInt32(l3 + 16, PLATFORM_LE); w[5] = 0; w[6] = 0; w[7] = 0;
  out.proto = proto;
  out.sport = dv.getUint16(l4);
  out.dport = dv.getUint16(l4 + 2);
  out.vlan = vlan >= 0 ? vlan : 0;
  out.wireLen = wireLen;
  out.ipLen = total;
  out.ipId = dv.getUint16(l3 + 4);
  out.ttl = f[l3 + 8]!;
  out.fragFlags = ffo !== 0 ? FragFlag.DontFragment : 0;
  out.fragOffset = 0;
  out.tcpMss = 0;
  out.tcpWscale = 0;
  out.payload = EMPTY_BYTES;
  out.flags = 0;
  out.tunnel = TunnelKind.None;
  out.linkType = LinkType.Ethernet;
  out.frame = f;
  out.frameOff = offset;
  out.capLen = capLen;
  out.etherType = ETHERTYPE_IPV4;
  out.dstMacOff = offset;
  out.srcMacOff = offset + 6;
  out.l3Off = l3;
  out.l4Off = l4;
  const d0 = f[offset]!;
  out.l2Flags = (d0 & 1) === 0 ? 0
    : (d0 & f[offset + 1]! & f[offset + 2]! & f[offset + 3]! & f[offset + 4]! & f[offset + 5]!) === 0xff
      ? L2Flag.Multicast | L2Flag.Broadcast : L2Flag.Multicast;
  out.vlanDepth = vlan >= 0 ? 1 : 0;
  out.mplsDepth = 0;
  out.arpOp = 0;
  out.tunnelDepth = 0;
  out.issue = '';
  if (tcpHl !== 0) {
    out.tcpSeq = dv.getUint32(l4 + 4);
    out.tcpAck = dv.getUint32(l4 + 8);
    out.tcpFlags = f[l4 + 13]!;
    out.tcpWindow = dv.getUint16(l4 + 14);
    if (tcpHl === 32 && dv.getUint32(l4 + 20) === NOP_NOP_TIMESTAMPS) {
      // the options of nearly every segment a Linux or macOS host sends after the handshake:
      // decodeTcpOptions would walk them byte by byte to the same result
      out.tcpOptFlags = TcpOpt.Timestamps;
      out.tcpTsVal = dv.getUint32(l4 + 24);
      out.tcpTsEcr = dv.getUint32(l4 + 28);
    } else {
      out.tcpOptFlags = 0;
      out.tcpTsVal = 0;
      out.tcpTsEcr = 0;
      if (tcpHl > 20) decodeTcpOptions(f, l4 + 20, payOff, false, out);
    }
  } else {
    out.tcpSeq = 0;
    out.tcpAck = 0;
    out.tcpFlags = 0;
    out.tcpWindow = 0;
    out.tcpOptFlags = 0;
    out.tcpTsVal = 0;
    out.tcpTsEcr = 0;
  }
  out.payloadOff = payOff;
  out.payloadLen = declEnd > payOff ? declEnd - payOff : 0;
  if (segEnd > payOff && (opts === undefined || opts.payloadView !== false)) out.payload = f.subarray(payOff, segEnd);
  return true;
}

/** RecordFlag bits the fast lane never sets (it falls back instead): for tests and readers of this file. */
export const FAST_LANE_NEVER_FLAGS = RecordFlag.Truncated | RecordFlag.Fragment | RecordFlag.Inner | RecordFlag.BadIpHeader;

/**
 * Runs every branch of the lane (and of the TCP option decoder it calls, and the fallback to
 * decodeFrame) on a few built frames when the module loads, in the interpreter. Why: TurboFan
 * compiles the lane with the type feedback seen so far, and the first frame to take a branch
 * with none (the first UDP datagram, VLAN tag, broadcast, SACK block, or the first frame to
 * fall back) deoptimized it and the functions it was inlined into; each recompilation of the
 * lane cost 15-55 ms of the compiler thread (--trace-opt, bench capture). Costs ~0.1 ms.
 */
function primeFeedback(): void {
  const out = new DecodedPacket();
  // Ethernet (to a broadcast MAC) / 802.1Q / IPv4 with DF / TCP with MSS, window scale,
  // SACK-permitted, timestamps, a SACK block, no-ops and end of options / 4 payload bytes
  const tcpFrame = Uint8Array.from([
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x81, 0x00, 0x00, 0x05, 0x08, 0x00,
    0x45, 0, 0, 84, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    0x9c, 0x40, 0x01, 0xbb, 0x80, 0, 0, 1, 0x90, 0, 0, 2, 0xf0, 0x18, 0xff, 0xff, 0, 0, 0, 0,
    2, 4, 5, 0xb4, 3, 3, 7, 4, 2, 8, 10, 0x80, 0, 0, 1, 0x80, 0, 0, 2, 1, 5, 10, 0x80, 0, 0, 3, 0x80, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 2, 3, 4,
  ]);
  // Ethernet (to a multicast MAC) / IPv4 / UDP / 4 payload bytes, then padding
  const udpFrame = Uint8Array.from([
    0x01, 0, 0x5e, 0, 0, 0xfb, 2, 0, 0, 0, 0, 1, 0x08, 0x00,
    0x45, 0, 0, 32, 0, 1, 0, 0, 255, 17, 0, 0, 10, 0, 0, 1, 224, 0, 0, 251,
    0x14, 0xe9, 0x14, 0xe9, 0, 12, 0, 0, 1, 2, 3, 4, 0, 0,
  ]);
  const untagged = new Uint8Array(tcpFrame.length - 4);
  untagged.set(tcpFrame.subarray(0, 12));
  untagged.set(tcpFrame.subarray(16), 12);
  untagged[0] = 2; // unicast
  // Ethernet / IPv4 / TCP with NOP, NOP, timestamps only (the lane's shortcut for them)
  const tsFrame = Uint8Array.from([
    2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00,
    0x45, 0, 0, 52, 0x12, 0x35, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    0x9c, 0x40, 0x01, 0xbb, 0x80, 0, 0, 2, 0x90, 0, 0, 3, 0x80, 0x10, 0xff, 0xff, 0, 0, 0, 0,
    1, 1, 8, 10, 0x80, 0, 0, 5, 0x80, 0, 0, 6,
  ]);
  const viewOff: DecodeOptions = { payloadView: false };
  for (let i = 0; i < 3; i++) {
    for (const f of [tcpFrame, udpFrame, untagged, tsFrame]) {
      decodeFrameFast(LinkType.Ethernet, f, 0, f.length, f.length, 1, out, undefined);
      decodeFrameFast(LinkType.Ethernet, f, 0, f.length, f.length + 100, 1, out, viewOff);
      // snapped inside the headers, and not Ethernet: decodeFrameFast's fallback call
      decodeFrameFast(LinkType.Ethernet, f, 0, 40, f.length, 1, out, viewOff);
      decodeFrameFast(LinkType.Raw, f, 14, 20, f.length - 14, 1, out, viewOff);
    }
  }
}
primeFeedback();
