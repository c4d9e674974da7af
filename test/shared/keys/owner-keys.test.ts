import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { initOwnerKeys, loadAnonKey, loadBoxPublicKey, loadOwnerKeys } from '../../../shared/keys/owner-keys.js';
import { anonymizeText, deanonymizeText } from '../../../shared/anonymize/pseudonym-text.js';
import { KeyFileError } from '../../../shared/keys/key-file-error.js';
import { anonKeyId } from '../../../shared/anonymize/key-derivation.js';
import { AddressAnonymizer } from '../../../shared/anonymize/address-anonymizer.js';
import { skipBecause } from '../../helpers/skip.js';

const posix = process.platform !== 'win32';
const mode = (p: string): number => statSync(p).mode & 0o777;

describe('owner keys', () => {
  let base: string;
  beforeEach(() => { base = mkdtempSync(join(tmpdir(), 'meerkat-keys-')); });
  afterEach(() => { rmSync(base, { recursive: true, force: true }); });

  it('init creates the directory 0700 and the files 0600/0600/0644, and load reads them back', function () {
    if (!posix) skipBecause(this, 'file mode bits are POSIX-only');
    const dir = join(base, 'owner', 'keys');
    const r = initOwnerKeys(dir);
    assert.deepEqual(r.files, [join(dir, 'anon.key'), join(dir, 'box.key'), join(dir, 'box.pub')]);
    assert.equal(mode(dir), 0o700);
    assert.equal(mode(r.files[0]!), 0o600);
    assert.equal(mode(r.files[1]!), 0o600);
    assert.equal(mode(r.files[2]!), 0o644);
    assert.deepEqual(readdirSync(dir).sort(), ['anon.key', 'box.key', 'box.pub'], 'no temporary files left');
    const k = loadOwnerKeys(dir);
    assert.equal(k.anonKey.length, 32);
    assert.equal(anonKeyId(k.anonKey), r.keyId);
    assert.match(r.keyId, /^[0-9a-f]{16}$/);
    assert.equal(new AddressAnonymizer({ key: k.anonKey, policy: 'internal' }).keyId, r.keyId);
    // the files carry type, version and the key id; the anon key file holds the key id in clear
    const json = JSON.parse(readFileSync(r.files[0]!, 'utf8')) as Record<string, unknown>;
    assert.equal(json.type, 'meerkat-anon-key');
    assert.equal(json.version, 1);
    assert.equal(json.keyId, r.keyId);
    // what an agent loads
    assert.deepEqual(loadAnonKey(r.files[0]!), k.anonKey);
    assert.deepEqual(loadBoxPublicKey(r.files[2]!), k.boxPublicKey);
  });

  it('the box keys work: an agent seals to box.pub, the owner opens with box.key', () => {
    initOwnerKeys(base);
    const owner = loadOwnerKeys(base);
    const pub = loadBoxPublicKey(join(base, 'box.pub'));
    const eph = nacl.box.keyPair();
    const nonce = nacl.randomBytes(nacl.box.nonceLength);
    const msg = new TextEncoder().encode('host=ws-042 user=alice');
    const sealed = nacl.box(msg, nonce, pub, eph.secretKey);
    const opened = nacl.box.open(sealed, nonce, eph.publicKey, owner.boxSecretKey);
    assert.ok(opened);
    assert.equal(new TextDecoder().decode(opened), 'host=ws-042 user=alice');
  });

  it('two inits give different keys', () => {
    const a = initOwnerKeys(join(base, 'a'));
    const b = initOwnerKeys(join(base, 'b'));
    assert.notEqual(a.keyId, b.keyId);
    assert.notDeepEqual(loadOwnerKeys(join(base, 'a')).boxSecretKey, loadOwnerKeys(join(base, 'b')).boxSecretKey);
  });

  it('refuses to overwrite existing keys; force replaces them and keeps the old files', () => {
    const first = initOwnerKeys(base);
    const before = readFileSync(join(base, 'anon.key'), 'utf8');
    assert.throws(() => initOwnerKeys(base), (e: unknown) => e instanceof KeyFileError && /refusing to overwrite/.test(e.message) && e.message.includes('anon.key'));
    assert.equal(readFileSync(join(base, 'anon.key'), 'utf8'), before, 'untouched after the refusal');
    // even one leftover file blocks
    rmSync(join(base, 'anon.key'));
    rmSync(join(base, 'box.key'));
    assert.throws(() => initOwnerKeys(base), /box\.pub/);
    initOwnerKeys(join(base, 'again'));
    const second = initOwnerKeys(join(base, 'again'), { force: true });
    assert.equal(second.replaced.length, 3);
    for (const f of second.replaced) assert.ok(existsSync(f), f);
    assert.notEqual(second.keyId, first.keyId);
    assert.equal(anonKeyId(loadAnonKey(join(base, 'again', 'anon.key'))), second.keyId);
    // the replaced anon key is still a loadable key file
    const oldAnon = second.replaced.find((f) => f.includes('anon.key'))!;
    assert.equal(loadAnonKey(oldAnon).length, 32);
  });

  it('refuses secret files readable by group/others and a public key writable by them', function () {
    if (!posix) skipBecause(this, 'file mode bits are POSIX-only');
    initOwnerKeys(base);
    chmodSync(join(base, 'anon.key'), 0o644);
    assert.throws(() => loadAnonKey(join(base, 'anon.key')), (e: unknown) => e instanceof KeyFileError && /group\/others.*0644.*chmod 600/.test(e.message));
    assert.throws(() => loadOwnerKeys(base), /anon\.key/);
    chmodSync(join(base, 'anon.key'), 0o640);
    assert.throws(() => loadAnonKey(join(base, 'anon.key')), /0640/);
    chmodSync(join(base, 'anon.key'), 0o400);
    assert.equal(loadAnonKey(join(base, 'anon.key')).length, 32, 'read-only for the owner is fine');
    chmodSync(join(base, 'box.key'), 0o604);
    assert.throws(() => loadOwnerKeys(base), /box\.key.*0604/);
    chmodSync(join(base, 'box.key'), 0o600);
    chmodSync(join(base, 'box.pub'), 0o666);
    assert.throws(() => loadBoxPublicKey(join(base, 'box.pub')), /writable by group\/others/);
    chmodSync(join(base, 'box.pub'), 0o644);
    assert.ok(loadOwnerKeys(base));
  });

  it('names a wrong, damaged or missing file clearly', () => {
    initOwnerKeys(base);
    const anon = join(base, 'anon.key');
    const pub = join(base, 'box.pub');
    const sec = join(base, 'box.key');
    // a box public key given where the anonymization key is expected
    const wrong = join(base, 'wrong.key');
    copyFileSync(pub, wrong);
    chmodSync(wrong, 0o600);
    assert.throws(() => loadAnonKey(wrong), (e: unknown) => e instanceof KeyFileError && e.message === `${wrong}: is not a Meerkat anonymization key (its type is "meerkat-box-public-key", expected "meerkat-anon-key")`);
    assert.throws(() => loadBoxPublicKey(anon), /is not a Meerkat owner box public key/);
    writeFileSync(wrong, '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n', { mode: 0o600 });
    assert.throws(() => loadAnonKey(wrong), /wrong\.key: is not a Meerkat anonymization key \(not JSON\)/);
    writeFileSync(wrong, JSON.stringify({ type: 'meerkat-anon-key', version: 1, key: Buffer.alloc(16).toString('base64') }), { mode: 0o600 });
    assert.throws(() => loadAnonKey(wrong), /must hold 32 bytes, it holds 16/);
    writeFileSync(wrong, JSON.stringify({ type: 'meerkat-anon-key', version: 2, key: Buffer.alloc(32).toString('base64') }), { mode: 0o600 });
    assert.throws(() => loadAnonKey(wrong), /version 2 is not supported/);
    assert.throws(() => loadAnonKey(join(base, 'nope.key')), (e: unknown) => e instanceof KeyFileError && /nope\.key: missing/.test(e.message));
    assert.throws(() => loadAnonKey(base), /is not a regular file/);
    assert.throws(() => loadOwnerKeys(join(base, 'nowhere')), /anon\.key: missing/);
    // box.key whose public half was tampered with
    const j = JSON.parse(readFileSync(sec, 'utf8')) as Record<string, string>;
    j.publicKey = Buffer.from(nacl.box.keyPair().publicKey).toString('base64');
    writeFileSync(sec, JSON.stringify(j), { mode: 0o600 });
    assert.throws(() => loadOwnerKeys(base), /does not belong to its secret key/);
    // box.pub from another key set
    const other = join(base, 'other');
    initOwnerKeys(other);
    initOwnerKeys(join(base, 'third'));
    copyFileSync(join(base, 'third', 'box.pub'), join(other, 'box.pub'));
    assert.throws(() => loadOwnerKeys(other), /box\.pub: does not match box\.key/);
  });

  it('deanonymizeText/anonymizeText with loaded keys agree with the agent', () => {
    initOwnerKeys(base);
    const keys = loadOwnerKeys(base);
    const agent = new AddressAnonymizer({ key: loadAnonKey(join(base, 'anon.key')), policy: 'internal' });
    const a = new Uint8Array(16);
    a.set([10, 1, 2, 3]);
    assert.ok(agent.anonymize(4, a));
    const pseudo = `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
    assert.equal(anonymizeText(keys, '10.1.2.3'), pseudo);
    assert.equal(deanonymizeText(keys, pseudo), '10.1.2.3');
  });
});
