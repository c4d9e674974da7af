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
  /** where the captured bytes end (an index into the buffer the frame lies in) */
  frameEnd = 0;
  /** the capture (or an outer fragment) ended before the packet did: short headers are Truncated, not Malformed */
  capShort = false;
  /**
   * End of the innermost enclosing packet as its headers declare it, as an index
   * into the frame's buffer (may lie beyond frameEnd). Starts at the wire length;
   * each IP layer narrows it for the layers inside.
   */
  declEnd = 0;
  /** decode the packet inside tunnels (GRE, VXLAN, ...): maxTunnelDepth > 0 */
  innerTunnels = true;
  /** how many tunnels deep to decode (DecodeOptions.maxTunnelDepth) */
  maxTunnelDepth = MAX_TUNNEL_DEPTH;
  /** hand out the payload as a view (DecodeOptions.payloadView) */
  payloadView = true;
  tunnelDepth = 0;
  /** layers crossed so far (see MAX_LAYERS) */
  layers = 0;

  /** A frame of capLen captured bytes starting at index `start` of its buffer. */
  begin(start: number, capLen: number, wireLen: number, maxTunnelDepth: number, payloadView: boolean): void {
    this.frameEnd = start + capLen;
    this.capShort = capLen < wireLen;
    this.declEnd = start + (wireLen > capLen ? wireLen : capLen);
    this.maxTunnelDepth = maxTunnelDepth;
    this.innerTunnels = maxTunnelDepth > 0;
    this.payloadView = payloadView;
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
  out.flags |= st.capShort && needEnd > st.frameEnd ? RecordFlag.Truncated : RecordFlag.Malformed;
  out.issue = issue;
}

/** A header contradicts itself. */
export function markMalformed(out: DecodedPacket, issue: string): void {
  out.flags |= RecordFlag.Malformed;
  out.issue = issue;
}
