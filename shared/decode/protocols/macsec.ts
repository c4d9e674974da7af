// MACsec (IEEE 802.1AE, EtherType 0x88E5): the SecTAG (TCI/AN, short length, packet
// number, and the 8-byte secure channel id when the SC bit says so). Integrity-only
// frames carry the protected EtherType and packet in the clear; encrypted ones end
// the decode. The ICV trailer is left past the end of the inner packet.
import type { DecodedPacket } from '../decoded-packet.js';
import { markShort, type DecodeState } from '../decode-state.js';
import { decodeEtherType } from '../dispatch.js';
import { u16 } from '../read-bytes.js';

const TCI_SC = 0x20;
const TCI_E = 0x08;
const TCI_C = 0x04;
const SECTAG = 6; // TCI/AN, SL, PN (the EtherType was read by the caller)
const SCI = 8;

export function decodeMacsec(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < SECTAG) {
    markShort(out, st, off + SECTAG, 'macsec: SecTAG cut short');
    return;
  }
  const tci = f[off]!;
  if ((tci & (TCI_E | TCI_C)) !== 0) return; // encrypted (or otherwise changed): nothing readable inside
  const o = off + SECTAG + ((tci & TCI_SC) !== 0 ? SCI : 0);
  if (end - o < 2) {
    markShort(out, st, o + 2, 'macsec: SecTAG cut short');
    return;
  }
  decodeEtherType(u16(f, o), f, o + 2, end, out, st);
}
