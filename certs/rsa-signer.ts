// RSA keys live as node:crypto KeyObjects (generated and used natively); node-forge builds the
// certificate structures. This adapter lets forge's cert.sign()/csr.sign() use a native key:
// RSASSA-PKCS1-v1_5 is a private-key operation over the DER DigestInfo of the digest.
import { privateEncrypt, constants, createPublicKey, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

export { generateRsaKey, privateKeyPem } from './native-keys.js';

// DER prefix of DigestInfo { sha256, NULL } (RFC 8017 section 9.2, note 1)
const SHA256_DIGEST_INFO_PREFIX = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/** What forge's sign() calls: key.sign(md) returning the signature as a binary string. */
export interface ForgeSigner {
  sign(md: forge.md.MessageDigest): string;
}

export function nativeRsaSigner(key: KeyObject): ForgeSigner {
  return {
    sign(md: forge.md.MessageDigest): string {
      if (md.algorithm !== 'sha256') throw new Error(`native signer supports sha256 only, got ${md.algorithm}`);
      const digest = Buffer.from(md.digest().getBytes(), 'binary');
      const sig = privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([SHA256_DIGEST_INFO_PREFIX, digest]));
      return sig.toString('binary');
    },
  };
}

/** The forge public key object for a native key (forge needs it to embed in certs/CSRs). */
export function forgePublicKey(key: KeyObject): forge.pki.rsa.PublicKey {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return forge.pki.publicKeyFromPem(pub.export({ type: 'spki', format: 'pem' }).toString()) as forge.pki.rsa.PublicKey;
}
