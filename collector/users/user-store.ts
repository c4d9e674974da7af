// Users of the collector and their memberships (collector.db: users, memberships). A user is a
// name (the CN of their operator certificate, the login of the web console), an optional
// password hash (password-hash.ts), a disabled flag and a collector-administrator flag; a
// membership gives them one role in one organisation. Authentication methods (mutual TLS
// today; browser sessions later) all end in principal(name): one place decides who is enabled
// and what they may do, so a disabled user or a withdrawn membership takes effect on the next
// request whatever the credential.
//
// The seam for sessions: a session store keeps (session id hash, user id, created_at, expiry)
// in this database; a session is valid while principal(user) is not null and the session was
// created after principal.credentialsChangedAt (a password change or disable voids every older
// session without touching the session table). verifyLogin() is the password check a login
// route calls (it costs the same for unknown users).
import { checkOperatorName } from '../../certs/operator-certs.js';
import { MeerkatError } from '../../shared/errors.js';
import { checkOrgId } from '../../shared/orgs/org-id.js';
import type { CollectorDatabase } from '../orgs/collector-db.js';
import { hashPassword, needsRehash, verifyPassword } from './password-hash.js';
import { isRole, type Principal, type Role } from './roles.js';

export interface UserRecord {
  name: string;
  collectorAdmin: boolean;
  disabled: boolean;
  hasPassword: boolean;
  createdAt: Date;
  updatedAt: Date;
  credentialsChangedAt: Date;
  memberships: Array<{ org: string; role: Role }>;
}

export class UserError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_USER';
  constructor(readonly reason: 'unknown' | 'exists' | 'role' | 'org', message: string) {
    super(message);
    this.name = 'UserError';
  }
}

interface Row { id: number; name: string; password_hash: string | null; disabled: number; collector_admin: number; created_at: number; updated_at: number; credentials_changed_at: number }

export class UserStore {
  constructor(private readonly db: CollectorDatabase, private readonly now: () => number = Date.now) {}

  private row(name: string): Row | undefined {
    return this.db.prepare('SELECT * FROM users WHERE name = ?').get(name) as Row | undefined;
  }

  private requireRow(name: string): Row {
    const r = this.row(name);
    if (!r) throw new UserError('unknown', `no user ${JSON.stringify(name)} on this collector`);
    return r;
  }

  private view(r: Row): UserRecord {
    return {
      name: r.name,
      collectorAdmin: r.collector_admin === 1,
      disabled: r.disabled === 1,
      hasPassword: r.password_hash !== null,
      createdAt: new Date(r.created_at),
      updatedAt: new Date(r.updated_at),
      credentialsChangedAt: new Date(r.credentials_changed_at),
      memberships: this.membershipsOf(r.id),
    };
  }

  private membershipsOf(userId: number): Array<{ org: string; role: Role }> {
    return (this.db.prepare('SELECT org, role FROM memberships WHERE user_id = ? ORDER BY org').all(userId) as { org: string; role: Role }[]);
  }

  /** Adds a user (password optional: certificate-only users have none). @throws UserError, OperatorNameError, PasswordPolicyError */
  async add(o: { name: string; password?: string; collectorAdmin?: boolean }): Promise<UserRecord> {
    checkOperatorName(o.name);
    const hash = o.password === undefined ? null : await hashPassword(o.password);
    return this.insert(o.name, hash, o.collectorAdmin === true);
  }

  /** Adds a user who signs in with a certificate only (no password). */
  addCertificateUser(name: string, o: { collectorAdmin?: boolean } = {}): UserRecord {
    checkOperatorName(name);
    return this.insert(name, null, o.collectorAdmin === true);
  }

