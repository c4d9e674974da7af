// The console front on the real operators' API (HTTPS, no client certificate, as a browser
// comes): the page and its assets with the CSP and ETags, a 503 page when the bundle was not
// built, the login endpoint's refusals (form posts, foreign origins, wrong passwords, then the
// lock), the session endpoint, and the audit rows of logins.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OrgApiRig } from '../../helpers/org-api-rig.js';

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: string }

function call(port: number, ca: string, method: string, path: string, o: { headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, method, path, ca, servername: 'localhost', headers: o.headers ?? {} }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
    });
    r.on('error', reject);
    r.end(o.body);
  });
}

describe('console front (pages and logins on the API port)', function () {
  this.timeout(60_000);
  let rig: OrgApiRig;
  let bare: OrgApiRig;
  let assets: string;

  before(async () => {
    assets = mkdtempSync(join(tmpdir(), 'meerkat-assets-'));
    mkdirSync(join(assets, 'assets'));
    writeFileSync(join(assets, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(assets, 'assets', 'app.js'), 'console.log(1)');
    rig = await new OrgApiRig().start({ console: { assetsDir: assets, throttle: { maxUserFailures: 2 } } });
    await rig.state.users.add({ name: 'alice', password: 'a long password' });
    rig.state.users.grant('alice', 'default', 'viewer');
    bare = await new OrgApiRig().start({ console: { assetsDir: join(assets, 'nothing-here') } });
  });
  after(async () => {
    await rig?.close();
    await bare?.close();
    rmSync(assets, { recursive: true, force: true });
  });

  it('serves the page and its assets with the CSP; a repeated asset is 304 by its ETag', async () => {
    const page = await call(rig.api.port, rig.caPem, 'GET', '/');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.match(String(page.headers['content-security-policy']), /^default-src 'none'; script-src 'self'/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    const js = await call(rig.api.port, rig.caPem, 'GET', '/assets/app.js');
    assert.equal(js.status, 200);
    assert.match(String(js.headers['content-type']), /text\/javascript/);
    const again = await call(rig.api.port, rig.caPem, 'GET', '/assets/app.js', { headers: { 'if-none-match': String(js.headers.etag) } });
    assert.equal(again.status, 304);
    const missing = await call(rig.api.port, rig.caPem, 'GET', '/assets/../../etc/passwd');
    assert.notEqual(missing.status, 200);
    const unbuilt = await call(bare.api.port, bare.caPem, 'GET', '/');
    assert.equal(unbuilt.status, 503);
    assert.match(unbuilt.body, /not built/);
  });

  it('refuses form posts and foreign origins, wrong passwords, then locks the name; audits each', async () => {
    const json = { 'content-type': 'application/json' };
    const form = await call(rig.api.port, rig.caPem, 'POST', '/v1/session', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'user=alice&password=a+long+password' });
    assert.equal(form.status, 400);
    const foreign = await call(rig.api.port, rig.caPem, 'POST', '/v1/session', { headers: { ...json, origin: 'https://evil.example', host: `127.0.0.1:${rig.api.port}` }, body: JSON.stringify({ user: 'alice', password: 'a long password' }) });
    assert.equal(foreign.status, 400);
    for (let i = 0; i < 2; i++) {
      const bad = await call(rig.api.port, rig.caPem, 'POST', '/v1/session', { headers: json, body: JSON.stringify({ user: 'alice', password: 'wrong password!' }) });
      assert.equal(bad.status, 401);
      assert.equal(bad.headers['set-cookie'], undefined);
    }
    const locked = await call(rig.api.port, rig.caPem, 'POST', '/v1/session', { headers: json, body: JSON.stringify({ user: 'alice', password: 'a long password' }) });
    assert.equal(locked.status, 429);
    assert.ok(Number(locked.headers['retry-after']) > 0);
    const unknown = await call(rig.api.port, rig.caPem, 'POST', '/v1/session', { headers: json, body: JSON.stringify({ user: 'nobody', password: 'whatever it is' }) });
    assert.equal(unknown.status, 401, 'an unknown user is answered like a wrong password');
    const rows = rig.state.audit.list({ action: 'console.login' }).map((e) => `${e.actor} ${e.outcome}`);
    assert.deepEqual(rows, ['unauthenticated:alice refused:bad-credentials', 'unauthenticated:alice refused:bad-credentials', 'unauthenticated:alice refused:user-locked', 'unauthenticated:nobody refused:bad-credentials']);
  });

  it('a login sets the cookie; GET /v1/session gives the CSRF token and memberships; without the cookie 401', async () => {
    await bare.state.users.add({ name: 'bea', password: 'another long one' });
    bare.state.users.grant('bea', 'default', 'responder');
    const ok = await call(bare.api.port, bare.caPem, 'POST', '/v1/session', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'bea', password: 'another long one' }) });
    assert.equal(ok.status, 200);
    const cookie = String((ok.headers['set-cookie'] as string[])[0]);
    assert.match(cookie, /^meerkat_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Strict; Max-Age=43200$/);
    const body = JSON.parse(ok.body) as { csrf: string; memberships: { org: string; role: string }[] };
    assert.deepEqual(body.memberships.map((m) => `${m.org}:${m.role}`), ['default:responder']);
    const s = await call(bare.api.port, bare.caPem, 'GET', '/v1/session', { headers: { cookie: cookie.split(';')[0]! } });
    assert.equal(s.status, 200);
    assert.equal((JSON.parse(s.body) as { csrf: string }).csrf, body.csrf);
    assert.equal((await call(bare.api.port, bare.caPem, 'GET', '/v1/session')).status, 401);
  });
});
