// Agent side of enrollment and renewal: a fresh RSA key pair made on the host (the private
// key never leaves it) and a CSR for it. The CSR subject is a fixed placeholder, so no host
// name is disclosed; the collector puts the agent id it assigns into the certificate.
import type { KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { forgePublicKey, generateRsaKey, nativeRsaSigner } from './rsa-signer.js';

export const AGENT_KEY_BITS = 3072;
const CSR_PLACEHOLDER_CN = 'meerkat-agent';

export function generateAgentKey(bits = AGENT_KEY_BITS): KeyObject {
  return generateRsaKey(bits);
}

export function createAgentCsr(key: KeyObject): string {
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forgePublicKey(key);
  csr.setSubject([{ shortName: 'CN', value: CSR_PLACEHOLDER_CN }]);
  csr.sign(nativeRsaSigner(key) as unknown as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return forge.pki.certificationRequestToPem(csr);
}
