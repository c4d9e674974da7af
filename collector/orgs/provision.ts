// Provisioning and decommissioning organisations, as library functions: `meerkat-collector org
// create|suspend|resume|delete`, the API's collector-admin routes and `meerkat-collector init`
// (the default organisation) all call these.
//   create:  the organisation's CA (signed by the root; a pre-organisation root is certified
//            again with pathlen 1 first), its folder, its row, optionally its first token.
//   suspend: its row says so; the running collector refuses its agents (retryable: they keep
//            spooling) and its operators; nothing is deleted. resume undoes it.
//   delete:  its row says deleted (refused at once), its CA and every agent certificate it
//            issued go on the root's revocation list, its tokens and memberships go, its CA key
//            is destroyed and its data folder removed; audited at collector level.
// Each step is safe to repeat: an interrupted create or delete finishes when run again.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { caPathLen, loadCa, recertifyRoot } from '../../certs/certificate-authority.js';
import { EnrollTokenStore, type EnrollTokenCreated } from '../../certs/enroll-tokens.js';
import { certFingerprintB64, certFingerprintHex } from '../../certs/fingerprint.js';
import { createOrgCa, destroyOrgCaKey, hasOrgCa, listOrgIssued, orgCaPaths, readOrgCaCert } from '../../certs/org-ca.js';
import { listIssued, pkiPaths, replaceRootCert, revokeMany } from '../../certs/pki-dir.js';
import { DEFAULT_ORG, checkOrgId } from '../../shared/orgs/org-id.js';
import type { CollectorState } from './collector-state.js';
import { OrgStateError, type OrgRecord } from './org-registry.js';
import { orgPaths } from './org-paths.js';

/** The revocation id of an organisation's CA on the root's list. */
export const ORG_CA_REVOCATION_PREFIX = 'org:';

export interface CreatedOrganisation {
  org: OrgRecord;
  /** SHA-256 of the organisation's CA certificate (base64url / colon hex): what its agents are signed by */
  caFingerprint: string;
  caFingerprintHex: string;
  /** SHA-256 of the collector root (colon hex): what agents pin at enrollment (it is in every token) */
  rootFingerprintHex: string;
  /** the first enrollment token, when asked for */
  token: EnrollTokenCreated | null;
  rootRecertified: boolean;
}

export interface CreateOrgOptions {
  id: string;
  name?: string;
  /** who did it (audit) */
  actor: string;
  /** a first enrollment token (default: none) */
  firstToken?: { uses: number; expiresInSec: number; label?: string };
  /** organisation CA key size (default 3072; tests use 2048) */
  caBits?: number;
}

/**
 * A root made before organisations has pathlen 0 and cannot sign an organisation CA: certify
 * the same key again with pathlen 1 (certificate-authority.ts recertifyRoot). Enrolled agents
 * keep working (same key and name); the old certificate stays beside as ca-pathlen0.crt.
 */
function rootForOrgCas(s: CollectorState): { recertified: boolean } {
  const p = pkiPaths(s.pkiDir);
  const root = loadCa(p.caCert, p.caKey);
  if ((caPathLen(root) ?? 1) >= 1) return { recertified: false };
  replaceRootCert(s.pkiDir, recertifyRoot(root, 1));
  s.audit.record({ actor: 'collector', action: 'pki.root-recertified', outcome: 'ok', detail: { reason: 'pathlen 0 root certified again with pathlen 1 to sign organisation CAs (same key)' } });
  return { recertified: true };
}

export function createOrganisation(s: CollectorState, o: CreateOrgOptions): CreatedOrganisation {
  const id = checkOrgId(o.id);
  const had = s.orgs.get(id);
  if (had) {
    throw new OrgStateError(had.state === 'deleted' ? 'deleted' : 'exists', had.state === 'deleted'
      ? `organisation ${id} was deleted; its id is not given out again (its revoked certificates name it)`
      : `organisation ${id} exists already`);
  }
  const { recertified } = rootForOrgCas(s);
  const root = loadCa(pkiPaths(s.pkiDir).caCert, pkiPaths(s.pkiDir).caKey);
  // an interrupted create left the CA behind: it is ours (the PKI folder is the collector's), use it
  if (!hasOrgCa(s.pkiDir, id)) createOrgCa(s.pkiDir, id, root, o.caBits ? { bits: o.caBits } : {});
  const caPem = readOrgCaCert(s.pkiDir, id);
  mkdirSync(orgPaths(s.stateDir, id).dir, { recursive: true, mode: 0o700 });
  const org = s.orgs.create({ id, name: o.name ?? id });
  let token: EnrollTokenCreated | null = null;
  if (o.firstToken) token = createToken(s, id, o.firstToken);
  s.audit.record({ actor: o.actor, action: 'org.create', org: id, outcome: 'ok', detail: { name: org.name, caFingerprint: certFingerprintHex(caPem), firstToken: token ? token.id : null, rootRecertified: recertified } });
  return {
    org, caFingerprint: certFingerprintB64(caPem), caFingerprintHex: certFingerprintHex(caPem),
    rootFingerprintHex: certFingerprintHex(root.certPem), token, rootRecertified: recertified,
  };
}

