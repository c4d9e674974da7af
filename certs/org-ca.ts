// One CA per organisation, signed by the collector root (<pki>/orgs/<org>/ca.crt|ca.key, pathlen
// 0), with the log of the agent certificates it issued (issued.jsonl beside it). The collector
// tells an agent's organisation from the CA that VERIFIABLY signed its certificate - never from
// anything the certificate says - and refuses a certificate whose subject OU names another
// organisation than its issuer's. The root of an installation made before organisations signs
// the `default` organisation's agents itself (legacy issuer: its leaves carry no OU).
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createIntermediateCa, loadCa, type CertificateAuthority } from './certificate-authority.js';
import { signedBy, subjectValues } from './cert-chain.js';
import { certFingerprintB64, certFingerprintHex } from './fingerprint.js';
import { appendIssuance, readIssuance, type IssuanceRecord } from './issuance-log.js';
import { PUBLIC_MODE, SECRET_MODE, readPemFile, writeFileAtomic } from './pem-files.js';
import { privateKeyPem } from './rsa-signer.js';
import { isOrgId } from '../shared/orgs/org-id.js';
import { orgCaPaths, type OrgCaPaths } from './org-ca-paths.js';
import { MeerkatError } from '../shared/errors.js';

export { hasOrgCa, orgCaPaths, type OrgCaPaths } from './org-ca-paths.js';

export class OrgCaExistsError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_ORG_CA_EXISTS';
  constructor(file: string) {
    super(`${file}: this organisation already has a CA; refusing to replace it (its agents would all be refused)`);
    this.name = 'OrgCaExistsError';
  }
}

export interface CreatedOrgCa {
  ca: CertificateAuthority;
  paths: OrgCaPaths;
  /** base64url SHA-256 of the organisation CA certificate */
  fingerprint: string;
  fingerprintHex: string;
}

/** Makes the organisation's CA, signed by the root, and writes it (key first, 0600). */
export function createOrgCa(pkiDir: string, org: string, root: CertificateAuthority, opts: { bits?: number } = {}): CreatedOrgCa {
  const paths = orgCaPaths(pkiDir, org);
  if (existsSync(paths.caCert) || existsSync(paths.caKey)) throw new OrgCaExistsError(paths.caCert);
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const ca = createIntermediateCa(root, { org, ...(opts.bits ? { bits: opts.bits } : {}) });
  writeFileAtomic(paths.caKey, privateKeyPem(ca.key), SECRET_MODE);
  writeFileAtomic(paths.caCert, ca.certPem, PUBLIC_MODE);
  return { ca, paths, fingerprint: certFingerprintB64(ca.certPem), fingerprintHex: certFingerprintHex(ca.certPem) };
}

/** The organisation's CA with its key (for issuing). @throws KeyFileError */
export function loadOrgCa(pkiDir: string, org: string): CertificateAuthority {
  const p = orgCaPaths(pkiDir, org);
  return loadCa(p.caCert, p.caKey);
}

/** Only the certificate (what the collector needs to tell organisations apart). @throws KeyFileError */
export function readOrgCaCert(pkiDir: string, org: string): string {
  return readPemFile(orgCaPaths(pkiDir, org).caCert, ['CERTIFICATE'], `the CA certificate of organisation ${org}`);
}

/**
 * A decommissioned organisation's CA can sign nothing more: its key is deleted. The certificate
 * stays (it is on the root's revocation list), so its agents are recognised and refused as
 * revoked rather than as strangers.
 */
export function destroyOrgCaKey(pkiDir: string, org: string): void {
  rmSync(orgCaPaths(pkiDir, org).caKey, { force: true });
}

export function recordOrgIssuance(pkiDir: string, org: string, rec: IssuanceRecord): void {
  appendIssuance(orgCaPaths(pkiDir, org).issuanceLog, rec);
}

export function listOrgIssued(pkiDir: string, org: string): IssuanceRecord[] {
  return readIssuance(orgCaPaths(pkiDir, org).issuanceLog);
}

/** The organisations that have a CA folder under the PKI (deleted ones too: their certificate stays). */
export function orgCaIds(pkiDir: string): string[] {
  const dir = join(pkiDir, 'orgs');
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && isOrgId(e.name)).map((e) => e.name).sort();
}

/** Every agent certificate issued: the root's log (pre-organisation agents) and each organisation CA's, with the organisation. */
export function listAllIssued(pkiDir: string): Array<IssuanceRecord & { org: string | null }> {
  const out: Array<IssuanceRecord & { org: string | null }> = readIssuance(join(pkiDir, 'issued.jsonl')).map((r) => ({ ...r, org: null }));
  for (const org of orgCaIds(pkiDir)) out.push(...listOrgIssued(pkiDir, org).map((r) => ({ ...r, org })));
  return out;
}

/** The issuance logs revoking an agent id must search. */
export function allIssuanceLogs(pkiDir: string): string[] {
  return [join(pkiDir, 'issued.jsonl'), ...orgCaIds(pkiDir).map((o) => orgCaPaths(pkiDir, o).issuanceLog)];
}

/** A CA the collector accepts agent certificates from, and the organisation it stands for. */
export interface AgentIssuer {
  org: string;
  cert: X509Certificate;
  /** the pre-organisation root signing the default organisation's agents directly (no OU on them) */
  legacyRoot: boolean;
}

export type IssuerVerdict =
  | { ok: true; org: string; issuer: AgentIssuer }
  | { ok: false; reason: 'unknown-issuer'; detail: string }
  /** `org`: the organisation of the CA that signed it */
  | { ok: false; reason: 'org-mismatch'; detail: string; org: string };

/**
 * The organisation of an agent certificate: the issuer among `issuers` whose signature it
 * carries (checked cryptographically here, whatever chain the client sent), and a subject OU
 * equal to that issuer's organisation (absent only under the legacy root). Pure but for the
 * signature checks.
 */
export function orgOfAgentCert(leaf: X509Certificate, issuers: readonly AgentIssuer[]): IssuerVerdict {
  const issuer = issuers.find((i) => signedBy(leaf, i.cert));
  if (!issuer) return { ok: false, reason: 'unknown-issuer', detail: 'the certificate is not signed by any organisation CA of this collector' };
  const ous = subjectValues(leaf.subject, 'OU');
  if (issuer.legacyRoot ? ous.length > 1 || (ous.length === 1 && ous[0] !== issuer.org) : ous.length !== 1 || ous[0] !== issuer.org) {
    return { ok: false, reason: 'org-mismatch', org: issuer.org, detail: `the certificate names organisation ${JSON.stringify(ous.join(','))} but is signed by the CA of organisation ${issuer.org}` };
  }
  return { ok: true, org: issuer.org, issuer };
}
