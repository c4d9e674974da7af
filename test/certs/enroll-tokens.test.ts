import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { EnrollTokenStore, parseEnrollToken } from '../../certs/enroll-tokens.js';
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
