// IPv4: header fields, options skipped by IHL, fragments (later fragments carry
// no transport header), and the declared total length bounding everything inside.
// A version-6 header under an IPv4 label is decoded as IPv6 (Zeek and Wireshark
// go by the version too).
// The header checksum is not verified: checksum offload makes it unreliable on
// the capturing host.
import { FragFlag, RecordFlag } from '../../packet/packet-record.js';
import type { DecodedPacket } from '../decoded-packet.js';
import { UNKNOWN_END, markMalformed, markShort, type DecodeState } from '../decode-state.js';
import { decodeEtherType, decodeIpProtocol, setPayload } from '../dispatch.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../protocol-numbers.js';
import { copyAddress, u16 } from '../read-bytes.js';

export function decodeIpv4(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  const avail = end - off;
  out.ipVersion = 4;
  out.etherType = ETHERTYPE_IPV4;
  if (avail >= 1 && f[off]! >> 4 !== 4) {
    if (f[off]! >> 4 === 6) {
      // an IPv6 packet behind an IPv4 label: Zeek and Wireshark both go by the version
      decodeEtherType(ETHERTYPE_IPV6, f, off, end, out, st);
      return;
    }
    // not an IPv4 header at all: keep the record (flagged), but no field of it is IPv4
    markMalformed(out, 'ipv4: version is not 4');
    out.flags |= RecordFlag.BadIpHeader;
    return;
  }
  if (avail < 20) {
    fixedFields(f, off, avail, out);
    markShort(out, st, off + 20, 'ipv4: header cut short');
    out.flags |= RecordFlag.BadIpHeader;
    return;
  }
  const total = u16(f, off + 2);
  out.ipLen = total;
  out.ipId = u16(f, off + 4);
  out.ttl = f[off + 8]!;
  const proto = f[off + 9]!;
  out.proto = proto;
  copyAddress(f, off + 12, out.src, 4);
  copyAddress(f, off + 16, out.dst, 4);
  const hl = (f[off]! & 0x0f) << 2;
  if (hl < 20) {
    markMalformed(out, 'ipv4: header length < 20');
    out.flags |= RecordFlag.BadIpHeader;
    return;
  }
  out.l3Off = off;
  const ffo = u16(f, off + 6);
  out.fragFlags = ((ffo & 0x2000) !== 0 ? FragFlag.MoreFragments : 0) | ((ffo & 0x4000) !== 0 ? FragFlag.DontFragment : 0);
  out.fragOffset = (ffo & 0x1fff) << 3;
  if ((ffo & 0x3fff) !== 0) out.flags |= RecordFlag.Fragment;

  let declEnd: number;
  if (total === 0) {
    // TSO / BIG TCP: the stack leaves the length 0 and the frame is the packet
    declEnd = st.declEnd === UNKNOWN_END ? st.frameEnd : st.declEnd;
  } else if (total < hl) {
    markMalformed(out, 'ipv4: total length < header length');
    out.flags |= RecordFlag.BadIpHeader;
    return;
  } else {
    declEnd = off + total;
    // beyond the captured bytes is normal for a snapped capture (capLen < wireLen);
    // beyond what was on the wire, the header lies
    if (declEnd > st.declEnd || (declEnd > st.frameEnd && !st.capShort)) markMalformed(out, 'ipv4: total length exceeds the frame');
  }
  out.ipLen = declEnd - off;
  if (off + hl > end) {
    markShort(out, st, off + hl, 'ipv4: options cut short');
    return;
  }
  const segEnd = declEnd < end ? declEnd : end;
  st.declEnd = declEnd;
  if (out.fragOffset !== 0) {
    setPayload(f, off + hl, segEnd, out, st); // a later fragment: no transport header
    return;
  }
  decodeIpProtocol(proto, f, off + hl, segEnd, out, st);
}

/**
 * The fixed-header fields that lie whole within the first `n` (< 20) bytes of a cut header:
 * total length, identification, TTL, protocol, and the source address when all its bytes are there.
 */
function fixedFields(f: Uint8Array, off: number, n: number, out: DecodedPacket): void {
  if (n >= 4) out.ipLen = u16(f, off + 2);
  if (n >= 6) out.ipId = u16(f, off + 4);
  if (n >= 9) out.ttl = f[off + 8]!;
  if (n >= 10) out.proto = f[off + 9]!;
  if (n >= 16) copyAddress(f, off + 12, out.src, 4);
}
