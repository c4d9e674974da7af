// TCP: ports, flags, sequence numbers, window, and the options flows care about
// (MSS, window scale, SACK-permitted, SACK, timestamps).
import { TcpOpt } from '../../packet/packet-record.js';
import type { DecodedPacket } from '../decoded-packet.js';
import { markMalformed, markShort, type DecodeState } from '../decode-state.js';
import { setPayload } from '../dispatch.js';
import { u16, u32 } from '../read-bytes.js';

export function decodeTcp(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  const avail = end - off;
  if (avail < 20) {
    decodePartialHeader(f, off, avail, out);
    markShort(out, st, off + 20, 'tcp: header cut short');
    return;
  }
  out.sport = u16(f, off);
  out.dport = u16(f, off + 2);
  out.tcpSeq = u32(f, off + 4);
  out.tcpAck = u32(f, off + 8);
  const hl = (f[off + 12]! >> 4) << 2;
  out.tcpFlags = f[off + 13]!;
  out.tcpWindow = u16(f, off + 14);
  if (hl < 20) {
    markMalformed(out, 'tcp: data offset < 5');
    return;
  }
  const hEnd = off + hl;
  if (hEnd > end) {
    markShort(out, st, hEnd, 'tcp: options cut short');
    decodeTcpOptions(f, off + 20, end, true, out);
    return;
  }
  if (hl > 20) decodeTcpOptions(f, off + 20, hEnd, false, out);
  setPayload(f, hEnd, end, out, st);
}

/** As much of the fixed header as `avail` (< 20) bytes hold. */
function decodePartialHeader(f: Uint8Array, off: number, avail: number, out: DecodedPacket): void {
  if (avail < 4) return;
  out.sport = u16(f, off);
  out.dport = u16(f, off + 2);
  if (avail >= 8) out.tcpSeq = u32(f, off + 4);
  if (avail >= 12) out.tcpAck = u32(f, off + 8);
  if (avail >= 14) out.tcpFlags = f[off + 13]!;
  if (avail >= 16) out.tcpWindow = u16(f, off + 14);
}

/**
 * Options in [o, end). `cut`: end is where the capture stopped, not where the
 * options do, so an option running past it is not an error. (Exported for the fast lane.)
 */
export function decodeTcpOptions(f: Uint8Array, o: number, end: number, cut: boolean, out: DecodedPacket): void {
  while (o < end) {
    const kind = f[o]!;
    if (kind === 0) return; // end of option list
    if (kind === 1) { o++; continue; } // no-op
    if (o + 2 > end) {
      if (!cut) markMalformed(out, 'tcp: option without length');
      return;
    }
    const len = f[o + 1]!;
    if (len < 2) {
      markMalformed(out, 'tcp: option length < 2');
      return;
    }
    if (o + len > end) {
      if (!cut) markMalformed(out, 'tcp: option runs past the header');
      return;
    }
    switch (kind) {
      case 2:
        if (len === 4) { out.tcpMss = u16(f, o + 2); out.tcpOptFlags |= TcpOpt.Mss; }
        break;
      case 3:
        if (len === 3) { out.tcpWscale = f[o + 2]!; out.tcpOptFlags |= TcpOpt.WindowScale; }
        break;
      case 4:
        if (len === 2) out.tcpOptFlags |= TcpOpt.SackPermitted;
        break;
      case 5:
        if (len >= 10 && ((len - 2) & 7) === 0) out.tcpOptFlags |= TcpOpt.Sack;
        break;
      case 8:
        if (len === 10) { out.tcpTsVal = u32(f, o + 2); out.tcpTsEcr = u32(f, o + 6); out.tcpOptFlags |= TcpOpt.Timestamps; }
        break;
      default:
        break;
    }
    o += len;
  }
}