  private insert(name: string, hash: string | null, collectorAdmin: boolean): UserRecord {
    const t = this.now();
    try {
      this.db.prepare('INSERT INTO users (name, password_hash, collector_admin, created_at, updated_at, credentials_changed_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(name, hash, collectorAdmin ? 1 : 0, t, t, t);
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new UserError('exists', `user ${name} exists already`);
      throw e;
    }
    return this.get(name)!;
  }

  get(name: string): UserRecord | null {
    const r = this.row(name);
    return r ? this.view(r) : null;
  }

  list(): UserRecord[] {
    return (this.db.prepare('SELECT * FROM users ORDER BY name').all() as Row[]).map((r) => this.view(r));
  }

  async setPassword(name: string, password: string): Promise<void> {
    const r = this.requireRow(name);
    const hash = await hashPassword(password);
    const t = this.now();
    this.db.prepare('UPDATE users SET password_hash = ?, updated_at = ?, credentials_changed_at = ? WHERE id = ?').run(hash, t, t, r.id);
  }

  setDisabled(name: string, disabled: boolean): void {
    const r = this.requireRow(name);
    const t = this.now();
    this.db.prepare('UPDATE users SET disabled = ?, updated_at = ?, credentials_changed_at = ? WHERE id = ?').run(disabled ? 1 : 0, t, t, r.id);
  }

  setCollectorAdmin(name: string, admin: boolean): void {
    const r = this.requireRow(name);
    this.db.prepare('UPDATE users SET collector_admin = ?, updated_at = ? WHERE id = ?').run(admin ? 1 : 0, this.now(), r.id);
  }

  /** Gives the user `role` in `org` (replacing another role there). The organisation must exist and not be deleted. */
  grant(name: string, org: string, role: string): void {
    checkOrgId(org);
    if (!isRole(role)) throw new UserError('role', `role ${JSON.stringify(role)}: expected viewer, responder or admin`);
    const r = this.requireRow(name);
    const o = this.db.prepare("SELECT state FROM orgs WHERE id = ?").get(org) as { state: string } | undefined;
    if (!o || o.state === 'deleted') throw new UserError('org', `no organisation ${org} on this collector`);
    this.db.prepare('INSERT INTO memberships (user_id, org, role, granted_at) VALUES (?, ?, ?, ?) ON CONFLICT(user_id, org) DO UPDATE SET role = excluded.role, granted_at = excluded.granted_at')
      .run(r.id, org, role, this.now());
  }

  /** Withdraws the user's membership of `org`; false when there was none. */
  revoke(name: string, org: string): boolean {
    const r = this.requireRow(name);
    return this.db.prepare('DELETE FROM memberships WHERE user_id = ? AND org = ?').run(r.id, org).changes > 0;
  }

  membersOf(org: string): Array<{ user: string; role: Role; disabled: boolean }> {
    return (this.db.prepare('SELECT u.name AS user, m.role AS role, u.disabled AS disabled FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org = ? ORDER BY u.name').all(org) as { user: string; role: Role; disabled: number }[])
      .map((m) => ({ user: m.user, role: m.role, disabled: m.disabled === 1 }));
  }

  /** Every membership of an organisation goes (it is deleted). */
  removeOrg(org: string): number {
    return this.db.prepare('DELETE FROM memberships WHERE org = ?').run(org).changes;
  }

  /**
   * What an enabled user may do now, or null (unknown or disabled). Memberships of a suspended
   * organisation are in it: the API refuses them with the reason (organisation suspended).
   */
  principal(name: string): Principal | null {
    const r = this.row(name);
    if (!r || r.disabled === 1) return null;
    const rows = this.db.prepare("SELECT m.org AS org, m.role AS role FROM memberships m JOIN orgs o ON o.id = m.org WHERE m.user_id = ? AND o.state != 'deleted'").all(r.id) as { org: string; role: Role }[];
    return { user: r.name, collectorAdmin: r.collector_admin === 1, roles: new Map(rows.map((m) => [m.org, m.role])), credentialsChangedAt: r.credentials_changed_at };
  }

  /**
   * The password check of a login: the principal when the user exists, is enabled and the
   * password matches; null otherwise, after the same scrypt work either way. A hash made with
   * weaker parameters than today's is replaced on success.
   */
  async verifyLogin(name: string, password: string): Promise<Principal | null> {
    const r = this.row(name);
    const ok = await verifyPassword(password, r?.password_hash ?? null);
    if (!ok || !r || r.disabled === 1) return null;
    if (r.password_hash && needsRehash(r.password_hash)) {
      this.db.prepare('UPDATE users SET password_hash = ? WHERE id = ?').run(await hashPassword(password), r.id);
    }
    return this.principal(name);
  }
}
