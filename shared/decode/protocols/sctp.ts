// SCTP common header: ports (the chunks that follow are payload to us).
import type { DecodedPacket } from '../decoded-packet.js';
import { markShort, type DecodeState } from '../decode-state.js';
import { setPayload } from '../dispatch.js';
import { u16 } from '../read-bytes.js';

export function decodeSctp(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  const avail = end - off;
  if (avail >= 4) {
    out.sport = u16(f, off);
    out.dport = u16(f, off + 2);
  }
  if (avail < 12) {
    markShort(out, st, off + 12, 'sctp: header cut short');
    return;
  }
  setPayload(f, off + 12, end, out, st);
}
