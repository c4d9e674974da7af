// Per-Packet Information header (link type 192, CACE/AirPcap): version, flags, a
// little-endian header length and the link type of the frame that follows (usually
// 802.11, sometimes Ethernet), which is decoded through the link-type table.
import type { DecodedPacket } from '../decoded-packet.js';
import { MAX_LAYERS, markMalformed, markShort, type DecodeState } from '../decode-state.js';
import { linkTypeTable } from '../dispatch.js';

const PPI_MIN = 8;

export function decodePpi(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < PPI_MIN) {
    markShort(out, st, off + PPI_MIN, 'ppi: header cut short');
    return;
  }
  if (f[off] !== 0) return; // only version 0 is defined
  const len = f[off + 2]! | (f[off + 3]! << 8);
  if (len < PPI_MIN) {
    markMalformed(out, 'ppi: header length < 8');
    return;
  }
  if (off + len > end) {
    markShort(out, st, off + len, 'ppi: header cut short');
    return;
  }
  if (++st.layers > MAX_LAYERS) {
    markMalformed(out, 'decode: too many nested headers');
    return;
  }
  const dlt = (f[off + 4]! | (f[off + 5]! << 8) | (f[off + 6]! << 16) | (f[off + 7]! << 24)) >>> 0;
  const d = linkTypeTable.get(dlt);
  if (d !== undefined) d(f, off + len, end, out, st);
}
