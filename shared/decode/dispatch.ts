// The decoder's dispatch tables (link type, EtherType, IP protocol, UDP tunnel
// port) and the entry points every layer uses to hand the rest of the frame on.
// Tables start empty; register-protocols.ts fills them.
import { DispatchTable } from './dispatch-table.js';
import { MAX_LAYERS, markMalformed, type DecodeState } from './decode-state.js';
import type { DecodedPacket } from './decoded-packet.js';

export const linkTypeTable = new DispatchTable('link type', 65536);
export const etherTypeTable = new DispatchTable('EtherType', 65536);
export const ipProtocolTable = new DispatchTable('IP protocol', 256);
/** UDP ports whose payload is a tunnel (checked destination port first, then source) */
export const udpTunnelPortTable = new DispatchTable('UDP tunnel port', 65536);

/** Records the EtherType and decodes what it announces (nothing when unknown). */
export function decodeEtherType(type: number, f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  out.etherType = type;
  if (++st.layers > MAX_LAYERS) {
    markMalformed(out, 'decode: too many nested headers');
    return;
  }
  const d = etherTypeTable.get(type);
  if (d !== undefined) d(f, off, end, out, st);
}

/**
 * Decodes the transport header of IP protocol `proto` at off. Protocols without a
 * decoder just expose their bytes as payload.
 */
export function decodeIpProtocol(proto: number, f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (++st.layers > MAX_LAYERS) {
    markMalformed(out, 'decode: too many nested headers');
    return;
  }
  out.l4Off = off;
  const d = ipProtocolTable.get(proto);
  if (d !== undefined) d(f, off, end, out, st);
  else setPayload(f, off, end, out, st);
}

/**
 * Payload starts at off: its declared length runs to the enclosing packet's end, its captured
 * bytes to `end` (a view of them only when the caller wants one: it costs an object per packet).
 */
export function setPayload(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  out.payloadOff = off;
  out.payloadLen = st.declEnd > off ? st.declEnd - off : 0;
  if (end > off && st.payloadView) out.payload = f.subarray(off, end);
}
