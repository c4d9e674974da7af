// Password hashes: scrypt with its parameters in the stored form, constant work for a missing
// user, a hash of weaker parameters flagged for re-hashing, bounds on planted parameters.
import assert from 'node:assert/strict';
import { randomBytes, scryptSync } from 'node:crypto';
import fc from 'fast-check';
import { hashPassword, needsRehash, PasswordPolicyError, verifyPassword, SCRYPT_LOG_N, SCRYPT_P, SCRYPT_R } from '../../../collector/users/password-hash.js';

describe('users: password hashes', function () {
  this.timeout(60_000);

  it('scrypt with the stated parameters; the right password verifies, any other does not', async () => {
    const h = await hashPassword('correct horse battery');
    assert.match(h, new RegExp(`^\\$scrypt\\$ln=${SCRYPT_LOG_N},r=${SCRYPT_R},p=${SCRYPT_P}\\$`));
    // recomputed independently from the stored salt: it is scrypt, not something like it
    const [, , , salt, key] = h.split('$');
    const again = scryptSync('correct horse battery', Buffer.from(salt!, 'base64'), 32, { N: 2 ** SCRYPT_LOG_N, r: SCRYPT_R, p: SCRYPT_P, maxmem: 128 << 20 });
    assert.equal(again.toString('base64').replace(/=+$/, ''), key);
    assert.equal(await verifyPassword('correct horse battery', h), true);
    assert.equal(await verifyPassword('correct horse batterY', h), false);
    assert.equal(await verifyPassword('', h), false);
    assert.notEqual(await hashPassword('correct horse battery'), h, 'a fresh salt each time');
  });

  it('refuses short passwords; no hash, a damaged hash or planted huge parameters never verify', async () => {
    await assert.rejects(hashPassword('short'), PasswordPolicyError);
    const started = Date.now();
    assert.equal(await verifyPassword('anything at all', null), false);
    const missingMs = Date.now() - started;
    const h = await hashPassword('correct horse battery');
    const t1 = Date.now();
    await verifyPassword('wrong horse battery', h);
    const wrongMs = Date.now() - t1;
    // the same scrypt work either way (no quick "no such user" answer); generous bound for a loaded machine
    assert.ok(missingMs > wrongMs / 4, `missing ${missingMs} ms vs wrong ${wrongMs} ms`);
    const planted = `$scrypt$ln=30,r=8,p=1$${randomBytes(16).toString('base64').replace(/=+$/, '')}$${randomBytes(32).toString('base64').replace(/=+$/, '')}`;
    assert.equal(await verifyPassword('x'.repeat(12), planted), false);
    assert.equal(await verifyPassword('correct horse battery', h.slice(0, -3)), false);
  });

  it('weaker stored parameters are flagged for re-hashing', async () => {
    const h = await hashPassword('correct horse battery');
    assert.equal(needsRehash(h), false);
    assert.equal(needsRehash(h.replace(`ln=${SCRYPT_LOG_N}`, 'ln=14')), true);
    assert.equal(needsRehash('garbage'), true);
  });

  it('verification never throws on arbitrary stored text or input', async () => {
    await fc.assert(fc.asyncProperty(fc.string(), fc.string({ maxLength: 200 }), async (stored, pw) => {
      assert.equal(typeof (await verifyPassword(pw, stored)), 'boolean');
    }), { numRuns: 30 });
  });
});
