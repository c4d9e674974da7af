// The organisations as a scale-out front-end sees them (docs/scale-out.md "Organisations"): the
// agent server's OrgDirectory over the records in PostgreSQL's `meerkat` schema
// (org-records.ts), re-read every `scaleOut.orgRefreshMs`, so every front-end serves the same
// organisations. An agent's organisation is the one whose CA verifiably signed its certificate
// (the CA certificates come from PostgreSQL), checked against its subject OU and against the
// organisation its agent id was enrolled into (looked up once per agent, then remembered: an
// id never changes organisation); a suspended organisation's agents are refused and cut off as
// by the single process (collector/orgs/org-supervisor.ts). Each active organisation has its
// own lane (built by the front-end: its JetStream committer, its quota). Enrollment and renewal
// sign with the organisation's CA key from this host's PKI directory: the keys are never in
// PostgreSQL (docs/organisations.md "Scale-out").
import { X509Certificate } from 'node:crypto';
import type { Logger } from '../../shared/log.js';
import { hasOrgCa, orgOfAgentCert, readOrgCaCert, type AgentIssuer } from '../../certs/org-ca.js';
import { readCaCert } from '../../certs/pki-dir.js';
import { DEFAULT_ORG } from '../../shared/orgs/org-id.js';
import { CloseCode } from '../../shared/protocol/agent-protocol.js';
import type { CollectorServer } from '../server/collector-server.js';
import { pkiIssuer, type EnrollTarget, type IngestLane, type MaybePromise, type OrgClassification, type OrgDirectory, type OrgIssuer } from '../server/org-lanes.js';
import { RefusalReason } from '../server/peer-check.js';
import type { PgOrgRecord, PgOrgRecords } from './org-records.js';

export interface FrontendOrgsOptions {
  records: PgOrgRecords;
  pkiDir: string;
  /** builds an active organisation's lane (once; a failure is retried at the next refresh) */
  makeLane: (org: string) => Promise<IngestLane>;
  log: Logger;
  /** how often the records are re-read (ms) */
  refreshMs: number;
}

/**
 * Writes the organisations of `scaleOut.orgs` that PostgreSQL does not hold yet, from this
 * host's PKI directory: an organisation with a CA under <pki>/orgs/<org>/ with that CA's
 * certificate; `default` without one as signed by the root itself (the pre-organisation
 * layout, what front-ends served before). Others are left out, with a warning.
 */
export async function publishConfiguredOrgs(records: PgOrgRecords, pkiDir: string, orgs: readonly string[], log: Logger): Promise<void> {
  for (const org of orgs) {
    if (hasOrgCa(pkiDir, org)) await records.put({ id: org, caCerts: [readOrgCaCert(pkiDir, org)] }, { onlyIfMissing: true });
    else if (org === DEFAULT_ORG) await records.put({ id: org, name: 'Default organisation', legacyRoot: true, caCerts: [] }, { onlyIfMissing: true });
    else if ((await records.get(org)) === null) {
      log.warn({ org }, `organisation ${org} of scaleOut.orgs is neither in PostgreSQL nor has a CA under the PKI directory (meerkat-collector org create ${org}): not served`);
    }
  }
}

export class FrontendOrgDirectory implements OrgDirectory {
  private records = new Map<string, PgOrgRecord>();
  private issuers: AgentIssuer[] = [];
  private issuersStamp = '';
  /** agent id -> organisation, for agents this front-end classified (ids never change organisation) */
  private readonly agentOrgs = new Map<string, string>();
  private readonly lanes = new Map<string, IngestLane>();
  private readonly building = new Map<string, Promise<void>>();
  private readonly signers = new Map<string, OrgIssuer>();
  private server: CollectorServer | null = null;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | null = null;
  private lastRefreshOkMs = 0;
  private lastError = '';

  private constructor(private readonly o: FrontendOrgsOptions) {}

  /** Reads the records once (failing the start when PostgreSQL cannot be read), then follows them. */
  static async start(o: FrontendOrgsOptions): Promise<FrontendOrgDirectory> {
    const d = new FrontendOrgDirectory(o);
    await d.refresh(true);
    d.timer = setInterval(() => void d.refresh().catch(() => undefined), o.refreshMs);
    d.timer.unref();
    return d;
  }

