// Per-call scratch state of the decoder (one module-level instance, reset per
// packet): what the layers need to know about the frame as a whole, and how to
// flag a header that does not fit.
import { RecordFlag } from '../packet/packet-record.js';
import type { DecodedPacket } from './decoded-packet.js';

/** Deepest tunnel nesting decoded (outer + 3 inner layers). */
export const MAX_TUNNEL_DEPTH = 3;
/** Most layers crossed in one frame (VLAN tags, MPLS stacks, tunnels...): bounds recursion on hostile input. */
export const MAX_LAYERS = 40;
/** Stand-in for "the enclosing packet's real end is unknown" (a tunnel inside an outer IP fragment). */
export const UNKNOWN_END = 0x7fffffff;

export class DecodeState {
  /** bytes captured */
  frameLen = 0;
  /** the capture (or an outer fragment) ended before the packet did: short headers are Truncated, not Malformed */
  capShort = false;
  /**
   * End of the innermost enclosing packet as its headers declare it, in frame
   * offsets (may lie beyond frameLen). Starts as the wire length; each IP layer
   * narrows it for the layers inside.
   */
  declEnd = 0;
  /** decode the packet inside tunnels (GRE, VXLAN, ...) */
  innerTunnels = true;
  tunnelDepth = 0;
  /** layers crossed so far (see MAX_LAYERS) */
  layers = 0;

  begin(frameLen: number, wireLen: number, innerTunnels: boolean): void {
    this.frameLen = frameLen;
    this.capShort = frameLen < wireLen;
    this.declEnd = wireLen > frameLen ? wireLen : frameLen;
    this.innerTunnels = innerTunnels;
    this.tunnelDepth = 0;
    this.layers = 0;
  }
}

/**
 * A header needs bytes up to needEnd that are not there. Truncated when the capture
 * cut the frame short before that point; Malformed when the packet itself says it
 * is shorter than its own headers.
 */
export function markShort(out: DecodedPacket, st: DecodeState, needEnd: number, issue: string): void {
  out.flags |= st.capShort && needEnd > st.frameLen ? RecordFlag.Truncated : RecordFlag.Malformed;
  out.issue = issue;
}

/** A header contradicts itself. */
export function markMalformed(out: DecodedPacket, issue: string): void {
  out.flags |= RecordFlag.Malformed;
  out.issue = issue;
}
