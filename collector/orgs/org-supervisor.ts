// The organisations of a running collector: starts a runtime for each active one, follows
// what `meerkat-collector org ...` (another process) or the API changes in collector.db (one
// cheap version read per second), and answers the agent server's questions (OrgDirectory):
// which organisation a verified agent certificate belongs to - from the CA that signed it,
// checked against its OU and against the organisation its agent id was enrolled into - whether
// that organisation takes uploads now, and which CA signs for it. A suspended organisation's
// runtime is stopped and its agents disconnected (they retry later, spooling meanwhile); a
// deleted one's runtime is stopped, its agents cut off as revoked and its data folder removed.
// Refused attempts to cross organisations are written to the collector audit (once per
// certificate and minute, so a reconnecting agent cannot fill it).
import { X509Certificate } from 'node:crypto';
import { statSync } from 'node:fs';
import type { Logger } from '../../shared/log.js';
import { hasOrgCa, orgOfAgentCert, readOrgCaCert, type AgentIssuer } from '../../certs/org-ca.js';
import { pkiPaths, readCaCert } from '../../certs/pki-dir.js';
import { CloseCode } from '../../shared/protocol/agent-protocol.js';
import type { CollectorServer } from '../server/collector-server.js';
import type { RevocationList } from '../../certs/revocation-list.js';
import { pkiIssuer, type EnrollTarget, type IngestLane, type OrgClassification, type OrgDirectory, type OrgIssuer } from '../server/org-lanes.js';
import { RefusalReason } from '../server/peer-check.js';
import type { CollectorState } from './collector-state.js';
import type { OrgRecord } from './org-registry.js';
import { OrgRuntime, type OrgRuntimeContext } from './org-runtime.js';
import { purgeOrgData } from './provision.js';

const AUDIT_EVERY_MS = 60_000;

export class OrgSupervisor implements OrgDirectory {
  private readonly runtimes = new Map<string, OrgRuntime>();
  private records = new Map<string, OrgRecord>();
  private issuers: AgentIssuer[] = [];
  private readonly signers = new Map<string, OrgIssuer>();
  private version = -1;
  private rootStamp = '';
  private server: CollectorServer | null = null;
  private timer: NodeJS.Timeout | undefined;
  private reconciling: Promise<void> | null = null;
  private mustStart: ReadonlySet<string> = new Set();
  private stopping = false;
  /** certificate serial -> last audit time of a refused cross-organisation attempt */
  private readonly audited = new Map<string, number>();
  private readonly revokedSeen = new Set<string>();

  constructor(private readonly state: CollectorState, private readonly ctx: OrgRuntimeContext, private readonly log: Logger) {}

  /** Starts every active organisation (one after the other: each starts worker threads). */
  /**
   * Starts every active organisation. An organisation in `mustStart` that cannot start fails
   * the call (the collector's own config is broken: `run` stops, as it did before
   * organisations); any other stays stopped, logged and audited.
   */
  async startAll(o: { mustStart?: readonly string[] } = {}): Promise<void> {
    this.mustStart = new Set(o.mustStart ?? []);
    try {
      await this.reconcile();
    } finally {
      this.mustStart = new Set();
    }
  }

  /** Plugs the running organisations into the server and starts following changes. */
  attach(server: CollectorServer, pollMs = 1000): void {
    this.server = server;
    for (const rt of this.runtimes.values()) rt.attach(server);
    this.timer = setInterval(() => void this.reconcile().catch((e: unknown) => this.log.error({ err: (e as Error).message }, 'following organisation changes failed')), pollMs);
    this.timer.unref();
  }

  runtime(org: string): OrgRuntime | null {
    return this.runtimes.get(org) ?? null;
  }

  record(org: string): OrgRecord | null {
    return this.records.get(org) ?? this.state.orgs.get(org);
  }

  /** Applies changes of the organisations (and of the root certificate) since the last call. */
  reconcile(): Promise<void> {
    this.reconciling ??= this.doReconcile().finally(() => { this.reconciling = null; });
    return this.reconciling;
  }

