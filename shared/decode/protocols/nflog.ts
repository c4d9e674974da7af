// Linux NFLOG (link type 239): a 4-byte header (address family, version, group)
// then TLVs whose length and type are in the capturing host's byte order; the
// packet itself is TLV type 9 (NFULA_PAYLOAD).
import type { DecodedPacket } from '../decoded-packet.js';
import { markMalformed, markShort, type DecodeState } from '../decode-state.js';
import { decodeEtherType } from '../dispatch.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../protocol-numbers.js';

const NFULA_PAYLOAD = 9;
const AF_INET = 2;
const AF_INET6 = 10;

export function decodeNflog(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < 4) {
    markShort(out, st, off + 4, 'nflog: frame shorter than its header');
    return;
  }
  const family = f[off]!;
  let o = off + 4;
  // TLV types are small: a zero low byte in the first type means big-endian fields
  const le = !(end - o >= 4 && f[o + 2] === 0 && f[o + 3] !== 0);
  while (end - o >= 4) {
    const len = le ? f[o]! | (f[o + 1]! << 8) : (f[o]! << 8) | f[o + 1]!;
    const type = (le ? f[o + 2]! | (f[o + 3]! << 8) : (f[o + 2]! << 8) | f[o + 3]!) & 0x7fff;
    if (len < 4) {
      markMalformed(out, 'nflog: TLV length < 4');
      return;
    }
    if (type === NFULA_PAYLOAD) {
      const pEnd = o + len;
      if (pEnd > end && !st.capShort) markMalformed(out, 'nflog: payload TLV runs past the frame');
      const e = pEnd < end ? pEnd : end;
      const et = family === AF_INET ? ETHERTYPE_IPV4 : family === AF_INET6 ? ETHERTYPE_IPV6 : 0;
      if (et !== 0) decodeEtherType(et, f, o + 4, e, out, st);
      return;
    }
    o += (len + 3) & ~3;
  }
}
