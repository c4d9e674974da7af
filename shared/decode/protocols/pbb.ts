// IEEE 802.1ah Provider Backbone Bridging (EtherType 0x88e7): a 4-byte I-tag (priority,
// flags, service instance id), then the customer's Ethernet frame, whose MAC
// addresses replace the backbone ones (as Zeek reports them). Nests: a customer
// frame may itself be PBB (bounded by the layer limit).
import type { DecodedPacket } from '../decoded-packet.js';
import { markShort, type DecodeState } from '../decode-state.js';
import { decodeEthernet } from './ethernet.js';
import { forgetMacFacts } from './fabricpath.js';

const I_TAG = 4;

export function decodePbb(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < I_TAG) {
    markShort(out, st, off + I_TAG, 'pbb: I-tag cut short');
    return;
  }
  if (st.tunnelDepth === 0) forgetMacFacts(out); // inside a tunnel the outer frame's MACs stay
  decodeEthernet(f, off + I_TAG, end, out, st);
}
