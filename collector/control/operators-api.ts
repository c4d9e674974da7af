// The operators' API as the running collector starts it: its TLS certificate from the collector
// CA (pki/admin.crt, re-issued when missing or due), the signed revocation list followed every
// second (operators are revoked like agents), the route table of both route modules, and the
// dependencies bound to the collector state and its running organisations.
import type { Logger } from '../../shared/log.js';
import { loadCa } from '../../certs/certificate-authority.js';
import { EnrollTokenStore, TokenIdError } from '../../certs/enroll-tokens.js';
import { ensureAdminServerCert } from '../../certs/operator-certs.js';
import { pkiPaths } from '../../certs/pki-dir.js';
import { RevocationWatcher } from '../server/revocation-watcher.js';
import type { CollectorState } from '../orgs/collector-state.js';
import { createOrganisation, createToken, deleteOrganisation, resumeOrganisation, suspendOrganisation } from '../orgs/provision.js';
import { certificateAuthenticator, startAdminApi, type AdminApi, type AdminApiDeps, type Authenticator, type OrgControl } from './admin-api.js';
import { ORG_ROUTES } from './admin-routes.js';
import { ORG_ADMIN_ROUTES } from './org-admin-routes.js';
import { DATA_ROUTES } from './data-routes.js';
import { SessionStore, type SessionPolicy } from '../web/session-store.js';
import { LoginThrottle, type ThrottlePolicy } from '../web/login-throttle.js';
import { sessionAuthenticator } from '../web/session-auth.js';
import { consoleFront } from '../web/console-front.js';

/** Every route of the API. */
export const ADMIN_ROUTES = [...ORG_ADMIN_ROUTES, ...ORG_ROUTES, ...DATA_ROUTES];

/** The web console on the API port: its pages, password logins and session cookies. */
export interface ConsoleOptions {
  /** the built bundle (default: dist/console-web) */
  assetsDir?: string;
  sessions?: Partial<SessionPolicy>;
  throttle?: Partial<ThrottlePolicy>;
}

/** The running organisations (OrgSupervisor in the collector). */
export interface RunningOrgs {
  runtime(org: string): OrgControl | null;
  /** apply a change of the organisations now rather than at the next poll */
  reconcile(): Promise<void>;
}

export interface OperatorsApiOptions {
  state: CollectorState;
  orgs: RunningOrgs;
  listen: { host: string; port: number };
  /** extra names / addresses for the API certificate */
  names?: { names?: string[]; ips?: string[] };
  /** authenticators before the certificate one */
  authenticators?: (deps: AdminApiDeps) => Authenticator[];
  /** the web console (pages, logins, sessions); false: certificates only */
  console?: ConsoleOptions | false;
  log: Logger;
}

export interface OperatorsApi extends AdminApi {
  readonly deps: AdminApiDeps;
}

export async function startOperatorsApi(o: OperatorsApiOptions): Promise<OperatorsApi> {
  const { state, orgs, log } = o;
  const paths = pkiPaths(state.pkiDir);
  const ca = loadCa(paths.caCert, paths.caKey);
  const tls = ensureAdminServerCert(state.pkiDir, ca, o.names ?? {});
  const revocations = new RevocationWatcher(paths.revocations, ca.certPem, () => undefined, () => undefined, log);
  revocations.start(1000);
  const tokens = <T>(fn: (s: EnrollTokenStore) => T): T => {
    const s = EnrollTokenStore.open(state.stateDir);
    try { return fn(s); } finally { s.close(); }
  };
  const deps: AdminApiDeps = {
    org: (id) => orgs.runtime(id),
    orgRecord: (id) => state.orgs.get(id),
    users: state.users,
    collectorAudit: state.audit,
    revocations: () => revocations.list,
    log,
    admin: {
      listOrgs: () => state.orgs.list(),
      createOrg: (c) => {
        const r = createOrganisation(state, c);
        void orgs.reconcile();
        return {
          id: r.org.id, name: r.org.name, state: r.org.state, caFingerprint: r.caFingerprintHex, rootFingerprint: r.rootFingerprintHex,
          ...(r.token ? { token: { token: r.token.token, id: r.token.id, uses: r.token.uses, expiresAt: r.token.expiresAt.toISOString() } } : {}),
        };
      },
      suspendOrg: (id, actor, reason) => {
        const r = suspendOrganisation(state, id, { actor, reason });
        void orgs.reconcile();
        return r;
      },
      resumeOrg: (id, actor) => {
        const r = resumeOrganisation(state, id, { actor });
        void orgs.reconcile();
        return r;
      },
      deleteOrg: (id, actor, reason) => {
        const r = deleteOrganisation(state, id, { actor, reason });
        void orgs.reconcile();
        return { ...r };
      },
      createToken: (org, t) => createToken(state, org, t),
      listTokens: (org) => tokens((s) => s.list(org).map((t) => ({ ...t, createdAt: t.createdAt.toISOString(), expiresAt: t.expiresAt.toISOString(), revokedAt: t.revokedAt?.toISOString() ?? null }))),
      revokeToken: (org, id) => tokens((s) => {
        try {
          return !s.revoke(id, { org }).alreadyRevoked;
        } catch (e) {
          if (e instanceof TokenIdError) return false;
          throw e;
        }
      }),
    },
  };
  let api: AdminApi;
  const web = o.console === false ? null : o.console ?? {};
  const sessions = web ? new SessionStore(state.db, { ...SessionStore.defaultPolicy, ...(web.sessions ?? {}) }) : null;
  try {
    api = await startAdminApi(
      { host: o.listen.host, port: o.listen.port, tls: { key: tls.keyPem, cert: tls.certPem, ca: ca.certPem } },
      deps,
      ADMIN_ROUTES,
      [...(o.authenticators?.(deps) ?? []), ...(sessions ? [sessionAuthenticator(sessions, state.users)] : []), certificateAuthenticator(deps)],
      web && sessions ? consoleFront({
        users: state.users, orgs: state.orgs, sessions, audit: state.audit, log,
        throttle: new LoginThrottle({ ...LoginThrottle.defaultPolicy, ...(web.throttle ?? {}) }),
        ...(web.assetsDir ? { assetsDir: web.assetsDir } : {}),
      }) : undefined,
    );
  } catch (e) {
    revocations.stop();
    throw e;
  }
  log.info({ host: o.listen.host, port: api.port, cert: tls.files.cert, console: web !== null }, `operators' API listening (HTTPS, operator certificates${web ? '; web console at https://HOST:PORT/' : ''})`);
  return {
    port: api.port,
    deps,
    close: async () => {
      revocations.stop();
      await api.close();
    },
  };
}
