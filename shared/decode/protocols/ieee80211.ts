// IEEE 802.11 data frames (link type 105) and the radiotap header in front of
// them (127). Only unprotected data frames carry decodable packets: LLC/SNAP then
// an EtherType (of an A-MSDU aggregate, the first subframe's). Management, control
// and encrypted frames end the decode.
import type { DecodedPacket } from '../decoded-packet.js';
import { markMalformed, markShort, type DecodeState } from '../decode-state.js';
import { u16 } from '../read-bytes.js';
import { decodeLlc, setMacFacts } from './ethernet.js';

const RADIOTAP_F_FCS = 0x10;
const MSDU_SUBFRAME_HEADER = 14;

export function decodeRadiotap(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < 8) {
    markShort(out, st, off + 8, 'radiotap: header cut short');
    return;
  }
  const len = f[off + 2]! | (f[off + 3]! << 8);
  if (len < 8) {
    markMalformed(out, 'radiotap: header length < 8');
    return;
  }
  if (off + len > end) {
    markShort(out, st, off + len, 'radiotap: header cut short');
    return;
  }
  // Walk the present-bitmap words to find the first field; TSFT (bit 0, 8 bytes,
  // 8-aligned) may precede Flags (bit 1), which says whether an FCS ends the frame.
  let o = off + 4;
  const present0 = f[o]! | (f[o + 1]! << 8) | (f[o + 2]! << 16) | (f[o + 3]! << 24);
  while ((f[o + 3]! & 0x80) !== 0 && o + 8 <= off + len) o += 4;
  o += 4;
  let frameEnd = end;
  if ((present0 & 2) !== 0) {
    if ((present0 & 1) !== 0) o = off + (((o - off) + 7) & ~7) + 8;
    if (o < off + len && (f[o]! & RADIOTAP_F_FCS) !== 0 && st.frameEnd >= st.declEnd) frameEnd -= 4;
  }
  decodeIeee80211(f, off + len, frameEnd, out, st);
}

export function decodeIeee80211(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < 24) {
    markShort(out, st, off + 24, '802.11: header cut short');
    return;
  }
  const fc0 = f[off]!;
  const fc1 = f[off + 1]!;
  if (((fc0 >> 2) & 3) !== 2) return; // not a data frame
  const subtype = fc0 >> 4;
  if ((subtype & 4) !== 0) return; // null function: no body
  if ((fc1 & 0x40) !== 0) return; // protected: encrypted body
  const toDs = fc1 & 1;
  const fromDs = fc1 & 2;
  let hdr = 24;
  if (toDs !== 0 && fromDs !== 0) hdr += 6;
  const qos = (subtype & 8) !== 0;
  let qosOff = -1;
  if (qos) {
    qosOff = off + hdr;
    hdr += 2;
    if ((fc1 & 0x80) !== 0) hdr += 4; // HT control field
  }
  if (end - off < hdr) {
    markShort(out, st, off + hdr, '802.11: header cut short');
    return;
  }
  if (out.dstMacOff < 0) {
    // address roles depend on the distribution-system bits
    const a1 = off + 4, a2 = off + 10, a3 = off + 16, a4 = off + 24;
    if (toDs === 0) setMacFacts(f, a1, fromDs === 0 ? a2 : a3, out);
    else setMacFacts(f, a3, fromDs === 0 ? a2 : a4, out);
  }
  if (qosOff >= 0 && (f[qosOff]! & 0x80) !== 0) {
    decodeFirstMsduSubframe(f, off + hdr, end, out, st);
    return;
  }
  decodeLlc(f, off + hdr, end, out, st);
}

/**
 * A-MSDU: several packets in one frame, each behind a subframe header (DA, SA, length).
 * A record holds one packet: the first subframe's.
 */
function decodeFirstMsduSubframe(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < MSDU_SUBFRAME_HEADER) {
    markShort(out, st, off + MSDU_SUBFRAME_HEADER, '802.11: A-MSDU subframe header cut short');
    return;
  }
  const subEnd = off + MSDU_SUBFRAME_HEADER + u16(f, off + 12);
  decodeLlc(f, off + MSDU_SUBFRAME_HEADER, subEnd < end ? subEnd : end, out, st);
}
