// Console sessions in a real collector.db: only the hash of the cookie is stored; idle and
// absolute expiry, logout, a password change or disable voiding older sessions, CSRF tokens.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCollectorDb, type CollectorDatabase } from '../../../collector/orgs/collector-db.js';
import { csrfMatches, csrfTokenFor, SessionStore } from '../../../collector/web/session-store.js';

describe('console session store', function () {
  let dir: string;
  let db: CollectorDatabase;
  let now = 1_000_000;
  const clock = (): number => now;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'meerkat-sessions-'));
    db = openCollectorDb(dir);
    now = 1_000_000;
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps only the SHA-256 of the cookie and resolves the cookie to its user', () => {
    const s = new SessionStore(db, { idleMs: 60_000, absoluteMs: 600_000 }, clock);
    const n = s.create('alice', '127.0.0.1 test');
    assert.match(n.token, /^[A-Za-z0-9_-]{43}$/);
    const rows = db.prepare('SELECT * FROM sessions').all() as { id_hash: string; user: string }[];
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.id_hash, createHash('sha256').update(n.token).digest('hex'));
    assert.ok(!JSON.stringify(rows).includes(n.token));
    const live = s.resolve(n.token, () => 0);
    assert.equal(live?.user, 'alice');
    assert.equal(live?.csrf, n.csrf);
    assert.equal(s.resolve(n.token.slice(0, -1) + (n.token.endsWith('A') ? 'B' : 'A'), () => 0), null);
    assert.equal(s.resolve('not a token', () => 0), null);
  });

  it('ends a session idle too long, and one past its absolute expiry however busy', () => {
    const s = new SessionStore(db, { idleMs: 60_000, absoluteMs: 300_000 }, clock);
    const idle = s.create('alice', '');
    now += 59_000;
    assert.ok(s.resolve(idle.token, () => 0));
    now += 59_000;
    assert.ok(s.resolve(idle.token, () => 0), 'used within the idle time');
    now += 61_000;
    assert.equal(s.resolve(idle.token, () => 0), null, 'idle for more than 60 s');
    assert.equal(s.count(), 0, 'an ended session is deleted');
    const busy = s.create('bob', '');
    for (let i = 0; i < 9; i++) {
      now += 31_000;
      assert.ok(s.resolve(busy.token, () => 0), `still live at ${i}`);
    }
    now += 22_000;
    assert.equal(s.resolve(busy.token, () => 0), null, 'past 300 s since login');
  });

  it('voids sessions begun before the user\'s credentials changed, and unknown/disabled users', () => {
    const s = new SessionStore(db, { idleMs: 60_000, absoluteMs: 600_000 }, clock);
    const a = s.create('alice', '');
    now += 1000;
    assert.equal(s.resolve(a.token, () => now - 10), null, 'password changed after login');
    const b = s.create('bob', '');
    assert.equal(s.resolve(b.token, () => null), null, 'disabled or removed user');
    const c = s.create('carol', '');
    now += 1000;
    assert.ok(s.resolve(c.token, () => now - 5000), 'credentials changed before login');
  });

  it('logout ends one session; endUser ends them all; purge removes expired rows', () => {
    const s = new SessionStore(db, { idleMs: 60_000, absoluteMs: 600_000 }, clock);
    const a1 = s.create('alice', '');
    const a2 = s.create('alice', '');
    s.create('bob', '');
    assert.equal(s.end(a1.token), true);
    assert.equal(s.end(a1.token), false);
    assert.equal(s.resolve(a1.token, () => 0), null);
    assert.ok(s.resolve(a2.token, () => 0));
    assert.equal(s.endUser('alice'), 1);
    now += 61_000;
    assert.equal(s.purge(), 1, 'bob idle');
    assert.equal(s.count(), 0);
  });

  it('CSRF tokens belong to their session and compare in constant time', () => {
    const s = new SessionStore(db, undefined, clock);
    const a = s.create('alice', '');
    const b = s.create('alice', '');
    assert.equal(a.csrf, csrfTokenFor(a.token));
    assert.notEqual(a.csrf, a.token);
    assert.ok(csrfMatches(a.token, a.csrf));
    assert.ok(!csrfMatches(a.token, b.csrf));
    assert.ok(!csrfMatches(a.token, undefined));
    assert.ok(!csrfMatches(a.token, ''));
    assert.ok(!csrfMatches(a.token, a.csrf + 'x'));
  });
});
