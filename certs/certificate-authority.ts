// The CAs: the collector's root and the per-organisation intermediates it signs, each a forge
// certificate (for issuing) with its native private key (for signing). A root made before
// organisations has pathlen 0 (it signs agents itself: the `default` organisation of an old
// installation); a root made now has pathlen 1, so it can sign one intermediate per
// organisation, which signs that organisation's agents. Creating one is rare (pki init, org
// create); loading one happens at every collector start.
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
  /** basicConstraints pathlen: 1 (default) lets it sign organisation CAs; 0 was the pre-organisation root */
  pathLen?: number;
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
    { name: 'basicConstraints', cA: true, pathLenConstraint: opts.pathLen ?? 1, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(nativeRsaSigner(key) as unknown as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return { cert, certPem: forge.pki.certificateToPem(cert), key };
}

/** The basicConstraints pathlen of a CA certificate (undefined: unlimited or not a CA). */
export function caPathLen(ca: CertificateAuthority): number | undefined {
  const bc = ca.cert.getExtension('basicConstraints') as { cA?: boolean; pathLenConstraint?: number } | null;
  return bc?.cA ? bc.pathLenConstraint : undefined;
}

/**
 * The same root (key, subject, validity) certified again with pathlen 1, so a root made before
 * organisations can sign organisation CAs. Everything the old certificate signed still verifies
 * (same key and name), so enrolled agents, which keep the old certificate as their pinned CA,
 * go on working; the new certificate has a new fingerprint (new enrollment tokens carry it).
 */
export function recertifyRoot(ca: CertificateAuthority, pathLen = 1): CertificateAuthority {
  const cert = forge.pki.createCertificate();
  cert.publicKey = ca.cert.publicKey;
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = ca.cert.validity.notBefore;
  cert.validity.notAfter = ca.cert.validity.notAfter;
  cert.setSubject(ca.cert.subject.attributes);
  cert.setIssuer(ca.cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: pathLen, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(nativeRsaSigner(ca.key) as unknown as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return { cert, certPem: forge.pki.certificateToPem(cert), key: ca.key };
}

export interface IntermediateCaOptions {
  /** the organisation id: subject OU, and what every agent certificate it signs must name */
  org: string;
  bits?: number;
  /** validity in days (default 3650, never past the root's end) */
  days?: number;
}

/**
 * An organisation CA signed by the root: pathlen 0 (it signs agents, never another CA),
 * subject CN=Meerkat organisation <org>, OU=<org>, O=Meerkat.
 */
export function createIntermediateCa(root: CertificateAuthority, opts: IntermediateCaOptions): CertificateAuthority {
  const bits = opts.bits ?? MIN_CA_BITS;
  if (bits < 2048) throw new RangeError(`organisation CA key must have at least 2048 bits, got ${bits}`);
  const key = generateRsaKey(bits);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forgePublicKey(key);
  cert.serialNumber = randomSerialHex();
  const now = Date.now();
  cert.validity.notBefore = new Date(now - BACKDATE_MS);
  const end = now + (opts.days ?? 3650) * DAY_MS;
  cert.validity.notAfter = new Date(Math.min(end, root.cert.validity.notAfter.getTime()));
  cert.setSubject([{ shortName: 'CN', value: `Meerkat organisation ${opts.org}` }, { shortName: 'OU', value: opts.org }, { shortName: 'O', value: 'Meerkat' }]);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: root.cert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  signWithCa(root, cert);
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
