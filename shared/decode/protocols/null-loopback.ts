// BSD loopback encapsulations: NULL (link type 0, address family in the capturing
// host's byte order) and LOOP (108, network byte order). Either byte order is
// accepted: the family is a small number, so its position gives the order away.
import type { DecodedPacket } from '../decoded-packet.js';
import { markShort, type DecodeState } from '../decode-state.js';
import { decodeEtherType } from '../dispatch.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../protocol-numbers.js';

/** Address family number -> EtherType of the payload; 0 when unknown. */
export function loopbackFamilyToEtherType(af: number): number {
  switch (af) {
    case 2: return ETHERTYPE_IPV4; // AF_INET everywhere
    case 10: // AF_INET6: Linux
    case 23: // Windows (Npcap loopback)
    case 24: // NetBSD, OpenBSD, BSD/OS
    case 28: // FreeBSD, DragonFly
    case 30: // Darwin
      return ETHERTYPE_IPV6;
    default: return 0;
  }
}

export function decodeNullLoopback(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < 4) {
    markShort(out, st, off + 4, 'loopback: frame shorter than its header');
    return;
  }
  const b0 = f[off]!;
  const b3 = f[off + 3]!;
  let af = -1;
  if (f[off + 1] === 0 && f[off + 2] === 0) {
    if (b3 === 0) af = b0; // little-endian
    else if (b0 === 0) af = b3; // big-endian
  }
  const et = loopbackFamilyToEtherType(af);
  if (et !== 0) decodeEtherType(et, f, off + 4, end, out, st);
}
