// UDP: ports and length; payloads on registered tunnel ports (VXLAN, VXLAN-GPE,
// Geneve, Teredo, GTP-U, AYIYA, GRE and MPLS in UDP) are handed to their tunnel decoder,
// and so is Teredo between a client and a relay, on ports of their own (by its look).
import { RecordFlag } from '../../packet/packet-record.js';
import type { DecodedPacket } from '../decoded-packet.js';
import { markMalformed, markShort, type DecodeState } from '../decode-state.js';
import { setPayload, udpTunnelPortTable } from '../dispatch.js';
import { u16 } from '../read-bytes.js';
import { decodeTeredo, looksLikeTeredo } from './teredo.js';

const MAX_UDP_LENGTH = 0xffff;

export function decodeUdp(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  const avail = end - off;
  if (avail < 8) {
    if (avail >= 4) {
      out.sport = u16(f, off);
      out.dport = u16(f, off + 2);
    }
    markShort(out, st, off + 8, 'udp: header cut short');
    return;
  }
  const sport = u16(f, off);
  const dport = u16(f, off + 2);
  out.sport = sport;
  out.dport = dport;
  const ulen = u16(f, off + 4);
  setPayload(f, off + 8, end, out, st);
  // a length of 0 in a datagram too long for the field: an IPv6 jumbogram (RFC 2675) or a
  // BIG TCP / GSO packet; the IP packet gives the length
  if (ulen < 8 && !(ulen === 0 && st.declEnd - off > MAX_UDP_LENGTH)) markMalformed(out, 'udp: length < 8');
  else if (off + ulen > st.declEnd && (out.flags & RecordFlag.Fragment) === 0) markMalformed(out, 'udp: length exceeds the IP payload');
  if (!st.innerTunnels) return;
  const tunnel = udpTunnelPortTable.get(dport) ?? udpTunnelPortTable.get(sport);
  if (tunnel !== undefined) tunnel(f, off + 8, end, out, st);
  else if (looksLikeTeredo(f, off + 8, end, ulen - 8)) decodeTeredo(f, off + 8, end, out, st);
}
