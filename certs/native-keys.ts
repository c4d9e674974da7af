// RSA keys as node:crypto KeyObjects: generation and PEM export. Kept apart from the
// node-forge adapter (rsa-signer.ts) so code that only stores keys, like the agent's
// identity, does not load forge.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';

export function generateRsaKey(bits: number): KeyObject {
  return generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 0x10001 }).privateKey;
}

export function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}
