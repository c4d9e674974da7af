// Crypto-PAn prefix-preserving address pseudonyms (Xu, Fan, Ammar, Moon 2002) for IPv4 and
// IPv6, and their inverse. Owns only the bijection; caching and policy live in
// address-anonymizer.ts.
//
// Scheme (full width, classic): output bit i = input bit i XOR f(first i input bits), where
// f(p) = most significant bit of AES-128_K(p || pad[i..]) — the AES input block is the
// i-bit prefix followed by the remaining bits of a secret pad. Two inputs sharing exactly k
// leading bits therefore share exactly k leading output bits.
//
// Keys: 32 bytes = 16 AES key + 16 pad seed. IPv4 uses pad = AES_K(seed) exactly as the
// reference implementation, so it reproduces the published sample trace. IPv6 uses its own
// pad, AES_K(seed XOR "Meerkat IPv6 pad"): with the shared pad of the usual IPv6 extension,
// a v6 address whose first 32 bits equal some v4 address gets the same first 32 pseudonym
// bits (identical AES inputs), a needless cross-family correlation.
//
// Speed: AES in ECB mode encrypts blocks independently, so all 32 (or 128) blocks of one
// address go to OpenSSL in a single update() call, and the blocks of the longest prefix
// shared with the previous address are reused. Deanonymizing is inherently sequential
// (bit i's block needs the recovered bits before it) and is for the owner's console only.
import { createCipheriv, type Cipher } from 'node:crypto';
import { MeerkatError } from '../errors.js';
import { V6_PAD_TWEAK } from './cryptopan-async.js';

const CRYPTOPAN_KEY_BYTES = 32;

/** The key given to CryptoPan has the wrong shape. */
export class CryptoPanKeyError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_CRYPTOPAN_KEY';
  constructor(what: string) {
    super(`Crypto-PAn key: ${what}`);
    this.name = 'CryptoPanKeyError';
  }
}

export interface CryptoPanOptions {
  /**
   * 'derived' (default): IPv6 uses its own pad (see header).
   * 'shared': IPv6 uses the IPv4 pad, like other public IPv6 extensions of Crypto-PAn
   * (kept for cross-checking against their published vectors; not used by Meerkat).
   */
  v6Pad?: 'derived' | 'shared';
}


/** Writes the blocks for bit positions [from, to) of a 16-byte address into `blocks`. */
function fillPrefixBlocks(blocks: Uint8Array, pad: Uint8Array, addr: Uint8Array, addrOff: number, from: number, to: number): void {
  for (let pos = from; pos < to; pos++) {
    const base = pos << 4;
    const full = pos >> 3;
    // whole prefix bytes, then one mixed byte; bytes after it hold the pad (pre-filled)
    for (let j = 0; j < full; j++) blocks[base + j] = addr[addrOff + j]!;
    const rem = pos & 7;
    const m = (0xff00 >> rem) & 0xff;
    blocks[base + full] = (addr[addrOff + full]! & m) | (pad[full]! & ~m & 0xff);
  }
}

function commonPrefixBits16(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): number {
  for (let i = 0; i < 16; i++) {
    const x = a[aOff + i]! ^ b[bOff + i]!;
    if (x !== 0) return (i << 3) + Math.clz32(x) - 24;
  }
  return 128;
}

export class CryptoPan {
  private readonly cipher: Cipher;
  private readonly pad4: Uint8Array;
  private readonly pad6: Uint8Array;
  /** first 32 pad bits as a number (IPv4 blocks differ from the pad only there) */
  private readonly pad4Word: number;
  // IPv4: 32 blocks; only bytes 0..3 of each change per address
  private readonly blocks4 = new Uint8Array(32 * 16);
  private last4 = 0;
  private lastF4 = 0; // f bits of last4 (bit 31 = position 0)
  private valid4 = false;
  // IPv6: 128 blocks
  private readonly blocks6 = new Uint8Array(128 * 16);
  private readonly last6 = new Uint8Array(16);
  private readonly lastF6 = new Uint8Array(16);
  private valid6 = false;
  private readonly one = new Uint8Array(16);
  private readonly tmp6 = new Uint8Array(16);

  constructor(key: Uint8Array, opts: CryptoPanOptions = {}) {
    if (!(key instanceof Uint8Array)) throw new CryptoPanKeyError('expected a Uint8Array');
    if (key.length !== CRYPTOPAN_KEY_BYTES) {
      throw new CryptoPanKeyError(`expected ${CRYPTOPAN_KEY_BYTES} bytes (16 AES key + 16 pad), got ${key.length}`);
    }
    this.cipher = createCipheriv('aes-128-ecb', key.subarray(0, 16), null);
    this.cipher.setAutoPadding(false);
    const seed = key.subarray(16, 32);
    this.pad4 = this.encrypt(seed);
    if (opts.v6Pad === 'shared') {
      this.pad6 = this.pad4;
    } else {
      const t = new Uint8Array(16);
      for (let i = 0; i < 16; i++) t[i] = seed[i]! ^ V6_PAD_TWEAK[i]!;
      this.pad6 = this.encrypt(t);
    }
    this.pad4Word = ((this.pad4[0]! << 24) | (this.pad4[1]! << 16) | (this.pad4[2]! << 8) | this.pad4[3]!) >>> 0;
    for (let b = 0; b < 32; b++) this.blocks4.set(this.pad4, b << 4);
    for (let b = 0; b < 128; b++) this.blocks6.set(this.pad6, b << 4);
  }

