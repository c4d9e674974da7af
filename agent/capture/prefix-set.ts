// A small set of CIDR prefixes (IPv4 and IPv6) tested against PacketRecord address bytes
// without allocating: prefixes are kept as 32-bit (net, mask) words in typed arrays.
// Pure; meant for a handful to a few dozen prefixes (linear scan).
import { parseCidr } from '../../shared/net/ip-address.js';

function word(b: Uint8Array, off: number): number {
  return (b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!;
}

function maskWord(prefixLen: number, w: number): number {
  const bits = Math.min(32, Math.max(0, prefixLen - 32 * w));
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) | 0;
}

export class PrefixSet {
  /** IPv4: net, mask pairs */
  private v4: Int32Array = new Int32Array(0);
  /** IPv6: 4 net words then 4 mask words per prefix */
  private v6: Int32Array = new Int32Array(0);

  /** @throws AddressParseError naming a bad CIDR */
  constructor(cidrs: readonly string[] = []) {
    this.set(cidrs);
  }

  /** Replaces the prefixes (bare addresses count as /32 or /128). */
  set(cidrs: readonly string[]): void {
    const a4: number[] = [];
    const a6: number[] = [];
    for (const text of cidrs) {
      const c = parseCidr(text);
      if (c.version === 4) a4.push(word(c.bytes, 0), maskWord(c.prefixLen, 0));
      else {
        for (let w = 0; w < 4; w++) a6.push(word(c.bytes, 4 * w));
        for (let w = 0; w < 4; w++) a6.push(maskWord(c.prefixLen, w));
      }
    }
    this.v4 = Int32Array.from(a4);
    this.v6 = Int32Array.from(a6);
  }

  get size(): number {
    return this.v4.length / 2 + this.v6.length / 8;
  }

  /** Whether addr (16-byte record layout, IPv4 in 0..3) falls in one of the prefixes. */
  contains(version: number, addr: Uint8Array): boolean {
    if (version === 4) {
      const a = word(addr, 0);
      const n = this.v4;
      for (let i = 0; i < n.length; i += 2) if ((a & n[i + 1]!) === n[i]) return true;
      return false;
    }
    if (version !== 6) return false;
    const n = this.v6;
    if (n.length === 0) return false;
    const k0 = word(addr, 0), k1 = word(addr, 4), k2 = word(addr, 8), k3 = word(addr, 12);
    for (let i = 0; i < n.length; i += 8) {
      if ((k0 & n[i + 4]!) === n[i] && (k1 & n[i + 5]!) === n[i + 1] && (k2 & n[i + 6]!) === n[i + 2] && (k3 & n[i + 7]!) === n[i + 3]) return true;
    }
    return false;
  }
}
