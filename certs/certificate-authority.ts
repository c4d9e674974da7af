// The CA: its forge certificate (for issuing) and its native private key (for signing).
// Creating one is rare (pki init); loading one happens at every collector start.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { KeyFileError } from '../shared/keys/key-file-error.js';
import { readPemFile } from './pem-files.js';
import { forgePublicKey, generateRsaKey, nativeRsaSigner } from './rsa-signer.js';
import { randomSerialHex } from './serial-number.js';

export interface CertificateAuthority {
  cert: forge.pki.Certificate;
  certPem: string;
  key: KeyObject;
}

export interface CreateCaOptions {
  /** subject common name; default "Meerkat CA" */
  commonName?: string;
  /** RSA modulus bits, at least 3072 (default 3072) */
  bits?: number;
  /** validity in days (default 3650) */
  days?: number;
}

const MIN_CA_BITS = 3072;
const DAY_MS = 86_400_000;
/** certificates start a little in the past so an agent whose clock lags still accepts them */
export const BACKDATE_MS = 5 * 60_000;

export function createCa(opts: CreateCaOptions = {}): CertificateAuthority {
  const bits = opts.bits ?? MIN_CA_BITS;
  if (bits < MIN_CA_BITS) throw new RangeError(`CA key must have at least ${MIN_CA_BITS} bits, got ${bits}`);
  const key = generateRsaKey(bits);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forgePublicKey(key);
  cert.serialNumber = randomSerialHex();
  const now = Date.now();
  cert.validity.notBefore = new Date(now - BACKDATE_MS);
  cert.validity.notAfter = new Date(now + (opts.days ?? 3650) * DAY_MS);
  const name = [{ shortName: 'CN', value: opts.commonName ?? 'Meerkat CA' }, { shortName: 'O', value: 'Meerkat' }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(nativeRsaSigner(key) as unknown as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return { cert, certPem: forge.pki.certificateToPem(cert), key };
}

/** Loads a CA from its certificate and key files; KeyFileError names the bad file. */
export function loadCa(certFile: string, keyFile: string): CertificateAuthority {
  const certPem = readPemFile(certFile, ['CERTIFICATE'], 'the CA certificate');
  let cert: forge.pki.Certificate;
  try {
    cert = forge.pki.certificateFromPem(certPem);
  } catch (e) {
    throw new KeyFileError(certFile, 'expected a parseable X.509 CA certificate', e);
  }
  const keyPem = readPemFile(keyFile, ['PRIVATE KEY', 'RSA PRIVATE KEY'], 'the CA private key');
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (e) {
    throw new KeyFileError(keyFile, 'expected a parseable RSA private key', e);
  }
  if (key.asymmetricKeyType !== 'rsa') throw new KeyFileError(keyFile, `expected an RSA private key, got ${key.asymmetricKeyType}`);
  // the key must belong to the certificate, or everything it signs fails later and far away
  const certModulus = (cert.publicKey as forge.pki.rsa.PublicKey).n.toString(16);
  if (forgePublicKey(key).n.toString(16) !== certModulus) {
    throw new KeyFileError(keyFile, `expected the private key of the CA certificate ${certFile} (the key does not match it)`);
  }
  return { cert, certPem, key };
}

/** Signs a forge certificate with the CA key (sha256WithRSAEncryption). */
export function signWithCa(ca: CertificateAuthority, cert: forge.pki.Certificate): void {
  cert.setIssuer(ca.cert.subject.attributes);
  cert.sign(nativeRsaSigner(ca.key) as unknown as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
}
