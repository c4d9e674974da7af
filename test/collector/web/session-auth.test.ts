// The session credential on the API: no cookie leaves the request to the next authenticator;
// an ended session is 401; a state change needs the session's CSRF token and this server's
// origin; reads need neither; a disabled user's session opens nothing.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCollectorDb, type CollectorDatabase } from '../../../collector/orgs/collector-db.js';
import { UserStore } from '../../../collector/users/user-store.js';
import { SessionStore } from '../../../collector/web/session-store.js';
import { cookieValue, sessionAuthenticator, SESSION_COOKIE } from '../../../collector/web/session-auth.js';

function req(method: string, headers: Record<string, string>): IncomingMessage {
  return { method, headers } as unknown as IncomingMessage;
}

describe('console session authenticator (cookie + CSRF)', function () {
  let dir: string;
  let db: CollectorDatabase;
  let users: UserStore;
  let sessions: SessionStore;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meerkat-sauth-'));
    db = openCollectorDb(dir);
    users = new UserStore(db);
    sessions = new SessionStore(db);
    await users.add({ name: 'alice', password: 'long enough password' });
  });
  after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads one cookie among several', () => {
    assert.equal(cookieValue(req('GET', { cookie: `a=1; ${SESSION_COOKIE}=xyz; b=2` }), SESSION_COOKIE), 'xyz');
    assert.equal(cookieValue(req('GET', { cookie: 'other=1' }), SESSION_COOKIE), undefined);
  });

  it('applies only to requests with the cookie; refuses an unknown or ended one', () => {
    const auth = sessionAuthenticator(sessions, users);
    assert.equal(auth(req('GET', {})), null);
    const r = auth(req('GET', { cookie: `${SESSION_COOKIE}=${'A'.repeat(43)}` }));
    assert.equal(r?.ok, false);
    assert.equal(r && !r.ok && r.status, 401);
  });

  it('reads need the cookie only; changes need the CSRF token and this origin', () => {
    const auth = sessionAuthenticator(sessions, users);
    const s = sessions.create('alice', 'test');
    const cookie = `${SESSION_COOKIE}=${s.token}`;
    const read = auth(req('GET', { cookie }));
    assert.equal(read?.ok, true);
    assert.equal(read?.ok && read.actor, 'user:alice');
    const none = auth(req('POST', { cookie }));
    assert.equal(none && !none.ok && none.status, 403);
    assert.match(none && !none.ok ? none.reason : '', /CSRF/);
    const wrong = auth(req('DELETE', { cookie, 'x-csrf-token': s.csrf.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')) }));
    assert.equal(wrong?.ok, false);
    const foreign = auth(req('POST', { cookie, 'x-csrf-token': s.csrf, origin: 'https://evil.example', host: '127.0.0.1:9470' }));
    assert.equal(foreign?.ok, false);
    assert.match(foreign && !foreign.ok ? foreign.reason : '', /another origin/);
    const good = auth(req('POST', { cookie, 'x-csrf-token': s.csrf, origin: 'https://127.0.0.1:9470', host: '127.0.0.1:9470' }));
    assert.equal(good?.ok, true);
    const noOrigin = auth(req('PUT', { cookie, 'x-csrf-token': s.csrf }));
    assert.equal(noOrigin?.ok, true);
  });

  it('a disabled user\'s session opens nothing, and stays ended when they are enabled again', () => {
    const auth = sessionAuthenticator(sessions, users);
    const s = sessions.create('alice', 'test');
    const cookie = `${SESSION_COOKIE}=${s.token}`;
    users.setDisabled('alice', true);
    assert.equal(auth(req('GET', { cookie }))?.ok, false);
    users.setDisabled('alice', false);
    assert.equal(auth(req('GET', { cookie }))?.ok, false, 'begun before the credentials changed');
  });
});
