// ICMP and ICMPv6: type and code go into sport/dport (the flow key convention);
// everything after the 8-byte header (echo data, quoted packets) is payload.
import type { DecodedPacket } from '../decoded-packet.js';
import { markShort, type DecodeState } from '../decode-state.js';
import { setPayload } from '../dispatch.js';

function decodeIcmpCommon(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState, issue: string): void {
  const avail = end - off;
  if (avail >= 2) {
    out.sport = f[off]!;
    out.dport = f[off + 1]!;
  }
  if (avail < 8) {
    markShort(out, st, off + 8, issue);
    return;
  }
  setPayload(f, off + 8, end, out, st);
}

export function decodeIcmp(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  decodeIcmpCommon(f, off, end, out, st, 'icmp: header cut short');
}

export function decodeIcmpv6(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  decodeIcmpCommon(f, off, end, out, st, 'icmpv6: header cut short');
}