  /** The server whose connections a suspension or deletion cuts off. */
  attach(server: CollectorServer): void {
    this.server = server;
  }

  /** Re-reads the organisations now (the timer does it every refreshMs). */
  refresh(strict = false): Promise<void> {
    this.refreshing ??= this.doRefresh(strict).finally(() => { this.refreshing = null; });
    return this.refreshing;
  }

  private async doRefresh(strict: boolean): Promise<void> {
    let rows: PgOrgRecord[];
    try {
      rows = await this.o.records.list({ includeDeleted: true });
    } catch (e) {
      this.lastError = (e as Error).message;
      this.o.log.warn({ err: this.lastError }, 'reading the organisations from PostgreSQL failed; the last ones read stay in force');
      if (strict) throw e;
      return;
    }
    this.lastRefreshOkMs = Date.now();
    const before = this.records;
    this.records = new Map(rows.map((r) => [r.id, r]));
    const stamp = rows.map((r) => `${r.id}:${r.legacyRoot ? 'root' : r.caCerts.join('')}`).join('\n');
    if (stamp !== this.issuersStamp) {
      this.issuersStamp = stamp;
      this.issuers = this.buildIssuers(rows);
      this.signers.clear();
    }
    for (const r of rows) {
      const was = before.get(r.id);
      if (was && was.state !== r.state) this.o.log.warn({ org: r.id, state: r.state, reason: r.stateReason }, `organisation ${r.state}`);
      if (r.state !== 'active') {
        // a suspended organisation keeps its lane (lane() answers null meanwhile), so resuming it is immediate
        if (r.state === 'deleted') this.lanes.delete(r.id);
        // cut its agents off: nothing more arrives (suspended: they retry later, spooling meanwhile)
        if (was?.state === 'active') {
          this.server?.closeOrg(r.id, r.state === 'deleted' ? CloseCode.Revoked : CloseCode.OrgSuspended, r.state === 'deleted' ? 'organisation deleted' : 'organisation suspended');
        }
        continue;
      }
      if (!this.lanes.has(r.id) && !this.building.has(r.id)) {
        const org = r.id;
        const p = this.o.makeLane(org).then(
          (lane) => { if (this.records.get(org)?.state === 'active') this.lanes.set(org, lane); },
          (e: unknown) => this.o.log.error({ org, err: (e as Error).message }, 'organisation lane could not start (retried at the next refresh)'),
        ).finally(() => this.building.delete(org));
        this.building.set(org, p);
      }
    }
    await Promise.all(this.building.values());
  }

  private buildIssuers(rows: readonly PgOrgRecord[]): AgentIssuer[] {
    const out: AgentIssuer[] = [];
    for (const r of rows) {
      if (r.legacyRoot) out.push({ org: r.id, cert: new X509Certificate(readCaCert(this.o.pkiDir)), legacyRoot: true });
      for (const pem of r.caCerts) {
        try {
          out.push({ org: r.id, cert: new X509Certificate(pem), legacyRoot: false });
        } catch (e) {
          this.o.log.error({ org: r.id, err: (e as Error).message }, 'a CA certificate of the organisation in PostgreSQL does not parse: its agents are refused');
        }
      }
    }
    return out;
  }

  /** The organisation of an agent this front-end has accepted (for presence keys and command subjects). */
  knownOrgOf(agentId: string): string | undefined {
    return this.agentOrgs.get(agentId);
  }

  /** The organisations that take uploads now (active, their lane ready). */
  activeOrgs(): string[] {
    return [...this.records.values()].filter((r) => r.state === 'active' && this.lanes.has(r.id)).map((r) => r.id);
  }

  record(org: string): PgOrgRecord | undefined {
    return this.records.get(org);
  }

