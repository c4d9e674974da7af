// Issuing leaf certificates: the collector's server certificate, and client certificates
// (agents from their CSRs, operators in operator-certs.ts). The agent certificate's subject CN is the random agent id
// the collector assigned (never anything the CSR asked for, never a host name).
import { isIP } from 'node:net';
import type { KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { BACKDATE_MS, signWithCa, type CertificateAuthority } from './certificate-authority.js';
import { CsrError } from './errors.js';
import { forgePublicKey } from './rsa-signer.js';
import { randomSerialHex } from './serial-number.js';
import { AGENT_ID_RE } from '../shared/commands/command-schema.js';
import { isOrgId } from '../shared/orgs/org-id.js';

const DAY_MS = 86_400_000;
/** smallest RSA key an agent CSR may carry */
const MIN_AGENT_KEY_BITS = 2048;
/** largest CSR we parse (a 4096-bit CSR is under 2 KiB) */
const MAX_CSR_PEM_BYTES = 16 * 1024;

export interface IssuedCertificate {
  certPem: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

export interface ServerCertOptions {
  /** DNS subject alternative names; the first is also the CN */
  serverNames: string[];
  serverIps?: string[];
  days?: number;
}

export function isAgentId(s: string): boolean {
  return AGENT_ID_RE.test(s);
}

function validity(cert: forge.pki.Certificate, days: number): void {
  const now = Date.now();
  cert.validity.notBefore = new Date(now - BACKDATE_MS);
  cert.validity.notAfter = new Date(now + days * DAY_MS);
}

function issued(cert: forge.pki.Certificate): IssuedCertificate {
  return { certPem: forge.pki.certificateToPem(cert), serial: cert.serialNumber, notBefore: cert.validity.notBefore, notAfter: cert.validity.notAfter };
}

export function issueServerCert(ca: CertificateAuthority, key: KeyObject, opts: ServerCertOptions): IssuedCertificate {
  const names = opts.serverNames.filter((n) => n.length > 0);
  const ips = opts.serverIps ?? [];
  if (names.length === 0 && ips.length === 0) throw new RangeError('server certificate needs at least one name or IP address');
  for (const ip of ips) if (isIP(ip) === 0) throw new RangeError(`not an IP address for the server certificate: ${JSON.stringify(ip)}`);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forgePublicKey(key);
  cert.serialNumber = randomSerialHex();
  validity(cert, opts.days ?? 825);
  cert.setSubject([{ shortName: 'CN', value: names[0] ?? ips[0]! }, { shortName: 'O', value: 'Meerkat collector' }]);
  const altNames = [
    ...names.map((value) => ({ type: 2, value })),
    ...ips.map((ip) => ({ type: 7, ip })),
  ];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.cert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  signWithCa(ca, cert);
  return issued(cert);
}

/** Parses and verifies a CSR (self-signature, RSA key size). Throws CsrError. */
export function parseAgentCsr(csrPem: string): forge.pki.CertificateSigningRequest {
  if (typeof csrPem !== 'string' || csrPem.length > MAX_CSR_PEM_BYTES || !csrPem.includes('-----BEGIN CERTIFICATE REQUEST-----')) {
    throw new CsrError(`a PEM "CERTIFICATE REQUEST" of at most ${MAX_CSR_PEM_BYTES} bytes`);
  }
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromPem(csrPem);
  } catch (e) {
    throw new CsrError(`a parseable PKCS#10 request with an RSA key (${e instanceof Error ? e.message : String(e)})`);
  }
  const pub = csr.publicKey as forge.pki.rsa.PublicKey | null;
  if (!pub || typeof pub.n?.bitLength !== 'function') throw new CsrError('an RSA public key in the request');
  if (pub.n.bitLength() < MIN_AGENT_KEY_BITS) throw new CsrError(`an RSA key of at least ${MIN_AGENT_KEY_BITS} bits, got ${pub.n.bitLength()}`);
  let ok = false;
  try { ok = csr.verify(); } catch { ok = false; }
  if (!ok) throw new CsrError('a request signed by its own key (signature does not verify)');
  return csr;
}

export interface AgentCertOptions {
  /** validity in days (default 90; the agent renews before expiry) */
  days?: number;
  /** explicit validity window (tests, tooling); overrides days */
  notBefore?: Date;
  notAfter?: Date;
  /** the agent's organisation, written as subject OU (the collector checks it against the issuing CA's) */
  org?: string;
}

/** Issues a client certificate for the agent: CN = agentId, OU = its organisation, EKU clientAuth only. */
export function signAgentCsr(ca: CertificateAuthority, csrPem: string, agentId: string, opts: AgentCertOptions = {}): IssuedCertificate {
  if (!isAgentId(agentId)) throw new RangeError(`agent id must be a lower-case UUID, got ${JSON.stringify(agentId)}`);
  if (opts.org !== undefined && !isOrgId(opts.org)) throw new RangeError(`organisation id expected, got ${JSON.stringify(opts.org)}`);
  const csr = parseAgentCsr(csrPem);
  const subject = [
    { shortName: 'CN', value: agentId },
    ...(opts.org !== undefined ? [{ shortName: 'OU', value: opts.org }] : []),
    { shortName: 'O', value: 'Meerkat agent' },
  ];
  return issued(signClientCertificate(ca, csr.publicKey as forge.pki.rsa.PublicKey, subject, opts.days ?? 90, opts));
}

/**
 * A client certificate (EKU clientAuth only, not a CA) for `subject`, valid `days` from now
 * (backdated a little for clock skew) unless a window is given, signed by the CA.
 */
export function signClientCertificate(
  ca: CertificateAuthority, publicKey: forge.pki.PublicKey, subject: forge.pki.CertificateField[], days: number,
  window: { notBefore?: Date; notAfter?: Date } = {},
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = randomSerialHex();
  validity(cert, days);
  if (window.notBefore) cert.validity.notBefore = window.notBefore;
  if (window.notAfter) cert.validity.notAfter = window.notAfter;
  cert.setSubject(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.cert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  signWithCa(ca, cert);
  return cert;
}
