// The operators' API's route table: matching, parameters, 404 / 405, declared permissions.
import assert from 'node:assert/strict';
import { HttpError, PERMISSIONS, RouteTable } from '../../../collector/control/route-table.js';
import { ADMIN_ROUTES } from '../../../collector/control/admin-routes.js';

describe('route table', () => {
  const table = new RouteTable([
    { method: 'GET', path: '/v1/things', permission: 'agents:read', handler: 'list' },
    { method: 'POST', path: '/v1/things', permission: 'commands:submit', handler: 'create' },
    { method: 'GET', path: '/v1/things/:id/parts', permission: 'inventory:read', handler: 'parts' },
  ] as const);

  it('matches method and path, captures parameters (percent-decoded)', () => {
    assert.equal(table.match('GET', '/v1/things').route.handler, 'list');
    assert.equal(table.match('POST', '/v1/things/').route.handler, 'create');
    const m = table.match('GET', '/v1/things/a%20b/parts');
    assert.equal(m.route.handler, 'parts');
    assert.deepEqual(m.params, { id: 'a b' });
  });

  it('unknown path: 404; known path under another method: 405 naming the allowed ones', () => {
    assert.throws(() => table.match('GET', '/v1/nothing'), (e: unknown) => e instanceof HttpError && e.status === 404 && e.reason === 'not-found');
    assert.throws(() => table.match('GET', '/v1/things/x'), (e: unknown) => e instanceof HttpError && e.status === 404);
    assert.throws(() => table.match('DELETE', '/v1/things'), (e: unknown) => e instanceof HttpError && e.status === 405 && e.headers.allow === 'GET, POST');
    assert.throws(() => table.match('GET', '/v1/things/%E0%A4%A/parts'), (e: unknown) => e instanceof HttpError && e.status === 400);
  });

  it('a route declared twice is refused when the table is built', () => {
    assert.throws(() => new RouteTable([
      { method: 'GET', path: '/a/:x', permission: 'agents:read', handler: 1 },
      { method: 'GET', path: '/a/:y', permission: 'agents:read', handler: 2 },
    ]), /declared twice/);
  });

  it('every admin API route declares a known permission and is under /v1', () => {
    const admin = new RouteTable(ADMIN_ROUTES);
    assert.ok(admin.specs.length >= 7);
    for (const r of admin.specs) {
      assert.ok(PERMISSIONS.includes(r.permission), `${r.method} ${r.path}: ${r.permission}`);
      assert.match(r.path, /^\/v1\//);
    }
  });
});
