// ARP and RARP: the opcode, and for IPv4 ARP the sender/target protocol addresses
// in src/dst (ipVersion stays 0: it is not an IP packet).
import type { DecodedPacket } from '../decoded-packet.js';
import { markShort, type DecodeState } from '../decode-state.js';
import { ETHERTYPE_IPV4 } from '../protocol-numbers.js';
import { copyAddress, u16 } from '../read-bytes.js';

const ARPHRD_ATM = 19;

export function decodeArp(f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  if (end - off < 8) {
    markShort(out, st, off + 8, 'arp: header cut short');
    return;
  }
  out.arpOp = u16(f, off + 6);
  // ATMARP (RFC 2225) lays out its lengths and addresses differently
  if (u16(f, off) === ARPHRD_ATM) return;
  const ptype = u16(f, off + 2);
  const hlen = f[off + 4]!;
  const plen = f[off + 5]!;
  if (ptype !== ETHERTYPE_IPV4 || plen !== 4) return;
  const need = 8 + 2 * hlen + 8;
  if (end - off < need) {
    markShort(out, st, off + need, 'arp: addresses cut short');
    return;
  }
  copyAddress(f, off + 8 + hlen, out.src, 4);
  copyAddress(f, off + 8 + 2 * hlen + 4, out.dst, 4);
}
