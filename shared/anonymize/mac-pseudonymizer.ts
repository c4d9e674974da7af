// Keyed MAC address pseudonyms (or zeros), so no raw MAC leaves the agent.
//
// pseudonym = first 6 bytes of HMAC-SHA256(macKey, mac), then the locally-administered bit
// set and the group bit cleared, so a pseudonym can never be mistaken for (or collide with)
// a real vendor-assigned address. macKey is derived from the owner's anonymization key.
//
// The OUI (vendor prefix) is NOT kept: it names the device maker, which narrows down a
// machine (a rare NIC vendor on a network is nearly an identifier) and, kept, would make a
// pseudonym look like a real globally-unique address. Pseudonyms are not invertible (the
// owner recovers a MAC by pseudonymizing candidate MACs from the inventory and comparing).
import { createHmac } from 'node:crypto';
import { PseudonymCache } from './pseudonym-cache.js';
import { deriveMacKey } from './key-derivation.js';

export type MacMode = 'pseudonym' | 'drop';

const DEFAULT_MAC_CACHE = 4096;

export class MacPseudonymizer {
  readonly mode: MacMode;
  readonly stats = { lookups: 0, misses: 0 };
  private readonly macKey: Uint8Array;
  private readonly cache: PseudonymCache;
  private readonly input = new Uint8Array(7);

  /** @param key the owner's 32-byte anonymization key */
  constructor(key: Uint8Array, mode: MacMode, cacheSize = DEFAULT_MAC_CACHE) {
    if (mode !== 'pseudonym' && mode !== 'drop') throw new RangeError(`MAC mode must be 'pseudonym' or 'drop', got ${String(mode)}`);
    this.mode = mode;
    this.macKey = deriveMacKey(key);
    this.cache = new PseudonymCache(2, cacheSize);
  }

  /** Writes the pseudonym of the 6-byte MAC at src[off] to out[outOff] (may be the same place). */
  pseudonymize(src: Uint8Array, off: number, out: Uint8Array, outOff: number): void {
    if (this.mode === 'drop') {
      for (let i = 0; i < 6; i++) out[outOff + i] = 0;
      return;
    }
    const c = this.cache;
    c.key[0] = (src[off]! << 8) | src[off + 1]!;
    c.key[1] = (src[off + 2]! << 24) | (src[off + 3]! << 16) | (src[off + 4]! << 8) | src[off + 5]!;
    this.stats.lookups++;
    if (!c.get()) {
      this.stats.misses++;
      this.compute(src, off);
      c.put();
    }
    const v = c.value;
    out[outOff] = v[0]! >>> 8;
    out[outOff + 1] = v[0]! & 0xff;
    out[outOff + 2] = v[1]! >>> 24;
    out[outOff + 3] = (v[1]! >>> 16) & 0xff;
    out[outOff + 4] = (v[1]! >>> 8) & 0xff;
    out[outOff + 5] = v[1]! & 0xff;
  }

  /** Miss path: HMAC into cache.value. */
  private compute(src: Uint8Array, off: number): void {
    const inp = this.input;
    for (let i = 0; i < 6; i++) inp[i] = src[off + i]!;
    const k = this.cache.key;
    // A pseudonym equal to its input (possible only for a locally-administered input, odds
    // 2^-46) would ship a raw MAC: hash again with a counter byte until it differs.
    for (let round = 0; ; round++) {
      inp[6] = round;
      const h = createHmac('sha256', this.macKey).update(round === 0 ? inp.subarray(0, 6) : inp).digest();
      const b0 = (h[0]! | 0x02) & 0xfe;
      const hi = (b0 << 8) | h[1]!;
      const lo = (h[2]! << 24) | (h[3]! << 16) | (h[4]! << 8) | h[5]!;
      if (hi !== k[0] || lo !== k[1] || round >= 255) {
        this.cache.value[0] = hi;
        this.cache.value[1] = lo;
        return;
      }
    }
  }
}
