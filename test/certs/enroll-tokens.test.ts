import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { EnrollTokenStore, TokenIdError, parseEnrollToken } from '../../certs/enroll-tokens.js';
import { EnrollTokenError } from '../../certs/errors.js';
import { renewalDue } from '../../agent/transport/identity-renewal.js';

const FP = randomBytes(32).toString('base64url');

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof EnrollTokenError) return e.reason;
    throw e;
  }
  return 'accepted';
}

describe('pki: enrollment tokens', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'meerkat-tokens-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('carries the CA fingerprint and stores only a hash of the secret', () => {
    const created = EnrollTokenStore.open(dir);
    let t;
    try {
      t = created.create({ uses: 2, expiresInSec: 3600, caFingerprint: FP });
    } finally {
      created.close();
    }
    const parsed = parseEnrollToken(t.token);
    assert.equal(parsed.caFingerprint.toString('base64url'), FP);
    // the secret appears in no file of the state dir (db, wal)
    for (const f of readdirSync(dir)) {
      const bytes = readFileSync(join(dir, f));
      assert.equal(bytes.includes(Buffer.from(parsed.secret)), false, `secret found in ${f}`);
    }
  });

  it('counts uses down and refuses when used up, expired, unknown or malformed', () => {
    const store = EnrollTokenStore.open(dir);
    try {
      const now = Date.now();
      const t = store.create({ uses: 2, expiresInSec: 60, caFingerprint: FP }, now);
      assert.equal(reasonOf(() => store.consume(t.token, now + 1)), 'accepted');
      assert.equal(store.list().find((r) => r.id === t.id)?.usesLeft, 1);
      assert.equal(reasonOf(() => store.consume(t.token, now + 2)), 'accepted');
      assert.equal(reasonOf(() => store.consume(t.token, now + 3)), 'used-up');
      const e = store.create({ uses: 5, expiresInSec: 10, caFingerprint: FP }, now);
      assert.equal(reasonOf(() => store.consume(e.token, now + 10_001)), 'expired');
      assert.equal(store.list().find((r) => r.id === e.id)?.usesLeft, 5, 'an expired token loses no use');
      const forged = `mk1.${randomBytes(32).toString('base64url')}.${FP}`;
      assert.equal(reasonOf(() => store.consume(forged)), 'unknown');
      assert.equal(reasonOf(() => store.consume('hello')), 'malformed');
      assert.equal(reasonOf(() => store.consume(t.token.slice(0, -1))), 'malformed');
      assert.throws(() => store.create({ uses: 0, expiresInSec: 1, caFingerprint: FP }), RangeError);
      assert.throws(() => store.create({ uses: 1, expiresInSec: 0, caFingerprint: FP }), RangeError);
    } finally {
      store.close();
    }
  });

  it('a token belongs to one organisation: consuming says which; list, revoke and delete by organisation', () => {
    const store = EnrollTokenStore.open(dir);
    try {
      const a = store.create({ org: 'acme', uses: 3, expiresInSec: 60, caFingerprint: FP });
      const b = store.create({ org: 'blue', uses: 3, expiresInSec: 60, caFingerprint: FP });
      assert.deepEqual(store.peek(a.token), { id: a.id, org: 'acme' });
      assert.equal(store.list().find((r) => r.id === a.id)?.usesLeft, 3, 'peek takes no use');
      assert.deepEqual(store.consume(b.token), { id: b.id, org: 'blue' });
      assert.deepEqual(store.list('acme').map((r) => r.id), [a.id]);
      assert.throws(() => store.revoke(a.id, { org: 'blue' }), (e: unknown) => e instanceof TokenIdError && /in organisation blue/.test(e.message), 'an organisation cannot revoke another\'s token');
      assert.equal(reasonOf(() => store.consume(a.token)), 'accepted');
      assert.equal(store.revoke(a.id, { org: 'acme' }).alreadyRevoked, false);
      assert.equal(reasonOf(() => store.consume(a.token)), 'revoked');
      assert.equal(reasonOf(() => store.peek(a.token)), 'revoked');
      assert.equal(store.list('acme')[0]?.usesLeft, 2, 'a refused use is not taken');
      assert.equal(store.deleteOrg('blue'), 1);
      assert.equal(reasonOf(() => store.consume(b.token)), 'unknown');
      assert.throws(() => store.create({ org: 'Not An Org', uses: 1, expiresInSec: 1, caFingerprint: FP }), /organisation id/);
    } finally {
      store.close();
    }
  });

  it('tokens of the layout before organisations are taken into the default organisation once', () => {
    const legacyDir = mkdtempSync(join(tmpdir(), 'meerkat-tokens-legacy-'));
    try {
      // the file and table the previous version wrote
      const old = new Database(join(legacyDir, 'enroll-tokens.sqlite'));
      old.pragma('journal_mode = WAL');
      old.exec(`CREATE TABLE enroll_tokens (hash TEXT PRIMARY KEY, uses_left INTEGER NOT NULL, uses_total INTEGER NOT NULL,
        created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, label TEXT NOT NULL DEFAULT '')`);
      const secret = randomBytes(32).toString('base64url');
      const hash = createHash('sha256').update(secret, 'utf8').digest('hex');
      old.prepare('INSERT INTO enroll_tokens VALUES (?, 2, 2, ?, ?, ?)').run(hash, Date.now(), Date.now() + 3_600_000, 'from before');
      old.close();
      const store = EnrollTokenStore.open(legacyDir);
      try {
        assert.deepEqual(store.consume(`mk1.${secret}.${FP}`), { id: hash.slice(0, 12), org: 'default' });
        assert.equal(store.list()[0]?.label, 'from before');
      } finally {
        store.close();
      }
      assert.ok(existsSync(join(legacyDir, 'enroll-tokens.sqlite.migrated')));
      assert.ok(!existsSync(join(legacyDir, 'enroll-tokens.sqlite')));
      const again = EnrollTokenStore.open(legacyDir);
      try {
        assert.equal(again.list().length, 1, 'not taken over twice');
        assert.equal(again.list()[0]?.usesLeft, 1);
      } finally {
        again.close();
      }
    } finally {
      rmSync(legacyDir, { recursive: true, force: true });
    }
  });

  it('a token used from two store handles (console and collector) is never over-used', () => {
    const a = EnrollTokenStore.open(dir);
    const b = EnrollTokenStore.open(dir);
    try {
      const t = a.create({ uses: 3, expiresInSec: 60, caFingerprint: FP });
      const results = [a, b, a, b, a].map((s) => reasonOf(() => s.consume(t.token)));
      assert.deepEqual(results, ['accepted', 'accepted', 'accepted', 'used-up', 'used-up']);
    } finally {
      a.close();
      b.close();
    }
  });
});

describe('agent: renewal schedule', () => {
  const day = 86_400_000;
  it('renews in the last third of the lifetime, or earlier if asked', () => {
    const nb = 0;
    const na = 90 * day;
    assert.equal(renewalDue(nb, na, 59 * day), false);
    assert.equal(renewalDue(nb, na, 61 * day), true);
    assert.equal(renewalDue(nb, na, 10 * day, 85 * day), true);
    assert.equal(renewalDue(nb, na, 91 * day), true);
  });
});
