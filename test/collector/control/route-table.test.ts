// The operators' API's route table: matching, parameters, 404 / 405, declared permissions.
import assert from 'node:assert/strict';
import { HttpError, PERMISSIONS, RouteTable } from '../../../collector/control/route-table.js';
import { ADMIN_ROUTES } from '../../../collector/control/operators-api.js';

describe('route table', () => {
  const table = new RouteTable([
    { method: 'GET', path: '/v1/orgs/:org/things', permission: 'agents:read', handler: 'list' },
    { method: 'POST', path: '/v1/orgs/:org/things', permission: 'commands:submit', handler: 'create' },
    { method: 'GET', path: '/v1/orgs/:org/things/:id/parts', permission: 'inventory:read', handler: 'parts' },
  ] as const);

  it('matches method and path, captures parameters (percent-decoded)', () => {
    assert.equal(table.match('GET', '/v1/orgs/o/things').route.handler, 'list');
    assert.equal(table.match('POST', '/v1/orgs/o/things/').route.handler, 'create');
    const m = table.match('GET', '/v1/orgs/acme/things/a%20b/parts');
    assert.equal(m.route.handler, 'parts');
    assert.deepEqual(m.params, { org: 'acme', id: 'a b' });
  });

  it('every path is served under /api too (/api/v1/orgs/...), with the same parameters', () => {
    const m = table.match('GET', '/api/v1/orgs/acme/things/a%20b/parts');
    assert.deepEqual([m.route.handler, m.params], ['parts', { org: 'acme', id: 'a b' }]);
    assert.equal(table.match('POST', '/api/v1/orgs/o/things').route.handler, 'create');
    assert.throws(() => table.match('GET', '/api/v2/orgs/o/things'), (e: unknown) => e instanceof HttpError && e.status === 404);
    assert.throws(() => table.match('GET', '/api/flows'), (e: unknown) => e instanceof HttpError && e.status === 404);
    assert.throws(() => table.match('GET', '/api/v1/flows'), (e: unknown) => e instanceof HttpError && e.status === 404 && /\/api\/v1\/orgs\/<org>\/flows/.test(e.message));
  });

  it('unknown path: 404; known path under another method: 405 naming the allowed ones', () => {
    assert.throws(() => table.match('GET', '/v1/nothing'), (e: unknown) => e instanceof HttpError && e.status === 404 && e.reason === 'not-found');
    assert.throws(() => table.match('GET', '/v1/orgs/o/things/x'), (e: unknown) => e instanceof HttpError && e.status === 404);
    assert.throws(() => table.match('DELETE', '/v1/orgs/o/things'), (e: unknown) => e instanceof HttpError && e.status === 405 && e.headers.allow === 'GET, POST');
    assert.throws(() => table.match('GET', '/v1/orgs/o/things/%E0%A4%A/parts'), (e: unknown) => e instanceof HttpError && e.status === 400);
  });

  it('a route declared twice is refused when the table is built', () => {
    assert.throws(() => new RouteTable([
      { method: 'GET', path: '/a/:org/:x', permission: 'agents:read', handler: 1 },
      { method: 'GET', path: '/a/:org/:y', permission: 'agents:read', handler: 2 },
    ]), /declared twice/);
  });

  it('a route needing an organisation permission must take the organisation from its path', () => {
    assert.throws(() => new RouteTable([{ method: 'GET', path: '/v1/agents', permission: 'agents:read', handler: 1 }]), /names no :org/);
    assert.doesNotThrow(() => new RouteTable([{ method: 'GET', path: '/v1/users', permission: 'users:manage', handler: 1 }]));
  });

  it('every admin API route declares a known permission and is under /v1; traffic routes are under /v1/orgs/:org', () => {
    const admin = new RouteTable(ADMIN_ROUTES);
    assert.ok(admin.specs.length >= 20);
    for (const r of admin.specs) {
      assert.ok(PERMISSIONS.includes(r.permission), `${r.method} ${r.path}: ${r.permission}`);
      assert.match(r.path, /^\/v1\//);
      if (/agents|commands|audit|pcap|flows|alerts|dns|tls/.test(r.path) && !r.path.startsWith('/v1/collector')) assert.match(r.path, /^\/v1\/orgs\/:org\//, `${r.method} ${r.path}`);
    }
  });
});