  /** One AES block (16 bytes) -> new 16-byte array. */
  private encrypt(block: Uint8Array): Uint8Array {
    return Uint8Array.from(this.cipher.update(block));
  }

  /** f bits for every position of `a` (bit 31 - i = f(first i bits)). */
  private fBits4(a: number): number {
    let from = 0;
    let bits = 0;
    if (this.valid4) {
      // block i depends on the first i bits only: positions 0..common are unchanged
      const common = Math.clz32((a ^ this.last4) >>> 0);
      if (common === 32) return this.lastF4;
      from = common + 1;
      // keep the f bits of positions [0, from); >>> 32 would be >>> 0, hence the special case
      if (from === 32) bits = this.lastF4;
      else bits = this.lastF4 & ~(0xffffffff >>> from);
    }
    if (from === 32) {
      this.last4 = a;
      return bits >>> 0;
    }
    const blocks = this.blocks4;
    const padW = this.pad4Word;
    for (let pos = from; pos < 32; pos++) {
      const mask = pos === 0 ? 0 : (0xffffffff << (32 - pos)) >>> 0;
      const w = ((a & mask) | (padW & ~mask)) >>> 0;
      const base = pos << 4;
      blocks[base] = w >>> 24;
      blocks[base + 1] = (w >>> 16) & 0xff;
      blocks[base + 2] = (w >>> 8) & 0xff;
      blocks[base + 3] = w & 0xff;
    }
    const out = this.cipher.update(blocks.subarray(from << 4));
    for (let pos = from; pos < 32; pos++) {
      bits |= (out[(pos - from) << 4]! >>> 7) << (31 - pos);
    }
    bits >>>= 0;
    this.last4 = a;
    this.lastF4 = bits;
    this.valid4 = true;
    return bits;
  }

  /** Pseudonym of an IPv4 address given as an unsigned 32-bit number. */
  anonymizeV4(a: number): number {
    a >>>= 0;
    return (a ^ this.fBits4(a)) >>> 0;
  }

  /** Real address behind an IPv4 pseudonym (inverse of anonymizeV4). */
  deanonymizeV4(p: number): number {
    p >>>= 0;
    const one = this.one;
    one.set(this.pad4);
    let orig = 0;
    for (let pos = 0; pos < 32; pos++) {
      const mask = pos === 0 ? 0 : (0xffffffff << (32 - pos)) >>> 0;
      const w = ((orig & mask) | (this.pad4Word & ~mask)) >>> 0;
      one[0] = w >>> 24;
      one[1] = (w >>> 16) & 0xff;
      one[2] = (w >>> 8) & 0xff;
      one[3] = w & 0xff;
      const f = this.cipher.update(one)[0]! >>> 7;
      const bit = ((p >>> (31 - pos)) & 1) ^ f;
      orig = (orig | (bit << (31 - pos))) >>> 0;
    }
    return orig;
  }

  /** f bits of a 16-byte address into lastF6 (MSB-first, like the address). */
  private fBits6(src: Uint8Array, srcOff: number): Uint8Array {
    let from = 0;
    const f = this.lastF6;
    if (this.valid6) {
      const common = commonPrefixBits16(src, srcOff, this.last6, 0);
      if (common === 128) return f;
      from = common + 1;
      // keep f bits [0, from), clear the rest
      const keepBytes = from >> 3;
      const rem = from & 7;
      if (keepBytes < 16) {
        f[keepBytes]! &= (0xff00 >> rem) & 0xff;
        for (let i = keepBytes + 1; i < 16; i++) f[i] = 0;
      }
    } else {
      f.fill(0);
    }
    if (from < 128) {
      fillPrefixBlocks(this.blocks6, this.pad6, src, srcOff, from, 128);
      const out = this.cipher.update(this.blocks6.subarray(from << 4));
      for (let pos = from; pos < 128; pos++) {
        f[pos >> 3]! |= (out[(pos - from) << 4]! >>> 7) << (7 - (pos & 7));
      }
    }
    for (let i = 0; i < 16; i++) this.last6[i] = src[srcOff + i]!;
    this.valid6 = true;
    return f;
  }

  /** Pseudonym of the 16-byte IPv6 address at src[srcOff] into out[outOff] (may be the same place). */
  anonymizeV6(src: Uint8Array, srcOff: number, out: Uint8Array, outOff: number): void {
    const f = this.fBits6(src, srcOff);
    for (let i = 0; i < 16; i++) out[outOff + i] = src[srcOff + i]! ^ f[i]!;
  }

  /** Real IPv6 address behind the pseudonym at src[srcOff] into out[outOff] (may be the same place). */
  deanonymizeV6(src: Uint8Array, srcOff: number, out: Uint8Array, outOff: number): void {
    const orig = this.tmp6;
    orig.fill(0);
    const one = this.one;
    for (let pos = 0; pos < 128; pos++) {
      one.set(this.pad6);
      const full = pos >> 3;
      for (let j = 0; j < full; j++) one[j] = orig[j]!;
      const m = (0xff00 >> (pos & 7)) & 0xff;
      one[full] = (orig[full]! & m) | (this.pad6[full]! & ~m & 0xff);
      const fb = this.cipher.update(one)[0]! >>> 7;
      const shift = 7 - (pos & 7);
      const bit = ((src[srcOff + full]! >>> shift) & 1) ^ fb;
      orig[full]! |= bit << shift;
    }
    for (let i = 0; i < 16; i++) out[outOff + i] = orig[i]!;
  }
}
