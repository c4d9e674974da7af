// The collector's PKI directory: layout, `initPki` (CA + server certificate + empty
// revocation list + CRL), loading it at start, and revoking an agent.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCa, loadCa, type CertificateAuthority } from './certificate-authority.js';
import { buildCrl, type CrlEntry } from './crl.js';
import { KeyFileError } from '../shared/keys/key-file-error.js';
import { certFingerprintB64, certFingerprintHex } from './fingerprint.js';
import { appendIssuance, readIssuance, type IssuanceRecord } from './issuance-log.js';
import { issueServerCert, type IssuedCertificate } from './issue-certificates.js';
import { PUBLIC_MODE, SECRET_MODE, readPemFile, writeFileAtomic } from './pem-files.js';
import { RevocationList, emptyRevocationData, saveRevocationList, type RevocationListData } from './revocation-list.js';
import { generateRsaKey, privateKeyPem } from './rsa-signer.js';
import { MeerkatError } from '../shared/errors.js';

export interface PkiPaths {
  dir: string;
  caCert: string;
  caKey: string;
  /** server certificate followed by the CA certificate (the chain the server sends) */
  serverCert: string;
  serverKey: string;
  revocations: string;
  crl: string;
  issuanceLog: string;
}

export function pkiPaths(dir: string): PkiPaths {
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    revocations: join(dir, 'revoked.json'),
    crl: join(dir, 'crl.pem'),
    issuanceLog: join(dir, 'issued.jsonl'),
  };
}

export interface InitPkiOptions {
  /** DNS names agents use to reach the collector (subject alternative names) */
  serverNames: string[];
  serverIps?: string[];
  /** replace an existing CA (invalidates every enrolled agent); default false */
  force?: boolean;
  caBits?: number;
  serverBits?: number;
  serverDays?: number;
  /** root pathlen (default 1: it signs one CA per organisation; 0 is the pre-organisation layout, kept for tests of the migration) */
  caPathLen?: number;
}

export interface InitPkiResult {
  paths: PkiPaths;
  /** SHA-256 of the CA certificate, base64url (what enrollment tokens carry) */
  caFingerprint: string;
  /** the same, colon hex (what openssl prints) */
  caFingerprintHex: string;
  server: IssuedCertificate;
}

export class PkiExistsError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_PKI_EXISTS';
  constructor(file: string) {
    super(`${file}: a CA already exists here; refusing to replace it (use --force to start over, which invalidates every enrolled agent)`);
    this.name = 'PkiExistsError';
  }
}

export function initPki(dir: string, opts: InitPkiOptions): InitPkiResult {
  const paths = pkiPaths(dir);
  if (!opts.force && (existsSync(paths.caKey) || existsSync(paths.caCert))) throw new PkiExistsError(paths.caCert);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = createCa({ ...(opts.caBits === undefined ? {} : { bits: opts.caBits }), ...(opts.caPathLen === undefined ? {} : { pathLen: opts.caPathLen }) });
  const serverKey = generateRsaKey(opts.serverBits ?? 3072);
  const server = issueServerCert(ca, serverKey, {
    serverNames: opts.serverNames,
    ...(opts.serverIps ? { serverIps: opts.serverIps } : {}),
    ...(opts.serverDays ? { days: opts.serverDays } : {}),
  });
  // key files first: a certificate without its key is useless, the reverse is harmless
  writeFileAtomic(paths.caKey, privateKeyPem(ca.key), SECRET_MODE);
  writeFileAtomic(paths.serverKey, privateKeyPem(serverKey), SECRET_MODE);
  writeFileAtomic(paths.caCert, ca.certPem, PUBLIC_MODE);
  writeFileAtomic(paths.serverCert, server.certPem + ca.certPem, PUBLIC_MODE);
  writeRevocations(paths, ca, emptyRevocationData());
  return { paths, caFingerprint: certFingerprintB64(ca.certPem), caFingerprintHex: certFingerprintHex(ca.certPem), server };
}

export interface LoadedPki {
  paths: PkiPaths;
  ca: CertificateAuthority;
  /** server certificate chain PEM (leaf + CA) */
  serverCertPem: string;
  serverKey: KeyObject;
  caFingerprint: string;
}

export function loadPki(dir: string): LoadedPki {
  const paths = pkiPaths(dir);
  const ca = loadCa(paths.caCert, paths.caKey);
  const serverCertPem = readPemFile(paths.serverCert, ['CERTIFICATE'], 'the collector server certificate');
  const serverKeyPem = readPemFile(paths.serverKey, ['PRIVATE KEY', 'RSA PRIVATE KEY'], 'the collector server private key');
  let serverKey: KeyObject;
  try {
    serverKey = createPrivateKey(serverKeyPem);
  } catch (e) {
    throw new KeyFileError(paths.serverKey, 'expected a parseable private key', e);
  }
  return { paths, ca, serverCertPem, serverKey, caFingerprint: certFingerprintB64(ca.certPem) };
}

