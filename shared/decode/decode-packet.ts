// The decoder's entry points: one captured frame -> the reused DecodedPacket.
// Never throws: hostile input ends in Truncated/Malformed flags and an `issue`.
import { RecordFlag } from '../packet/packet-record.js';
import type { DecodedPacket } from './decoded-packet.js';
import { DecodeState, MAX_TUNNEL_DEPTH } from './decode-state.js';
import { linkTypeTable } from './dispatch.js';
import './register-protocols.js';

export interface DecodeOptions {
  /**
   * Decode the packet inside tunnels (GRE, VXLAN, Geneve, Teredo, GTP-U, IP-in-IP,
   * 6in4) into the record, flagged Inner. Default true. False stops at the outer
   * packet, as a flow engine needs for the tunnel connection itself.
   */
  innerTunnels?: boolean;
  /**
   * Decode at most this many tunnels deep (0..3, default 3): 0 is the outermost packet
   * (like innerTunnels: false), 1 the packet inside the first tunnel, and so on. With
   * DecodedPacket.tunnelDepth from a full decode, a caller can visit every layer of a
   * nested tunnel (Zeek logs a connection for each).
   */
  maxTunnelDepth?: number;
  /**
   * Hand out the captured payload as a view in `payload`. Default true. False leaves
   * `payload` empty (payloadOff and payloadLen are still set): for callers that pick the
   * payload bytes themselves, like the agent's snap policy, and would drop the view unread.
   */
  payloadView?: boolean;
}

const state = new DecodeState();
let internalErrors = 0;

/**
 * Decodes the frame buf[offset, offset + capLen) (link type `linkType`, `wireLen` bytes
 * on the wire) into `out`, after out.reset(). Returns `out`.
 * out.frame is `buf` and out.frameOff is `offset`: every offset in `out` indexes buf, and
 * views in `out` (payload) point into it. Taking the frame as (buf, offset) lets readers
 * and capture batches hand over one big buffer without a view object per packet.
 */
export function decodeFrame(
  linkType: number, buf: Uint8Array, offset: number, capLen: number, wireLen: number, tsUs: number,
  out: DecodedPacket, opts?: DecodeOptions,
): DecodedPacket {
  out.reset();
  out.tsUs = tsUs;
  out.linkType = linkType;
  out.frame = buf;
  out.frameOff = offset;
  out.capLen = capLen;
  out.wireLen = wireLen;
  const st = state;
  if (opts === undefined) st.begin(offset, capLen, wireLen, MAX_TUNNEL_DEPTH, true);
  else st.begin(offset, capLen, wireLen, tunnelDepthOf(opts), opts.payloadView !== false);
  const d = linkTypeTable.get(linkType);
  if (d === undefined) return out;
  try {
    d(buf, offset, offset + capLen, out, st);
  } catch {
    // A decoder bug must not take the capture down; tests assert this never happens.
    internalErrors++;
    out.flags |= RecordFlag.Malformed;
    out.issue = 'decode: internal error';
  }
  return out;
}

/**
 * Decodes `frame` (all of it: the captured bytes of a frame of link type `linkType`,
 * `wireLen` bytes on the wire) into `out`, after out.reset(). Returns `out`.
 * Views in `out` (frame, payload) point into `frame`; offsets index it.
 */
export function decodePacket(linkType: number, frame: Uint8Array, wireLen: number, tsUs: number, out: DecodedPacket, opts?: DecodeOptions): DecodedPacket {
  return decodeFrame(linkType, frame, 0, frame.length, wireLen, tsUs, out, opts);
}

/** The tunnel depth `opts` asks for (0..MAX_TUNNEL_DEPTH). */
export function tunnelDepthOf(opts: DecodeOptions): number {
  if (opts.innerTunnels === false) return 0;
  const d = opts.maxTunnelDepth;
  return d === undefined || !(d < MAX_TUNNEL_DEPTH) ? MAX_TUNNEL_DEPTH : d > 0 ? Math.floor(d) : 0;
}

const OUTER_ONLY: DecodeOptions = { innerTunnels: false };

/** decodePacket stopping at the outermost IP packet (tunnel payloads left undecoded). */
export function decodeOuter(linkType: number, frame: Uint8Array, wireLen: number, tsUs: number, out: DecodedPacket): DecodedPacket {
  return decodePacket(linkType, frame, wireLen, tsUs, out, OUTER_ONLY);
}

/** Whether decodePacket has a decoder for this link type. */
export function isLinkTypeSupported(linkType: number): boolean {
  return linkTypeTable.has(linkType);
}

/** Exceptions caught inside decodePacket since start (should stay 0; a bug otherwise). */
export function decoderInternalErrors(): number {
  return internalErrors;
}