  health(): { reasons: string[] } {
    const stale = Date.now() - this.lastRefreshOkMs > 3 * this.o.refreshMs + 5000;
    return { reasons: stale ? [`organisations not re-read from PostgreSQL for ${Math.round((Date.now() - this.lastRefreshOkMs) / 1000)} s (${this.lastError})`] : [] };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  // ---- OrgDirectory ------------------------------------------------------------------

  classify(leaf: X509Certificate, agentId: string): MaybePromise<OrgClassification> {
    const v = orgOfAgentCert(leaf, this.issuers);
    if (!v.ok) {
      if (v.reason === 'unknown-issuer') return { ok: false, reason: RefusalReason.UnknownCa, detail: v.detail };
      return { ok: false, reason: RefusalReason.OrgMismatch, detail: v.detail, org: v.org };
    }
    const known = this.agentOrgs.get(agentId);
    if (known !== undefined) return this.verdict(v.org, v.issuer.legacyRoot, agentId, known);
    return this.o.records.orgOfAgent(agentId).then((a) => this.verdict(v.org, v.issuer.legacyRoot, agentId, a?.org ?? null));
  }

  private verdict(org: string, legacyRoot: boolean, agentId: string, enrolledIn: string | null): OrgClassification {
    const rec = this.records.get(org);
    if (!rec || rec.state === 'deleted') return { ok: false, reason: RefusalReason.Revoked, detail: `organisation ${org} was deleted`, org };
    // an agent signed by the root itself is one of the pre-organisation agents: the root signs for one organisation only
    if (enrolledIn === null && !legacyRoot) {
      return { ok: false, reason: RefusalReason.OrgMismatch, detail: `agent ${agentId} was never enrolled into organisation ${org}`, org };
    }
    if (enrolledIn !== null && enrolledIn !== org) {
      return { ok: false, reason: RefusalReason.OrgMismatch, detail: `agent ${agentId} belongs to another organisation than the CA that signed its certificate (${org})`, org };
    }
    if (this.agentOrgs.size >= 1_000_000) this.agentOrgs.clear();
    this.agentOrgs.set(agentId, org);
    if (rec.state === 'suspended') return { ok: false, reason: RefusalReason.OrgSuspended, detail: `organisation ${org} is suspended; the agent keeps its dumps and retries`, org };
    return { ok: true, org };
  }

  lane(org: string): IngestLane | null {
    return this.records.get(org)?.state === 'active' ? this.lanes.get(org) ?? null : null;
  }

  async enrollTarget(org: string): Promise<EnrollTarget> {
    // an organisation created a moment ago on another host is not refused for want of a refresh
    const rec = this.records.get(org) ?? await this.o.records.get(org);
    if (!rec) return { ok: false, status: 403, error: 'org-unknown', message: `no organisation ${org} on this collector` };
    if (rec.state === 'deleted') return { ok: false, status: 403, error: 'org-deleted', message: `organisation ${org} was deleted` };
    if (rec.state === 'suspended') return { ok: false, status: 403, error: 'org-suspended', message: `organisation ${org} is suspended: it enrolls no agents` };
    // checked again, exactly, under the organisation's row lock when the token is used
    if (rec.quotas.agents !== undefined) {
      const n = await this.o.records.countAgents(org);
      if (n >= rec.quotas.agents) return { ok: false, status: 403, error: 'quota-agents', message: `the organisation has ${n} agents, its quota is ${rec.quotas.agents}` };
    }
    try {
      return { ok: true, issuer: this.issuer(org, rec) };
    } catch (e) {
      this.o.log.error({ org, err: (e as Error).message }, 'this front-end cannot sign for the organisation');
      return { ok: false, status: 503, error: 'org-unavailable', message: `this front-end cannot sign certificates of organisation ${org} (${(e as Error).message})` };
    }
  }

  /** The token source recorded the agent's organisation with the token use; remembered here. */
  enrolled(org: string, agentId: string): void {
    this.agentOrgs.set(agentId, org);
  }

  /**
   * The CA that signs for `org` on this host: its key from the PKI directory, its certificate
   * one of those PostgreSQL lists (else other front-ends would refuse what it signs).
   * @throws KeyFileError (no key here), Error (the local CA is not the organisation's)
   */
  issuer(org: string, rec = this.records.get(org)): OrgIssuer {
    const had = this.signers.get(org);
    if (had) return had;
    if (!rec) throw new Error(`no organisation ${org} on this collector`);
    const out = pkiIssuer(this.o.pkiDir, org, rec.legacyRoot);
    const mine = new X509Certificate(out.ca.certPem);
    if (!rec.legacyRoot && !rec.caCerts.some((pem) => new X509Certificate(pem).fingerprint256 === mine.fingerprint256)) {
      throw new Error(`the CA of organisation ${org} in this host's PKI directory is not one PostgreSQL lists for it (copy the organisation's CA from the host that created it)`);
    }
    this.signers.set(org, out);
    return out;
  }
}