/** An enrollment token for the organisation (which must be active). */
export function createToken(s: CollectorState, org: string, t: { uses: number; expiresInSec: number; label?: string }): EnrollTokenCreated {
  const rec = s.orgs.require(org);
  if (rec.state !== 'active') throw new OrgStateError('state', `organisation ${org} is ${rec.state}: no tokens for it`);
  const rootPem = loadCa(pkiPaths(s.pkiDir).caCert, pkiPaths(s.pkiDir).caKey).certPem;
  const store = EnrollTokenStore.open(s.stateDir);
  try {
    return store.create({ org, uses: t.uses, expiresInSec: t.expiresInSec, caFingerprint: certFingerprintB64(rootPem), ...(t.label ? { label: t.label } : {}) });
  } finally {
    store.close();
  }
}

/**
 * The default organisation of a fresh installation: its own CA under a root with pathlen 1; a
 * root made before organisations (pathlen 0) signs its agents itself, as it always did.
 */
export function ensureDefaultOrganisation(s: CollectorState, actor: string): OrgRecord {
  const had = s.orgs.get(DEFAULT_ORG);
  if (had) return had;
  const p = pkiPaths(s.pkiDir);
  const root = loadCa(p.caCert, p.caKey);
  if ((caPathLen(root) ?? 1) === 0) {
    const org = s.orgs.create({ id: DEFAULT_ORG, name: 'Default organisation', legacyRoot: true });
    s.audit.record({ actor, action: 'org.create', org: DEFAULT_ORG, outcome: 'ok', detail: { legacyRoot: true } });
    return org;
  }
  return createOrganisation(s, { id: DEFAULT_ORG, name: 'Default organisation', actor }).org;
}

export function suspendOrganisation(s: CollectorState, id: string, o: { actor: string; reason?: string }): OrgRecord {
  const org = s.orgs.setState(id, 'suspended', o.reason ?? '');
  s.audit.record({ actor: o.actor, action: 'org.suspend', org: id, outcome: 'ok', detail: { reason: o.reason ?? '' } });
  return org;
}

export function resumeOrganisation(s: CollectorState, id: string, o: { actor: string }): OrgRecord {
  const org = s.orgs.setState(id, 'active');
  s.audit.record({ actor: o.actor, action: 'org.resume', org: id, outcome: 'ok' });
  return org;
}

export interface DeletedOrganisation {
  org: string;
  agentsRevoked: number;
  certificatesRevoked: number;
  crlNumber: number;
  tokensDeleted: number;
  membershipsRemoved: number;
  bytesRemoved: number;
}

/** Bytes of the files under a folder (0 when it is missing). */
export function folderBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += folderBytes(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

/** Removes an organisation's data folder (the running collector does it again once it has let go of the files). */
export function purgeOrgData(stateDir: string, org: string): number {
  const dir = orgPaths(stateDir, org).dir;
  const bytes = folderBytes(dir);
  rmSync(dir, { recursive: true, force: true });
  return bytes;
}

export function deleteOrganisation(s: CollectorState, id: string, o: { actor: string; reason?: string }): DeletedOrganisation {
  const rec = s.orgs.require(checkOrgId(id));
  const reason = o.reason || 'organisation deleted';
  // refused from here on, before anything else happens
  if (rec.state !== 'deleted') s.orgs.setState(id, 'deleted', reason);
  const entries: Array<{ id: string; serials: string[] }> = [];
  const bySerial = new Map<string, string[]>();
  const issued = rec.legacyRoot ? listIssued(s.pkiDir) : hasOrgCa(s.pkiDir, id) ? listOrgIssued(s.pkiDir, id) : [];
  for (const r of issued) bySerial.set(r.agentId, [...(bySerial.get(r.agentId) ?? []), r.serial]);
  for (const agentId of s.orgs.agentsOf(id)) if (!bySerial.has(agentId)) bySerial.set(agentId, []);
  for (const [agentId, serials] of bySerial) entries.push({ id: agentId, serials });
  if (!rec.legacyRoot && hasOrgCa(s.pkiDir, id)) {
    entries.push({ id: ORG_CA_REVOCATION_PREFIX + id, serials: [new X509Certificate(readOrgCaCert(s.pkiDir, id)).serialNumber] });
  }
  const { crlNumber } = revokeMany(s.pkiDir, entries, reason);
  const agentsRevoked = s.orgs.markOrgAgentsRevoked(id);
  const store = EnrollTokenStore.open(s.stateDir);
  let tokensDeleted: number;
  try {
    tokensDeleted = store.deleteOrg(id);
  } finally {
    store.close();
  }
  const membershipsRemoved = s.users.removeOrg(id);
  if (!rec.legacyRoot && existsSync(orgCaPaths(s.pkiDir, id).caKey)) destroyOrgCaKey(s.pkiDir, id);
  const bytesRemoved = purgeOrgData(s.stateDir, id);
  const out: DeletedOrganisation = {
    org: id, agentsRevoked, certificatesRevoked: entries.reduce((n, e) => n + e.serials.length, 0), crlNumber, tokensDeleted, membershipsRemoved, bytesRemoved,
  };
  s.audit.record({ actor: o.actor, action: 'org.delete', org: id, outcome: 'ok', detail: { ...out, reason } });
  return out;
}
