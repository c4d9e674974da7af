// Link types whose frames start directly with an IP header: RAW (101, and the
// platform DLT values 12/14 some files carry) tells the version by the first
// nibble; IPV4 (228) and IPV6 (229) fix it.
import type { DecodedPacket } from '../decoded-packet.js';
import { markMalformed, markShort, type DecodeState } from '../decode-state.js';
import { decodeEtherType } from '../dispatch.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../protocol-numbers.js';

export function decodeRawIp(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end <= off) {
    markShort(out, st, off + 1, 'raw: empty frame');
    return;
  }
  const v = f[off]! >> 4;
  if (v === 4) decodeEtherType(ETHERTYPE_IPV4, f, off, end, out, st);
  else if (v === 6) decodeEtherType(ETHERTYPE_IPV6, f, off, end, out, st);
  else markMalformed(out, 'raw: IP version is neither 4 nor 6');
}

export function decodeRawIpv4(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  decodeEtherType(ETHERTYPE_IPV4, f, off, end, out, st);
}

export function decodeRawIpv6(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  decodeEtherType(ETHERTYPE_IPV6, f, off, end, out, st);
}
