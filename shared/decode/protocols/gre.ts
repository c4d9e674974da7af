// GRE (IP protocol 47): version 0 (RFC 2784/2890, optional checksum, key,
// sequence and the old source-route entries) and version 1 (PPTP, PPP inside).
// The protocol type is an EtherType; ERSPAN I/II/III and Cisco MetaData headers
// are stepped over to reach the frame they carry.
import { TunnelKind } from '../../packet/packet-record.js';
import type { DecodedPacket } from '../decoded-packet.js';
import { markShort, type DecodeState } from '../decode-state.js';
import { setPayload } from '../dispatch.js';
import { u16 } from '../read-bytes.js';
import { enterTunnel } from '../tunnel.js';
import { EtherType } from '../ether-types.js';

const GRE_C = 0x8000;
const GRE_R = 0x4000;
const GRE_K = 0x2000;
const GRE_S = 0x1000;
const GRE_A = 0x0080; // PPTP acknowledgment number present
const ETHERTYPE_ERSPAN_1_2 = 0x88be;
const ETHERTYPE_ERSPAN_3 = 0x22eb;
const ETHERTYPE_CISCO_METADATA = 0x8909;

export function decodeGre(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < 4) {
    markShort(out, st, off + 4, 'gre: header cut short');
    return;
  }
  const flags = u16(f, off);
  let proto = u16(f, off + 2);
  const version = flags & 7;
  let hl = 4;
  if (version === 0) {
    if ((flags & (GRE_C | GRE_R)) !== 0) hl += 4;
    if ((flags & GRE_K) !== 0) hl += 4;
    if ((flags & GRE_S) !== 0) hl += 4;
    if ((flags & GRE_R) !== 0) {
      // source route entries: family(2) offset(1) length(1) data, until a NUL entry
      for (;;) {
        if (off + hl + 4 > end) {
          markShort(out, st, off + hl + 4, 'gre: routing cut short');
          return;
        }
        const sreLen = f[off + hl + 3]!;
        const family = u16(f, off + hl);
        hl += 4 + sreLen;
        if (family === 0 && sreLen === 0) break;
      }
    }
  } else if (version === 1) {
    hl = 8; // PPTP: payload length and call id always present
    if ((flags & GRE_S) !== 0) hl += 4;
    if ((flags & GRE_A) !== 0) hl += 4;
  } else {
    setPayload(f, off + 4, end, out, st);
    return;
  }
  if (off + hl > end) {
    markShort(out, st, off + hl, 'gre: header cut short');
    return;
  }
  let o = off + hl;
  setPayload(f, o, end, out, st);
  if (!st.innerTunnels) return;
  switch (proto) {
    case ETHERTYPE_ERSPAN_1_2:
      if ((flags & GRE_S) !== 0) o += 8; // type II header; type I has none
      proto = EtherType.TransparentEthernet;
      break;
    case ETHERTYPE_ERSPAN_3:
      if (end - o < 12) return;
      o += (f[o + 11]! & 1) !== 0 ? 20 : 12; // optional platform-specific subheader
      proto = EtherType.TransparentEthernet;
      break;
    case ETHERTYPE_CISCO_METADATA:
      // in GRE the CMD header starts with the payload EtherType, then version, length, option, SGT
      if (end - o < 8) return;
      proto = u16(f, o);
      o += 8;
      break;
    default:
      break;
  }
  enterTunnel(TunnelKind.Gre, proto, f, o, end, out, st);
}
