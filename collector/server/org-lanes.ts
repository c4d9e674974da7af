// What the agent server needs to know about organisations, and nothing more: which
// organisation a verified agent certificate belongs to (and whether it may connect now), where
// each organisation's uploads go (its lane: committer, hooks, quota), and which CA signs for an
// organisation at enrollment and renewal. The collector's composition root implements it over
// the running organisations (collector/orgs/org-supervisor.ts); a server started on its own
// (tests, tools) gets SingleOrgDirectory: the pre-organisation behaviour, every agent of the
// root CA in the `default` organisation.
import type { X509Certificate } from 'node:crypto';
import type { CertificateAuthority } from '../../certs/certificate-authority.js';
import type { IssuedCertificate } from '../../certs/issue-certificates.js';
import type { IssuanceRecord } from '../../certs/issuance-log.js';
import { signedBy, subjectValues } from '../../certs/cert-chain.js';
import { loadCa } from '../../certs/certificate-authority.js';
import { loadOrgCa, recordOrgIssuance } from '../../certs/org-ca.js';
import { pkiPaths, recordIssuance } from '../../certs/pki-dir.js';
import { DEFAULT_ORG } from '../../shared/orgs/org-id.js';
import type { AgentHealth, CollectorMessage } from '../../shared/protocol/agent-protocol.js';
import type { DumpCommittedHook } from './agent-session.js';
import type { UploadCommitter } from './dump-committer.js';
import { RefusalReason, type RefusalReasonValue } from './peer-check.js';

export interface WatchlistSource {
  current(): CollectorMessage | null;
  subscribe(fn: () => void): () => void;
}

/** One organisation's side of ingest. */
export interface IngestLane {
  readonly org: string;
  readonly committer: UploadCommitter;
  readonly onDumpCommitted?: DumpCommittedHook | undefined;
  readonly onHeartbeat?: ((agentId: string, health: AgentHealth) => void) | undefined;
  readonly onCommandResult?: ((agentId: string, id: string, ok: boolean, result: unknown, error: string | undefined) => void) | undefined;
  /** the threat watchlist pushed to this organisation's agents */
  readonly watchlist?: WatchlistSource | undefined;
  /** quota check before a dump's expensive work; a refusal is nacked `busy` (retryable) */
  admitDump?(): { reason: string; detail: string } | null;
  /** a dump of `bytes` was stored */
  noteStored?(bytes: number): void;
}

/** The CA that signs an organisation's agents, with what goes between its certificates and the root. */
export interface OrgIssuer {
  org: string;
  ca: CertificateAuthority;
  /** PEMs of the CAs between an issued certificate and the root (the organisation CA; none under a legacy root) */
  chain: string[];
  /** subject OU of issued certificates (undefined under a legacy root, whose agents never carried one) */
  ou: string | undefined;
  /** records an issued certificate in the issuing CA's log */
  record(agentId: string, issued: IssuedCertificate, kind: 'enroll' | 'renew'): void;
}

/**
 * The issuer of an organisation from a PKI directory: the root itself for a pre-organisation
 * (legacy-root) organisation, else the organisation's CA under <pki>/orgs/<org>/; issued
 * certificates are logged beside the CA. @throws KeyFileError when its key is not there
 */
export function pkiIssuer(pkiDir: string, org: string, legacyRoot: boolean): OrgIssuer {
  const logged = (append: (rec: IssuanceRecord) => void): OrgIssuer['record'] => (agentId, issued, kind) =>
    append({ agentId, serial: issued.serial, notBefore: issued.notBefore.toISOString(), notAfter: issued.notAfter.toISOString(), issuedAt: new Date().toISOString(), kind });
  if (legacyRoot) {
    const p = pkiPaths(pkiDir);
    return { org, ca: loadCa(p.caCert, p.caKey), chain: [], ou: undefined, record: logged((r) => recordIssuance(pkiDir, r)) };
  }
  const ca = loadOrgCa(pkiDir, org);
  return { org, ca, chain: [ca.certPem], ou: org, record: logged((r) => recordOrgIssuance(pkiDir, org, r)) };
}

export type OrgClassification =
  | { ok: true; org: string }
  | { ok: false; reason: RefusalReasonValue; detail: string; org?: string };

export type EnrollTarget =
  | { ok: true; issuer: OrgIssuer }
  | { ok: false; status: number; error: string; message: string };

/** A directory over a shared database (a scale-out front-end) answers some questions asynchronously. */
export type MaybePromise<T> = T | Promise<T>;

export interface OrgDirectory {
  /** The organisation of a certificate the TLS layer verified, or why it may not connect. */
  classify(leaf: X509Certificate, agentId: string): MaybePromise<OrgClassification>;
  /** The organisation's lane, or null while it takes no uploads (suspended, not started). */
  lane(org: string): IngestLane | null;
  /** Whether the organisation a token belongs to may enroll one more agent now, and its CA. */
  enrollTarget(org: string): MaybePromise<EnrollTarget>;
  /** An agent was enrolled into `org` (a directory whose token source records it with the token use does nothing here). */
  enrolled(org: string, agentId: string): MaybePromise<void>;
  /** The CA that renews an agent of `org`. */
  issuer(org: string): OrgIssuer;
}

/** The pre-organisation collector: one lane, the root CA signs agents, every root-signed agent is `default`. */
export class SingleOrgDirectory implements OrgDirectory {
  private readonly issuerInfo: OrgIssuer;

  constructor(private readonly root: CertificateAuthority, private readonly rootX509: X509Certificate, pkiDir: string, private readonly theLane: IngestLane) {
    this.issuerInfo = {
      org: DEFAULT_ORG, ca: root, chain: [], ou: undefined,
      record: (agentId, issued, kind) => recordIssuance(pkiDir, {
        agentId, serial: issued.serial, notBefore: issued.notBefore.toISOString(), notAfter: issued.notAfter.toISOString(), issuedAt: new Date().toISOString(), kind,
      }),
    };
  }

  classify(leaf: X509Certificate): OrgClassification {
    if (!signedBy(leaf, this.rootX509)) return { ok: false, reason: RefusalReason.UnknownCa, detail: 'client certificate is not issued by this collector\'s CA' };
    const ous = subjectValues(leaf.subject, 'OU');
    if (ous.length > 1 || (ous.length === 1 && ous[0] !== DEFAULT_ORG)) {
      return { ok: false, reason: RefusalReason.OrgMismatch, detail: `the certificate names organisation ${JSON.stringify(ous.join(','))}; this collector serves only ${DEFAULT_ORG}` };
    }
    return { ok: true, org: DEFAULT_ORG };
  }

  lane(org: string): IngestLane | null {
    return org === DEFAULT_ORG ? this.theLane : null;
  }

  enrollTarget(org: string): EnrollTarget {
    if (org !== DEFAULT_ORG) return { ok: false, status: 403, error: 'org-unknown', message: `this collector serves only the ${DEFAULT_ORG} organisation` };
    return { ok: true, issuer: this.issuerInfo };
  }

  enrolled(): void {}

  issuer(): OrgIssuer {
    return this.issuerInfo;
  }
}
