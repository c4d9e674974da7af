// The older 802.11 monitor-mode headers in front of an 802.11 frame: Prism (link
// type 119; its second word is the header length, in the capturing host's byte order)
// and AVS (163, also found under 119; a magic word, then the big-endian header length).
import type { DecodedPacket } from '../decoded-packet.js';
import { markMalformed, markShort, type DecodeState } from '../decode-state.js';
import { u32 } from '../read-bytes.js';
import { decodeIeee80211 } from './ieee80211.js';

const AVS_MAGIC = 0x80211001;
/** AVS header version 1 and 2 are 64 bytes; the length field says so */
const AVS_MIN = 8;
const PRISM_MIN = 8;

export function decodeAvs(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < AVS_MIN) {
    markShort(out, st, off + AVS_MIN, 'avs: header cut short');
    return;
  }
  skipHeader(u32(f, off + 4), AVS_MIN, 'avs', f, off, end, out, st);
}

export function decodePrism(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < PRISM_MIN) {
    markShort(out, st, off + PRISM_MIN, 'prism: header cut short');
    return;
  }
  if (u32(f, off) === AVS_MAGIC) {
    decodeAvs(f, off, end, out, st);
    return;
  }
  // message length in host byte order: a small number, so its position gives the order away
  const le = f[off + 4]! | (f[off + 5]! << 8) | (f[off + 6]! << 16) | (f[off + 7]! << 24);
  const len = (le >>> 0) <= 0xffff ? le : u32(f, off + 4);
  skipHeader(len, PRISM_MIN, 'prism', f, off, end, out, st);
}

function skipHeader(len: number, min: number, name: 'avs' | 'prism', f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (len < min || len > 0xffff) {
    markMalformed(out, name === 'avs' ? 'avs: bad header length' : 'prism: bad header length');
    return;
  }
  if (off + len > end) {
    markShort(out, st, off + len, name === 'avs' ? 'avs: header cut short' : 'prism: header cut short');
    return;
  }
  decodeIeee80211(f, off + len, end, out, st);
}