  private async doReconcile(): Promise<void> {
    this.reloadRootIfChanged();
    const v = this.state.orgs.version();
    if (v === this.version || this.stopping) return;
    this.version = v;
    const list = this.state.orgs.list({ includeDeleted: true });
    this.records = new Map(list.map((o) => [o.id, o]));
    this.issuers = this.buildIssuers(list);
    for (const o of list) {
      const rt = this.runtimes.get(o.id);
      if (o.state === 'active' && !rt) await this.startOrg(o.id);
      else if (o.state !== 'active' && rt) await this.stopOrg(o, rt);
      else if (o.state === 'deleted') this.purge(o.id);
      if (o.state !== 'active') this.signers.delete(o.id);
    }
  }

  private async startOrg(org: string): Promise<void> {
    try {
      const rt = await OrgRuntime.start(org, this.ctx);
      if (this.stopping) return void (await rt.stop());
      this.runtimes.set(org, rt);
      if (this.server) rt.attach(this.server);
    } catch (e) {
      if (this.mustStart.has(org)) throw e;
      // one organisation's broken settings must not take the others down: it stays stopped, and says why
      this.log.error({ org, err: (e as Error).message }, 'organisation could not start');
      this.state.audit.record({ actor: 'collector', action: 'org.start', org, outcome: 'error', detail: { error: (e as Error).message } });
    }
  }

  private async stopOrg(o: OrgRecord, rt: OrgRuntime): Promise<void> {
    // cut its agents off first: nothing more arrives while the runtime winds down
    this.server?.closeOrg(o.id, o.state === 'deleted' ? CloseCode.Revoked : CloseCode.OrgSuspended, o.state === 'deleted' ? 'organisation deleted' : 'organisation suspended');
    this.runtimes.delete(o.id);
    await rt.stop();
    this.log.warn({ org: o.id, state: o.state }, `organisation ${o.state}`);
    if (o.state === 'deleted') this.purge(o.id);
  }

  /** A deleted organisation's folder goes (again: the process that deleted it could not while files were open here). */
  private purge(org: string): void {
    try {
      const bytes = purgeOrgData(this.state.stateDir, org);
      if (bytes > 0) this.log.info({ org, bytes }, 'removed the data of a deleted organisation');
    } catch (e) {
      this.log.error({ org, err: (e as Error).message }, 'removing the data of a deleted organisation failed');
    }
  }

  private buildIssuers(list: readonly OrgRecord[]): AgentIssuer[] {
    const out: AgentIssuer[] = [];
    for (const o of list) {
      if (o.legacyRoot) out.push({ org: o.id, cert: new X509Certificate(readCaCert(this.state.pkiDir)), legacyRoot: true });
      else if (hasOrgCa(this.state.pkiDir, o.id)) out.push({ org: o.id, cert: new X509Certificate(readOrgCaCert(this.state.pkiDir, o.id)), legacyRoot: false });
    }
    return out;
  }

