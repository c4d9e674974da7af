// IPv6: fixed header, then the extension header chain (hop-by-hop, routing,
// destination options, fragment, AH, HIP, shim6) up to the transport protocol,
// which becomes the record's `proto`. The mobility header (135) ends the chain: it
// is the packet's content (RFC 6275 requires its next header to be 59). A version-4
// header under an IPv6 label is decoded as IPv4. A payload length of 0 in a frame
// with more than 64 KiB after the header is a jumbogram / BIG TCP packet: the frame
// is the packet.
import { FragFlag, RecordFlag } from '../../packet/packet-record.js';
import type { DecodedPacket } from '../decoded-packet.js';
import { UNKNOWN_END, markMalformed, markShort, type DecodeState } from '../decode-state.js';
import { decodeEtherType, decodeIpProtocol, setPayload } from '../dispatch.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../protocol-numbers.js';
import { copyAddress, u16, u32 } from '../read-bytes.js';

const NO_NEXT_HEADER = 59;
const MAX_EXTENSION_HEADERS = 16;
const MAX_PAYLOAD_LENGTH = 0xffff;

export function decodeIpv6(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  const avail = end - off;
  out.ipVersion = 6;
  out.etherType = ETHERTYPE_IPV6;
  if (avail >= 1 && f[off]! >> 4 !== 6) {
    if (f[off]! >> 4 === 4) {
      // an IPv4 packet behind an IPv6 label: decoded by its version, as Zeek does
      decodeEtherType(ETHERTYPE_IPV4, f, off, end, out, st);
      return;
    }
    // not an IPv6 header at all: keep the record (flagged), but no field of it is IPv6
    markMalformed(out, 'ipv6: version is not 6');
    out.flags |= RecordFlag.BadIpHeader;
    return;
  }
  if (avail < 40) {
    // the fields that lie whole in what is there; each address only when complete
    if (avail >= 6) out.ipLen = 40 + u16(f, off + 4);
    if (avail >= 7) out.proto = f[off + 6]!;
    if (avail >= 8) out.ttl = f[off + 7]!;
    if (avail >= 24) copyAddress(f, off + 8, out.src, 16);
    markShort(out, st, off + 40, 'ipv6: header cut short');
    out.flags |= RecordFlag.BadIpHeader;
    return;
  }
  out.l3Off = off;
  const plen = u16(f, off + 4);
  let next = f[off + 6]!;
  out.ttl = f[off + 7]!;
  copyAddress(f, off + 8, out.src, 16);
  copyAddress(f, off + 24, out.dst, 16);

  let declEnd: number;
  const frameDeclEnd = st.declEnd === UNKNOWN_END ? st.frameEnd : st.declEnd;
  if (plen === 0 && next !== NO_NEXT_HEADER && frameDeclEnd - (off + 40) > MAX_PAYLOAD_LENGTH) {
    // a jumbogram / BIG TCP packet: too long for the field, so the frame is the packet
    // (a short frame with length 0 is an empty packet followed by link-layer padding)
    declEnd = frameDeclEnd;
  } else {
    declEnd = off + 40 + plen;
    if (declEnd > st.declEnd || (declEnd > st.frameEnd && !st.capShort)) markMalformed(out, 'ipv6: payload length exceeds the frame');
  }
  out.ipLen = declEnd - off;
  const segEnd = declEnd < end ? declEnd : end;
  st.declEnd = declEnd;

  let o = off + 40;
  for (let n = 0; ; n++) {
    let hdrLen: number;
    switch (next) {
      case 0: // hop-by-hop options
      case 43: // routing
      case 60: // destination options
      case 139: // HIP
      case 140: // shim6
        if (segEnd - o < 2) {
          out.proto = next;
          markShort(out, st, o + 2, 'ipv6: extension header cut short');
          return;
        }
        hdrLen = (f[o + 1]! + 1) << 3;
        break;
      case 51: // authentication header: length in 4-byte units minus 2
        if (segEnd - o < 2) {
          out.proto = next;
          markShort(out, st, o + 2, 'ipv6: authentication header cut short');
          return;
        }
        hdrLen = (f[o + 1]! + 2) << 2;
        break;
      case 44: { // fragment
        if (segEnd - o < 8) {
          out.proto = next;
          markShort(out, st, o + 8, 'ipv6: fragment header cut short');
          return;
        }
        const offFlags = u16(f, o + 2);
        out.fragOffset = offFlags & 0xfff8;
        out.fragFlags = (offFlags & 1) !== 0 ? FragFlag.MoreFragments : 0;
        out.ipId = u32(f, o + 4);
        if ((offFlags & 0xfff9) !== 0) out.flags |= RecordFlag.Fragment;
        hdrLen = 8;
        break;
      }
      default:
        out.proto = next;
        if (next === NO_NEXT_HEADER) {
          out.payloadLen = 0;
          return;
        }
        if (out.fragOffset !== 0) setPayload(f, o, segEnd, out, st); // a later fragment
        else decodeIpProtocol(next, f, o, segEnd, out, st);
        return;
    }
    if (n === MAX_EXTENSION_HEADERS) {
      out.proto = next;
      markMalformed(out, 'ipv6: more than 16 extension headers');
      return;
    }
    if (o + hdrLen > segEnd) {
      out.proto = next;
      markShort(out, st, o + hdrLen, 'ipv6: extension header cut short');
      return;
    }
    next = f[o]!;
    o += hdrLen;
    if (out.fragOffset !== 0) {
      // later fragment: what follows the fragment header is not a header
      out.proto = next;
      setPayload(f, o, segEnd, out, st);
      return;
    }
  }
}
