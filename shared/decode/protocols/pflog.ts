// OpenBSD/FreeBSD pf logs (link type 117): a header whose first byte is its length
// (padded to 4 bytes on the wire) and whose second byte is the address family of the
// logged IPv4/IPv6 packet that follows.
import type { DecodedPacket } from '../decoded-packet.js';
import { markMalformed, markShort, type DecodeState } from '../decode-state.js';
import { decodeEtherType } from '../dispatch.js';
import { loopbackFamilyToEtherType } from './null-loopback.js';

/** the smallest pfloghdr: length, af, action, reason, ifname[16], ruleset[16], rule numbers, uid, pid... */
const PFLOG_MIN = 45;

export function decodePflog(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < 2) {
    markShort(out, st, off + 2, 'pflog: header cut short');
    return;
  }
  const len = (f[off]! + 3) & ~3;
  if (f[off]! < PFLOG_MIN) {
    markMalformed(out, 'pflog: header length too small');
    return;
  }
  if (off + len > end) {
    markShort(out, st, off + len, 'pflog: header cut short');
    return;
  }
  const et = loopbackFamilyToEtherType(f[off + 1]!);
  if (et !== 0) decodeEtherType(et, f, off + len, end, out, st);
}
