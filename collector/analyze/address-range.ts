// The smallest prefix covering a set of addresses (their common leading bits), grown one
// address at a time: what a sweep alert names as its swept range. Works on pseudonyms too:
// the pseudonymization is prefix-preserving, so the pseudonyms of a /24 share a /24.
import { formatCidr, parseIp } from '../../shared/net/ip-address.js';

export class AddressRange {
  private version: 4 | 6 | 0 = 0;
  private readonly bytes = new Uint8Array(16);
  private prefixLen = 0;
  /** addresses of the other family than the first one (not part of the range) */
  otherFamily = 0;

  /** Adds an address (text as records carry it); text that is no address is ignored. */
  add(addr: string): void {
    let a: { version: 4 | 6; bytes: Uint8Array };
    try {
      a = parseIp(addr);
    } catch {
      return;
    }
    if (this.version === 0) {
      this.version = a.version;
      this.bytes.set(a.bytes);
      this.prefixLen = a.version === 4 ? 32 : 128;
      return;
    }
    if (a.version !== this.version) { this.otherFamily++; return; }
    this.prefixLen = Math.min(this.prefixLen, commonBits(this.bytes, a.bytes, this.prefixLen));
  }

  /** Length of the common prefix so far (0 before any address). */
  get length(): number {
    return this.prefixLen;
  }

  /**
   * The range as CIDR text. `coarse`: no narrower than a /24 (IPv4) or /64 (IPv6), the unit
   * sweeps are named by, so a sweep that goes on over its /24 keeps the name it got first.
   */
  text(coarse: boolean): string {
    if (this.version === 0) return '';
    const max = coarse ? (this.version === 4 ? 24 : 64) : this.version === 4 ? 32 : 128;
    const len = Math.min(this.prefixLen, max);
    const b = Uint8Array.from(this.bytes);
    for (let bit = len; bit < (this.version === 4 ? 32 : 128); bit++) b[bit >> 3]! &= ~(0x80 >> (bit & 7));
    return formatCidr({ version: this.version, bytes: b, prefixLen: len });
  }
}

/** Leading bits a and b share (at most `limit`). */
function commonBits(a: Uint8Array, b: Uint8Array, limit: number): number {
  for (let i = 0; i < 16; i++) {
    const x = a[i]! ^ b[i]!;
    if (x === 0) continue;
    return Math.min(limit, i * 8 + Math.clz32(x) - 24);
  }
  return limit;
}