  /** A root certified again (org create on a pre-organisation root) must be what TLS verifies chains with. */
  private reloadRootIfChanged(): void {
    let stamp: string;
    try {
      const s = statSync(pkiPaths(this.state.pkiDir).caCert);
      stamp = `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return;
    }
    if (stamp === this.rootStamp) return;
    const first = this.rootStamp === '';
    this.rootStamp = stamp;
    this.version = -1;
    if (!first && this.server) {
      this.server.reloadPki();
      this.log.info('root certificate changed: TLS trust reloaded');
    }
  }

  private refusedAcross(c: { ok: false; reason: string; detail: string; org?: string }, leaf: X509Certificate, agentId: string): OrgClassification {
    const now = Date.now();
    const key = leaf.serialNumber;
    if ((this.audited.get(key) ?? 0) + AUDIT_EVERY_MS < now) {
      if (this.audited.size > 10_000) this.audited.clear();
      this.audited.set(key, now);
      this.state.audit.record({ actor: `agent:${agentId}`, action: 'agent.refused', org: c.org ?? null, outcome: c.reason, detail: { detail: c.detail, serial: key, subject: leaf.subject.replace(/\n/g, ', ') } });
    }
    return { ok: false, reason: RefusalReason.OrgMismatch, detail: c.detail, ...(c.org ? { org: c.org } : {}) };
  }

  // ---- OrgDirectory ------------------------------------------------------------------

  classify(leaf: X509Certificate, agentId: string): OrgClassification {
    const v = orgOfAgentCert(leaf, this.issuers);
    if (!v.ok) {
      if (v.reason === 'unknown-issuer') return { ok: false, reason: RefusalReason.UnknownCa, detail: v.detail };
      return this.refusedAcross({ ok: false, reason: 'org-mismatch', detail: v.detail, org: v.org }, leaf, agentId);
    }
    const org = v.org;
    const rec = this.records.get(org);
    if (!rec || rec.state === 'deleted') return { ok: false, reason: RefusalReason.Revoked, detail: `organisation ${org} was deleted`, org };
    const enrolledIn = this.state.orgs.orgOfAgent(agentId);
    if (enrolledIn !== org) {
      return this.refusedAcross({ ok: false, reason: 'agent-org-mismatch', detail: enrolledIn === null ? `agent ${agentId} was never enrolled into organisation ${org}` : `agent ${agentId} belongs to another organisation than the CA that signed its certificate (${org})`, org }, leaf, agentId);
    }
    if (rec.state === 'suspended') return { ok: false, reason: RefusalReason.OrgSuspended, detail: `organisation ${org} is suspended; the agent keeps its dumps and retries`, org };
    return { ok: true, org };
  }

  lane(org: string): IngestLane | null {
    return this.runtimes.get(org)?.lane ?? null;
  }

  enrollTarget(org: string): EnrollTarget {
    const rec = this.records.get(org) ?? this.state.orgs.get(org);
    if (!rec || rec.state === 'deleted') return { ok: false, status: 403, error: 'org-deleted', message: `organisation ${org} was deleted` };
    if (rec.state === 'suspended') return { ok: false, status: 403, error: 'org-suspended', message: `organisation ${org} is suspended: it enrolls no agents` };
    const rt = this.runtimes.get(org);
    if (!rt) return { ok: false, status: 503, error: 'org-unavailable', message: `organisation ${org} is not running on this collector right now` };
    const q = rt.quota.admitAgent(this.state.orgs.countAgents(org));
    if (!q.ok) return { ok: false, status: 403, error: 'quota-agents', message: q.detail };
    return { ok: true, issuer: this.issuer(org) };
  }

  enrolled(org: string, agentId: string): void {
    this.state.orgs.assignAgent(agentId, org);
  }

  issuer(org: string): OrgIssuer {
    const had = this.signers.get(org);
    if (had) return had;
    const out = pkiIssuer(this.state.pkiDir, org, this.record(org)?.legacyRoot === true);
    this.signers.set(org, out);
    return out;
  }

  /** Agents revoked by `pki revoke` (another process) no longer count against their organisation's agents quota. */
  noteRevocations(list: RevocationList): void {
    for (const e of list.data.entries) {
      if (this.revokedSeen.has(e.agentId)) continue;
      this.revokedSeen.add(e.agentId);
      if (this.state.orgs.orgOfAgent(e.agentId) !== null) this.state.orgs.markAgentRevoked(e.agentId);
    }
  }

  /** Problems of any organisation make the collector degraded; each line names its organisation. */
  health(): { reasons: string[]; notes: string[] } {
    const reasons: string[] = [];
    const notes: string[] = [];
    for (const rt of this.runtimes.values()) {
      const h = rt.health();
      reasons.push(...h.reasons);
      notes.push(...h.notes);
    }
    return { reasons, notes };
  }

  async stopAll(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.reconciling;
    for (const [org, rt] of [...this.runtimes]) {
      this.runtimes.delete(org);
      await rt.stop();
    }
  }
}
