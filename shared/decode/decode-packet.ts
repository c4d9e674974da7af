// The decoder's entry point: one captured frame -> the reused DecodedPacket.
// Never throws: hostile input ends in Truncated/Malformed flags and an `issue`.
import { RecordFlag } from '../packet/packet-record.js';
import type { DecodedPacket } from './decoded-packet.js';
import { DecodeState } from './decode-state.js';
import { linkTypeTable } from './dispatch.js';
import './register-protocols.js';

export interface DecodeOptions {
  /**
   * Decode the packet inside tunnels (GRE, VXLAN, Geneve, Teredo, GTP-U, IP-in-IP,
   * 6in4) into the record, flagged Inner. Default true. False stops at the outer
   * packet, as a flow engine needs for the tunnel connection itself.
   */
  innerTunnels?: boolean;
}

const state = new DecodeState();
let internalErrors = 0;

/**
 * Decodes `frame` (captured bytes of a frame of link type `linkType`, `wireLen`
 * bytes on the wire) into `out`, after out.reset(). Returns `out`.
 * Views in `out` (frame, payload) point into `frame`.
 */
export function decodePacket(linkType: number, frame: Uint8Array, wireLen: number, tsUs: number, out: DecodedPacket, opts?: DecodeOptions): DecodedPacket {
  out.reset();
  out.tsUs = tsUs;
  out.linkType = linkType;
  out.frame = frame;
  out.capLen = frame.length;
  out.wireLen = wireLen;
  const st = state;
  st.begin(frame.length, wireLen, opts === undefined || opts.innerTunnels !== false);
  const d = linkTypeTable.get(linkType);
  if (d === undefined) return out;
  try {
    d(frame, 0, frame.length, out, st);
  } catch {
    // A decoder bug must not take the capture down; tests assert this never happens.
    internalErrors++;
    out.flags |= RecordFlag.Malformed;
    out.issue = 'decode: internal error';
  }
  return out;
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
