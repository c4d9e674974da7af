// One AES-128 block with WebCrypto (browsers, and Node's globalThis.crypto): WebCrypto has no
// ECB mode, but the first block of CBC with a zero IV is exactly AES_K(block) - the padding
// block it appends is dropped. Used by the owner's view in the web console (cryptopan-async.ts).
import { AsyncCryptoPan, type AesBlock } from './cryptopan-async.js';

const ZERO_IV = new Uint8Array(16);

export async function webCryptoAesBlock(key16: Uint8Array): Promise<AesBlock> {
  if (key16.length !== 16) throw new RangeError('AES-128 key: 16 bytes expected');
  const key = await globalThis.crypto.subtle.importKey('raw', Uint8Array.from(key16), { name: 'AES-CBC' }, false, ['encrypt']);
  return async (block) => new Uint8Array(await globalThis.crypto.subtle.encrypt({ name: 'AES-CBC', iv: ZERO_IV }, key, Uint8Array.from(block)), 0, 16);
}

/** Crypto-PAn of a 32-byte anonymization key with WebCrypto (the key stays non-extractable inside WebCrypto). */
export async function webCryptoPan(anonKey: Uint8Array): Promise<AsyncCryptoPan> {
  if (anonKey.length !== 32) throw new RangeError('anonymization key: 32 bytes expected');
  return AsyncCryptoPan.create(await webCryptoAesBlock(anonKey.subarray(0, 16)), anonKey.slice(16, 32));
}
