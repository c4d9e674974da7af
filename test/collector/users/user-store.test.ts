// Users and memberships in collector.db: roles per organisation and what they allow, collector
// administrators without traffic, disabled users, password logins, the session seam
// (credentialsChangedAt), and a deleted organisation's memberships going with it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCollectorDb, type CollectorDatabase } from '../../../collector/orgs/collector-db.js';
import { OrgRegistry } from '../../../collector/orgs/org-registry.js';
import { UserError, UserStore } from '../../../collector/users/user-store.js';
import { allows, ORG_PERMISSIONS, ROLE_PERMISSIONS } from '../../../collector/users/roles.js';
import { OperatorNameError } from '../../../certs/operator-certs.js';

describe('users: store, memberships and roles', function () {
  this.timeout(60_000);
  let dir: string;
  let db: CollectorDatabase;
  let users: UserStore;
  let orgs: OrgRegistry;
  let now = 1_000_000;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meerkat-users-'));
    db = openCollectorDb(dir);
    orgs = new OrgRegistry(db, () => now);
    users = new UserStore(db, () => now);
    orgs.create({ id: 'acme', name: 'Acme' });
    orgs.create({ id: 'blue', name: 'Blue' });
  });
  after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('roles nest: viewer reads, responder also acts, admin also manages tokens and members', () => {
    for (const p of ROLE_PERMISSIONS.viewer) assert.ok(ROLE_PERMISSIONS.responder.has(p));
    for (const p of ROLE_PERMISSIONS.responder) assert.ok(ROLE_PERMISSIONS.admin.has(p));
    assert.ok(!ROLE_PERMISSIONS.viewer.has('commands:submit'));
    assert.ok(!ROLE_PERMISSIONS.viewer.has('pcap:export'));
    assert.ok(ROLE_PERMISSIONS.responder.has('commands:submit'));
    assert.ok(!ROLE_PERMISSIONS.responder.has('tokens:write'));
    assert.deepEqual([...ROLE_PERMISSIONS.admin].sort(), [...ORG_PERMISSIONS].sort(), 'admin holds every organisation permission');
  });

  it('a membership allows only in its own organisation; a collector admin manages but reads no traffic', async () => {
    await users.add({ name: 'alice' });
    users.grant('alice', 'acme', 'responder');
    const a = users.principal('alice')!;
    assert.ok(allows(a, 'commands:submit', 'acme'));
    assert.ok(!allows(a, 'agents:read', 'blue'), 'nothing in an organisation she is not in');
    assert.ok(!allows(a, 'agents:read'), 'an organisation permission needs an organisation');
    assert.ok(!allows(a, 'orgs:manage'));
    assert.ok(allows(a, 'identity:read'));
    users.addCertificateUser('root-admin', { collectorAdmin: true });
    const r = users.principal('root-admin')!;
    assert.ok(allows(r, 'orgs:manage') && allows(r, 'users:manage') && allows(r, 'collector-audit:read'));
    for (const p of ORG_PERMISSIONS) assert.ok(!allows(r, p, 'acme'), `collector admin has ${p} in acme`);
    users.grant('root-admin', 'blue', 'viewer');
    assert.ok(allows(users.principal('root-admin')!, 'flows:read', 'blue'), 'unless granted');
  });

  it('grant replaces the role in an organisation; revoke withdraws it; unknown users, roles and organisations are refused', async () => {
    users.grant('alice', 'acme', 'viewer');
    assert.deepEqual(users.get('alice')!.memberships, [{ org: 'acme', role: 'viewer' }]);
    assert.throws(() => users.grant('alice', 'acme', 'owner'), (e: unknown) => e instanceof UserError && e.reason === 'role');
    assert.throws(() => users.grant('alice', 'nope', 'viewer'), (e: unknown) => e instanceof UserError && e.reason === 'org');
    assert.throws(() => users.grant('nobody', 'acme', 'viewer'), (e: unknown) => e instanceof UserError && e.reason === 'unknown');
    await assert.rejects(users.add({ name: 'alice' }), (e: unknown) => e instanceof UserError && e.reason === 'exists');
    await assert.rejects(users.add({ name: '3b1f6a52-9c1e-4d6f-8a2b-0c4d5e6f7a8b' }), OperatorNameError);
    assert.equal(users.revoke('alice', 'acme'), true);
    assert.equal(users.revoke('alice', 'acme'), false);
    assert.equal(users.principal('alice')!.roles.size, 0);
  });

  it('passwords: login verifies, a disabled user or wrong password gets nothing; changes move credentialsChangedAt (sessions end)', async () => {
    await users.add({ name: 'bob', password: 'a long enough secret' });
    users.grant('bob', 'blue', 'admin');
    const p = await users.verifyLogin('bob', 'a long enough secret');
    assert.equal(p?.roles.get('blue'), 'admin');
    assert.equal(await users.verifyLogin('bob', 'a wrong secret here'), null);
    assert.equal(await users.verifyLogin('nobody', 'a long enough secret'), null);
    assert.equal(await users.verifyLogin('alice', 'no password set for her'), null, 'a certificate-only user has no password login');
    const before = users.principal('bob')!.credentialsChangedAt;
    now += 1000;
    users.setDisabled('bob', true);
    assert.equal(users.principal('bob'), null);
    assert.equal(await users.verifyLogin('bob', 'a long enough secret'), null);
    now += 1000;
    users.setDisabled('bob', false);
    await users.setPassword('bob', 'another long secret');
    assert.ok(users.principal('bob')!.credentialsChangedAt > before);
    assert.ok(await users.verifyLogin('bob', 'another long secret'));
    assert.equal(users.list().find((u) => u.name === 'bob')?.hasPassword, true);
  });

  it('a suspended organisation stays among the memberships (the API names the reason); a deleted one\'s go', () => {
    orgs.setState('blue', 'suspended');
    assert.equal(users.principal('bob')!.roles.get('blue'), 'admin');
    orgs.setState('blue', 'deleted');
    assert.equal(users.principal('bob')!.roles.has('blue'), false);
    assert.equal(users.removeOrg('blue'), 2);
    assert.deepEqual(users.membersOf('blue'), []);
  });
});
