// SHA-256 fingerprints of certificates: how an agent pins the CA it was told about in
// its enrollment token before it trusts anything the collector sends.
import { X509Certificate, createHash, timingSafeEqual } from 'node:crypto';

/** SHA-256 of the certificate's DER bytes. */
function certFingerprint(certPem: string): Buffer {
  return createHash('sha256').update(new X509Certificate(certPem).raw).digest();
}

/** Compact text form used inside enrollment tokens (base64url, 43 characters). */
export function certFingerprintB64(certPem: string): string {
  return certFingerprint(certPem).toString('base64url');
}

/** Colon-separated upper-case hex, as openssl and Node print it. */
export function certFingerprintHex(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

export function fingerprintMatches(certPem: string, pinned: Buffer): boolean {
  const fp = certFingerprint(certPem);
  return fp.length === pinned.length && timingSafeEqual(fp, pinned);
}
