// Crypto-PAn (cryptopan.ts) over an AES-128 block function that may be asynchronous, for the
// owner's view in a browser, where the only AES is WebCrypto's (async, no ECB mode): pseudonym
// text -> real address and back, with the same pads and the same IPv4-mapped-IPv6 rule as the
// agent (pseudonym-text.ts). No node: imports, so the console bundle includes it as it is;
// test/shared/anonymize/cryptopan-async.test.ts checks it against cryptopan.ts.
import { formatIp, parseIp } from '../net/ip-address.js';

/** XORed into the pad seed for IPv6 (cryptopan.ts explains why IPv6 has a pad of its own). */
export const V6_PAD_TWEAK = new TextEncoder().encode('Meerkat IPv6 pad'); // 16 bytes

/** AES-128 of one 16-byte block under the first 16 bytes of the anonymization key. */
export type AesBlock = (block: Uint8Array) => Promise<Uint8Array>;

export class AsyncCryptoPan {
  private constructor(private readonly aes: AesBlock, private readonly pad4: Uint8Array, private readonly pad6: Uint8Array) {}

  /** `seed`: bytes 16..31 of the anonymization key; `aes` encrypts under bytes 0..15. */
  static async create(aes: AesBlock, seed: Uint8Array): Promise<AsyncCryptoPan> {
    if (seed.length !== 16) throw new RangeError('Crypto-PAn pad seed: 16 bytes expected');
    const pad4 = Uint8Array.from(await aes(seed));
    const t = new Uint8Array(16);
    for (let i = 0; i < 16; i++) t[i] = seed[i]! ^ V6_PAD_TWEAK[i]!;
    const pad6 = Uint8Array.from(await aes(t));
    return new AsyncCryptoPan(aes, pad4, pad6);
  }

  /** Rewrites `bits` bits of addr (bytes, MSB first) in place: inverse = pseudonym -> real. */
  private async rewrite(addr: Uint8Array, bits: number, pad: Uint8Array, inverse: boolean): Promise<void> {
    const src = Uint8Array.from(addr);
    const orig = inverse ? new Uint8Array(addr.length) : src;
    const block = new Uint8Array(16);
    const out = new Uint8Array(addr.length);
    for (let pos = 0; pos < bits; pos++) {
      // the AES input: the first `pos` bits of the real address, the rest from the pad
      block.set(pad);
      const full = pos >> 3;
      for (let j = 0; j < full; j++) block[j] = orig[j]!;
      const m = (0xff00 >> (pos & 7)) & 0xff;
      block[full] = (orig[full]! & m) | (pad[full]! & ~m & 0xff);
      const f = (await this.aes(block))[0]! >>> 7;
      const shift = 7 - (pos & 7);
      const bit = ((src[full]! >>> shift) & 1) ^ f;
      out[full]! |= bit << shift;
      if (inverse) orig[full]! |= bit << shift;
    }
    addr.set(out);
  }

  private async map(text: string, inverse: boolean): Promise<string> {
    const a = parseIp(text);
    const b = a.bytes;
    let mapped = a.version === 6;
    for (let i = 0; i < 10 && mapped; i++) if (b[i] !== 0) mapped = false;
    mapped &&= b[10] === 0xff && b[11] === 0xff;
    if (a.version === 4 || mapped) {
      const off = a.version === 4 ? 0 : 12;
      const v4 = b.subarray(off, off + 4);
      await this.rewrite(v4, 32, this.pad4, inverse);
    } else {
      await this.rewrite(b, 128, this.pad6, inverse);
    }
    return formatIp(a.version, b);
  }

  /** Pseudonym text -> the real address. @throws AddressParseError */
  deanonymize(text: string): Promise<string> {
    return this.map(text, true);
  }

  /** Real address text -> its pseudonym. @throws AddressParseError */
  anonymize(text: string): Promise<string> {
    return this.map(text, false);
  }
}