/** Only the CA certificate (what the `pki` CLI needs to print a fingerprint). */
export function readCaCert(dir: string): string {
  return readPemFile(pkiPaths(dir).caCert, ['CERTIFICATE'], 'the CA certificate');
}

export function loadRevocations(dir: string): RevocationList {
  const paths = pkiPaths(dir);
  return RevocationList.load(paths.revocations, readFileSync(paths.caCert, 'utf8'));
}

function writeRevocations(paths: PkiPaths, ca: CertificateAuthority, data: RevocationListData): void {
  const entries: CrlEntry[] = [];
  for (const e of data.entries) for (const serial of e.serials) entries.push({ serial, revokedAt: new Date(e.revokedAt) });
  writeFileAtomic(paths.crl, buildCrl(ca, entries, data.crlNumber), PUBLIC_MODE);
  saveRevocationList(paths.revocations, ca, data);
}

export function recordIssuance(dir: string, rec: IssuanceRecord): void {
  appendIssuance(pkiPaths(dir).issuanceLog, rec);
}

export interface RevokeResult {
  agentId: string;
  serials: string[];
  crlNumber: number;
  alreadyRevoked: boolean;
}

/**
 * Revokes every certificate of an agent id (those in `issuanceLogs`, default the root's log;
 * an organisation's agents are in its CA's log); the collector picks the change up and closes
 * its connections.
 */
export function revokeAgent(dir: string, agentId: string, reason = 'revoked by operator', ca?: CertificateAuthority, issuanceLogs?: readonly string[]): RevokeResult {
  const paths = pkiPaths(dir);
  const authority = ca ?? loadCa(paths.caCert, paths.caKey);
  const list = RevocationList.load(paths.revocations, authority.certPem);
  const logs = issuanceLogs ?? [paths.issuanceLog];
  const serials = logs.flatMap((f) => readIssuance(f)).filter((r) => r.agentId === agentId).map((r) => r.serial);
  const alreadyRevoked = list.isAgentRevoked(agentId);
  const data = list.withRevoked(agentId, serials, reason);
  writeRevocations(paths, authority, data);
  return { agentId, serials, crlNumber: data.crlNumber, alreadyRevoked };
}

/**
 * Revokes many ids at once (an organisation: its CA and every agent it issued to), in one new
 * version of the signed list and the CRL. Ids already revoked get their serial lists extended.
 */
export function revokeMany(dir: string, entries: ReadonlyArray<{ id: string; serials: readonly string[] }>, reason: string, ca?: CertificateAuthority): { crlNumber: number } {
  const paths = pkiPaths(dir);
  const authority = ca ?? loadCa(paths.caCert, paths.caKey);
  const before = RevocationList.load(paths.revocations, authority.certPem);
  let list = before;
  let data = before.data;
  for (const e of entries) {
    data = list.withRevoked(e.id, e.serials, reason);
    list = new RevocationList(data);
  }
  // one version more than before, whatever the number of entries
  const final = { ...data, crlNumber: before.data.crlNumber + 1 };
  writeRevocations(paths, authority, final);
  return { crlNumber: final.crlNumber };
}

/** Rewrites the server chain file (leaf + CA) after the root was certified again with the same key. */
export function rewriteServerChain(dir: string, caCertPem: string): void {
  const paths = pkiPaths(dir);
  const pem = readPemFile(paths.serverCert, ['CERTIFICATE'], 'the collector server certificate');
  const leaf = pem.slice(0, pem.indexOf('-----END CERTIFICATE-----') + '-----END CERTIFICATE-----'.length) + '\n';
  writeFileAtomic(paths.serverCert, leaf + caCertPem, PUBLIC_MODE);
}

/** Writes a new root certificate (same key) in place of the old one, keeping the old beside it. */
export function replaceRootCert(dir: string, ca: CertificateAuthority): void {
  const paths = pkiPaths(dir);
  const old = readFileSync(paths.caCert, 'utf8');
  writeFileAtomic(join(dir, 'ca-pathlen0.crt'), old, PUBLIC_MODE);
  writeFileAtomic(paths.caCert, ca.certPem, PUBLIC_MODE);
  rewriteServerChain(dir, ca.certPem);
}

export function listIssued(dir: string): IssuanceRecord[] {
  return readIssuance(pkiPaths(dir).issuanceLog);
}
