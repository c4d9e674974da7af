// IPv4: header fields, options skipped by IHL, fragments (later fragments carry
// no transport header), and the declared total length bounding everything inside.
// The header checksum is not verified: checksum offload makes it unreliable on
// the capturing host.
import { FragFlag, RecordFlag } from '../../packet/packet-record.js';
import type { DecodedPacket } from '../decoded-packet.js';
import { UNKNOWN_END, markMalformed, markShort, type DecodeState } from '../decode-state.js';
import { decodeIpProtocol, setPayload } from '../dispatch.js';
import { copyAddress, u16 } from '../read-bytes.js';
import { EtherType } from '../ether-types.js';

export function decodeIpv4(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  const avail = end - off;
  if (avail >= 1 && f[off]! >> 4 !== 4) {
    markMalformed(out, 'ipv4: version is not 4');
    return;
  }
  if (avail < 20) {
    markShort(out, st, off + 20, 'ipv4: header cut short');
    return;
  }
  const hl = (f[off]! & 0x0f) << 2;
  if (hl < 20) {
    markMalformed(out, 'ipv4: header length < 20');
    return;
  }
  out.ipVersion = 4;
  out.etherType = EtherType.Ipv4;
  out.l3Off = off;
  const total = u16(f, off + 2);
  out.ipId = u16(f, off + 4);
  const ffo = u16(f, off + 6);
  out.ttl = f[off + 8]!;
  const proto = f[off + 9]!;
  out.proto = proto;
  copyAddress(f, off + 12, out.src, 4);
  copyAddress(f, off + 16, out.dst, 4);
  out.fragFlags = ((ffo & 0x2000) !== 0 ? FragFlag.MoreFragments : 0) | ((ffo & 0x4000) !== 0 ? FragFlag.DontFragment : 0);
  out.fragOffset = (ffo & 0x1fff) << 3;
  if ((ffo & 0x3fff) !== 0) out.flags |= RecordFlag.Fragment;

  let declEnd: number;
  if (total === 0) {
    // TSO / BIG TCP: the stack leaves the length 0 and the frame is the packet
    declEnd = st.declEnd === UNKNOWN_END ? st.frameEnd : st.declEnd;
  } else if (total < hl) {
    out.ipLen = total;
    markMalformed(out, 'ipv4: total length < header length');
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
