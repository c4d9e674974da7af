// Operator identity on the operators' API: client certificates issued by the collector's CA with
// subject CN=<operator name>, OU=operator (the role marker), O=Meerkat operator and EKU
// clientAuth, plus the operators' API's own server certificate (localhost, 127.0.0.1, ::1 and any
// configured names). Operators are revoked through the same signed revocation list as agents,
// under the id "operator:<name>", so the CRL lists their serials too. Agent certificates
// (CN = a UUID, no OU) can never pass as operators, nor operator certificates as agents (their
// CN is never a UUID).
import { X509Certificate, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import type { CertificateAuthority } from './certificate-authority.js';
import { isAgentId, issueServerCert, signClientCertificate } from './issue-certificates.js';
import { appendIssuance, readIssuance } from './issuance-log.js';
import { PUBLIC_MODE, SECRET_MODE, writeFileAtomic } from './pem-files.js';
import { forgePublicKey, generateRsaKey, privateKeyPem } from './rsa-signer.js';
import type { RevocationList } from './revocation-list.js';
import { formatIp, parseIp } from '../shared/net/ip-address.js';
import { InputError } from '../shared/errors.js';
import { isOperatorName } from '../shared/commands/operator-keys.js';

/**
 * The operator directory (the console's --operator-dir, default ~/.meerkat/operator): the API
 * client certificate, its key and the collector CA written here, beside the operator's signing
 * key op.key / op.pub (shared/commands/operator-keys.ts).
 */
export const OPERATOR_CERT_FILE = 'operator.crt';
export const OPERATOR_CERT_KEY_FILE = 'operator.key';
export const OPERATOR_CA_FILE = 'ca.crt';

const OPERATOR_OU = 'operator';
export const OPERATOR_REVOCATION_PREFIX = 'operator:';
const DAY_MS = 86_400_000;
const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';

export class OperatorNameError extends InputError {
  readonly code = 'MEERKAT_ERR_OPERATOR_NAME';
  constructor(name: string) {
    super(`operator name ${JSON.stringify(name)}: expected 1-64 characters of letters, digits, . _ @ - (not an agent id)`);
    this.name = 'OperatorNameError';
  }
}

export function checkOperatorName(name: string): string {
  if (!isOperatorName(name) || isAgentId(name.toLowerCase())) throw new OperatorNameError(name);
  return name;
}

export interface OperatorCredentials {
  name: string;
  certPem: string;
  keyPem: string;
  serial: string;
  notAfter: Date;
}

/** Issues an operator client certificate (the key is generated here, on the collector host). */
export function issueOperatorCertificate(ca: CertificateAuthority, name: string, opts: { days?: number; bits?: number } = {}): OperatorCredentials {
  checkOperatorName(name);
  const key: KeyObject = generateRsaKey(opts.bits ?? 3072);
  const subject = [{ shortName: 'CN', value: name }, { shortName: 'OU', value: OPERATOR_OU }, { shortName: 'O', value: 'Meerkat operator' }];
  const cert = signClientCertificate(ca, forgePublicKey(key), subject, opts.days ?? 365);
  return { name, certPem: forge.pki.certificateToPem(cert), keyPem: privateKeyPem(key), serial: cert.serialNumber, notAfter: cert.validity.notAfter };
}

/**
 * Writes an operator's certificate, its key (0600) and the collector CA into the operator
 * directory (created 0700), the layout the console's admin client reads.
 */
export function writeOperatorCredentials(dir: string, c: OperatorCredentials, caCertPem: string): void {
  if (mkdirSync(dir, { recursive: true, mode: 0o700 }) !== undefined) chmodSync(dir, 0o700);
  writeFileAtomic(join(dir, OPERATOR_CERT_KEY_FILE), c.keyPem, SECRET_MODE);
  writeFileAtomic(join(dir, OPERATOR_CERT_FILE), c.certPem, PUBLIC_MODE);
  writeFileAtomic(join(dir, OPERATOR_CA_FILE), caCertPem, PUBLIC_MODE);
}

/** Issues an operator certificate, records the issuance in the PKI directory and writes it into the operator directory. */
export function writeOperatorCertificate(pkiDir: string, ca: CertificateAuthority, name: string, dir: string, opts: { days?: number } = {}): OperatorCredentials {
  const creds = issueOperatorCertificate(ca, name, opts.days ? { days: opts.days } : {});
  recordOperatorIssuance(pkiDir, creds);
  writeOperatorCredentials(dir, creds, ca.certPem);
  return creds;
}

/** Log of issued operator certificates beside the agents' (pki/operators.jsonl). */
function operatorLogPath(pkiDir: string): string {
  return join(pkiDir, 'operators.jsonl');
}

export function recordOperatorIssuance(pkiDir: string, c: OperatorCredentials): void {
  appendIssuance(operatorLogPath(pkiDir), {
    agentId: OPERATOR_REVOCATION_PREFIX + c.name,
    serial: c.serial,
    notBefore: new Date().toISOString(),
    notAfter: c.notAfter.toISOString(),
    issuedAt: new Date().toISOString(),
    kind: 'enroll',
  });
}

export function operatorSerials(pkiDir: string, name: string): string[] {
  return readIssuance(operatorLogPath(pkiDir)).filter((r) => r.agentId === OPERATOR_REVOCATION_PREFIX + name).map((r) => r.serial);
}

export function listOperators(pkiDir: string): { name: string; serial: string; notAfter: string; issuedAt: string }[] {
  return readIssuance(operatorLogPath(pkiDir)).map((r) => ({ name: r.agentId.slice(OPERATOR_REVOCATION_PREFIX.length), serial: r.serial, notAfter: r.notAfter, issuedAt: r.issuedAt }));
}

export interface AdminTlsFiles {
  cert: string;
  key: string;
}

/**
 * The operators' API's server certificate (pki/admin.crt + admin.key), issued by the collector CA
 * for localhost, 127.0.0.1, ::1 and `extraNames`/`extraIps`; re-issued when missing, about to
 * expire (30 days) or lacking a requested name.
 */
export function ensureAdminServerCert(pkiDir: string, ca: CertificateAuthority, extra: { names?: string[]; ips?: string[] } = {}): { certPem: string; keyPem: string; files: AdminTlsFiles } {
  const files = { cert: join(pkiDir, 'admin.crt'), key: join(pkiDir, 'admin.key') };
  const names = ['localhost', ...(extra.names ?? [])];
  const ips = ['127.0.0.1', '::1', ...(extra.ips ?? [])];
  if (existsSync(files.cert) && existsSync(files.key)) {
    try {
      const pem = readFileSync(files.cert, 'utf8');
      const x = new X509Certificate(pem);
      const san = (x.subjectAltName ?? '').split(', ');
      const sanIps = new Set(san.filter((e) => e.startsWith('IP Address:')).map((e) => canonicalIp(e.slice(11))));
      const covers = names.every((n) => san.includes(`DNS:${n}`)) && ips.every((ip) => sanIps.has(canonicalIp(ip)));
      const fresh = Date.parse(x.validTo) - Date.now() > 30 * DAY_MS;
      if (covers && fresh && x.checkIssued(new X509Certificate(ca.certPem))) return { certPem: pem, keyPem: readFileSync(files.key, 'utf8'), files };
    } catch { /* re-issue below */ }
  }
  const key = generateRsaKey(3072);
  const issued = issueServerCert(ca, key, { serverNames: names, serverIps: ips, days: 397 });
  const keyPem = privateKeyPem(key);
  writeFileAtomic(files.key, keyPem, SECRET_MODE);
  writeFileAtomic(files.cert, issued.certPem + ca.certPem, PUBLIC_MODE);
  return { certPem: issued.certPem + ca.certPem, keyPem, files };
}

function canonicalIp(text: string): string {
  try {
    const a = parseIp(text);
    return formatIp(a.version, a.bytes);
  } catch {
    return text;
  }
}

/** What the TLS layer tells us about a client certificate (tls.PeerCertificate subset). */
export interface ClientCertFacts {
  authorized: boolean;
  authorizationError: string | null | undefined;
  cert: { subject?: Record<string, string | string[] | undefined>; serialNumber?: string; ext_key_usage?: string[]; valid_to?: string; valid_from?: string } | null | undefined;
}

export type OperatorVerdict =
  | { ok: true; name: string; serial: string }
  | { ok: false; status: 401 | 403; reason: string; claimed: string };

function first(v: string | string[] | undefined): string {
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}

function all(v: string | string[] | undefined): string[] {
  return Array.isArray(v) ? v : v === undefined ? [] : [v];
}

/** Decides whether a TLS client is an operator. Pure. */
export function checkOperator(p: ClientCertFacts, revoked: RevocationList, nowMs = Date.now()): OperatorVerdict {
  const cert = p.cert;
  const claimed = first(cert?.subject?.CN);
  if (!cert || !cert.serialNumber) return { ok: false, status: 401, reason: 'no client certificate: the collector\'s API needs an operator certificate (`meerkat-collector pki operator create NAME` on the collector host)', claimed };
  if (!p.authorized) return { ok: false, status: 403, reason: `client certificate not accepted (${String(p.authorizationError ?? 'unverified')})`, claimed };
  if (cert.valid_to && Date.parse(cert.valid_to) < nowMs) return { ok: false, status: 403, reason: 'client certificate has expired', claimed };
  if (!all(cert.subject?.OU).includes(OPERATOR_OU)) return { ok: false, status: 403, reason: 'client certificate has no operator role (OU=operator)', claimed };
  if (!isOperatorName(claimed) || isAgentId(claimed.toLowerCase())) return { ok: false, status: 403, reason: 'client certificate CN is not an operator name', claimed };
  if (!cert.ext_key_usage?.includes(CLIENT_AUTH_OID)) return { ok: false, status: 403, reason: 'client certificate lacks the clientAuth extended key usage', claimed };
  if (revoked.isRevoked(OPERATOR_REVOCATION_PREFIX + claimed, cert.serialNumber)) return { ok: false, status: 403, reason: 'operator certificate is revoked', claimed };
  return { ok: true, name: claimed, serial: cert.serialNumber };
}
