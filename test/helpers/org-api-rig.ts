// The operators' API in process with real parts, for the control tests: a real PKI (root with
// pathlen 1), the collector state (collector.db: organisations, users), organisations each with
// a real ControlService over their own database and packet export, and the real HTTPS API with
// mutual TLS. The agent server is stood in for by a transport per organisation the test drives.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logger } from '../../shared/log.js';
import { initPki, pkiPaths } from '../../certs/pki-dir.js';
import { createAppLogRoute } from '../../collector/control/app-log-route.js';
import { sqliteOrgViews } from '../../collector/control/org-data-reader.js';
import { openDataAccess } from '../../collector/control/data-access.js';
import { loadCa } from '../../certs/certificate-authority.js';
import { issueOperatorCertificate, recordOperatorIssuance } from '../../certs/operator-certs.js';
import { ControlService, type CommandTransport } from '../../collector/control/control-service.js';
import { createPcapRoute, type PcapExportLimits } from '../../collector/control/pcap-export.js';
import type { OrgControl } from '../../collector/control/admin-api.js';
import { startOperatorsApi, type OperatorsApi } from '../../collector/control/operators-api.js';
import { openCollectorState, type CollectorState } from '../../collector/orgs/collector-state.js';
import { orgPaths } from '../../collector/orgs/org-paths.js';
import { createOrganisation } from '../../collector/orgs/provision.js';
import { AdminClient } from '../../console/admin-client.js';
import type { Role } from '../../collector/users/roles.js';
import type { ConsoleOptions } from '../../collector/control/operators-api.js';
import type { ThreatWatchlist } from '../../collector/respond/threat-watchlist.js';

const log = logger('test-org-api');
log.level = 'silent';

/** A stand-in agent server for one organisation: records what would be sent, lets the test (dis)connect agents. */
export class FakeTransport implements CommandTransport {
  sent: { agentId: string; id: string; command: unknown }[] = [];
  conns = new Map<string, string>();
  sendCommand(agentId: string, id: string, command: unknown): boolean {
    if (!this.conns.has(agentId)) return false;
    this.sent.push({ agentId, id, command });
    return true;
  }
  agentSummaries(): { agentId: string; connected: boolean; connectedSince: string | null }[] {
    return [...this.conns].map(([agentId, since]) => ({ agentId, connected: true, connectedSince: since }));
  }
  connect(agentId: string): void {
    this.conns.set(agentId, new Date(Date.now() + Math.random()).toISOString() + Math.random());
  }
  disconnect(agentId: string): void {
    this.conns.delete(agentId);
  }
}

export interface RigOrg extends OrgControl {
  control: ControlService;
  transport: FakeTransport;
  dbPath: string;
  /** the single process's synchronous SQLite parts */
  queue: ControlService['queue'];
  audit: ControlService['audit'];
  registry: ControlService['registry'];
  data?: ReturnType<typeof openDataAccess>;
}

export class OrgApiRig {
  readonly dir = mkdtempSync(join(tmpdir(), 'meerkat-org-api-'));
  readonly pki = join(this.dir, 'pki');
  state!: CollectorState;
  api!: OperatorsApi;
  caPem = '';
  readonly orgs = new Map<string, RigOrg>();

  /** PKI, state (with the default organisation), the API; `orgs` more organisations besides default. */
  /** `watchlists`: an organisation's threat watchlist (its feeds route); others have none. */
  async start(o: { orgs?: string[]; pcapLimits?: Partial<PcapExportLimits>; console?: ConsoleOptions | false; watchlists?: Record<string, ThreatWatchlist> } = {}): Promise<this> {
    initPki(this.pki, { serverNames: ['collector.test'], serverBits: 2048 });
    this.caPem = readFileSync(pkiPaths(this.pki).caCert, 'utf8');
    this.state = openCollectorState({ stateDir: this.dir, pkiDir: this.pki });
    for (const id of o.orgs ?? []) createOrganisation(this.state, { id, actor: 'test', caBits: 2048 });
    for (const rec of this.state.orgs.list()) this.orgs.set(rec.id, this.runOrg(rec.id, o.pcapLimits, o.watchlists?.[rec.id]));
    this.api = await startOperatorsApi({
      state: this.state,
      orgs: { runtime: (id) => (this.state.orgs.get(id)?.state === 'active' ? this.orgs.get(id) ?? null : null), reconcile: async () => undefined },
      listen: { host: '127.0.0.1', port: 0 },
      ...(o.console !== undefined ? { console: o.console } : {}),
      log,
    });
    return this;
  }

  private runOrg(org: string, pcapLimits?: Partial<PcapExportLimits>, watchlist?: ThreatWatchlist): RigOrg {
    const dbPath = orgPaths(this.dir, org).db;
    const control = ControlService.open({ dbPath, log, tickMs: 50 });
    const transport = new FakeTransport();
    control.attach(transport);
    return {
      org, control, transport, dbPath,
      queue: control.queue, audit: control.audit, registry: control.registry,
      liveAgents: () => control.liveAgents(),
      transportAgents: () => control.transportAgents(),
      submitted: (c) => control.submitted(c),
      waitFor: (id, ms) => control.waitFor(id, ms),
      hasAgent: (a) => this.state.orgs.orgOfAgent(a) === org,
      pcap: createPcapRoute({ dbPath, audit: control.audit, log, ...(pcapLimits ? { limits: pcapLimits } : {}) }),
      appLogs: createAppLogRoute(dbPath),
      data: openDataAccess(dbPath),
      views: sqliteOrgViews(dbPath),
      status: () => ({}),
      ...(watchlist ? { feeds: () => watchlist.status() } : {}),
    };
  }

  org(id: string): RigOrg {
    return this.orgs.get(id)!;
  }

  /** A user with an operator certificate and, optionally, a role in each organisation given. */
  async user(name: string, roles: Record<string, Role> = {}, o: { collectorAdmin?: boolean } = {}): Promise<{ client: (org?: string) => AdminClient; certPem: string; keyPem: string }> {
    if (!this.state.users.get(name)) this.state.users.addCertificateUser(name, o);
    for (const [org, role] of Object.entries(roles)) this.state.users.grant(name, org, role);
    const c = this.certFor(name);
    return { client: (org = 'default') => new AdminClient(`https://127.0.0.1:${this.api.port}`, { cert: c.certPem, key: c.keyPem, ca: this.caPem }, org), certPem: c.certPem, keyPem: c.keyPem };
  }

  /** An operator certificate (CN=name) without making a user. */
  certFor(name: string): { certPem: string; keyPem: string } {
    const ca = loadCa(pkiPaths(this.pki).caCert, pkiPaths(this.pki).caKey);
    const c = issueOperatorCertificate(ca, name, { bits: 2048 });
    recordOperatorIssuance(this.pki, c);
    return c;
  }

  async close(): Promise<void> {
    await this.api?.close();
    for (const o of this.orgs.values()) {
      o.data?.close();
      (o.appLogs as { close?: () => void } | undefined)?.close?.();
      await o.control.close();
    }
    this.state?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
