// Canonical JSON, operator keys and command signatures: what an agent accepts and what it refuses.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { canonicalJson, CanonicalJsonError } from '../../../shared/commands/canonical-json.js';
import { buildSignedCommand, signedBytes, signEnvelope, verifyCommand } from '../../../shared/commands/command-signing.js';
import { CLOCK_SKEW_MS, CommandSchemaError, parseEnvelope, type CommandEnvelope } from '../../../shared/commands/command-schema.js';
import { KeyFileError } from '../../../shared/keys/key-file-error.js';
import { initOperatorKeys, loadOperatorPublicKey, loadOperatorSigningKey, operatorKeyId, type OperatorSigningKey } from '../../../shared/commands/operator-keys.js';
import type { KeyObject } from 'node:crypto';

const AGENT = '3b1f6a52-9c1e-4d6f-8a2b-0c4d5e6f7a8b';
const OTHER = '00000000-0000-4000-8000-000000000000';
const HOUR = 3_600_000;

describe('canonical JSON', () => {
  it('sorts keys at every level, drops undefined, has no whitespace', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, 'x', null, true], c: undefined }, é: -0 }), '{"a":{"d":[1,"x",null,true]},"b":1,"é":0}');
  });

  it('is independent of key order and stable across a JSON round trip (property)', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => {
      const c = canonicalJson(v);
      assert.equal(canonicalJson(JSON.parse(c)), c);
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        const reversed = Object.fromEntries(Object.entries(v).reverse());
        assert.equal(canonicalJson(reversed), c);
      }
    }), { numRuns: 300 });
  });

  it('refuses what JSON cannot carry faithfully', () => {
    for (const bad of [NaN, Infinity, () => 1, new Date(0), [undefined], 1n, Symbol('s')]) {
      assert.throws(() => canonicalJson({ x: bad }), CanonicalJsonError);
    }
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    assert.throws(() => canonicalJson(deep), /levels of nesting/);
  });
});

describe('operator keys and command signatures', () => {
  let dir: string;
  let alice: OperatorSigningKey;
  let mallory: OperatorSigningKey;
  let keys: Map<string, KeyObject>;
  const now = Date.UTC(2030, 0, 1);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meerkat-sign-'));
    initOperatorKeys(join(dir, 'alice'), { name: 'alice' });
    initOperatorKeys(join(dir, 'mallory'), { name: 'alice' });
    alice = loadOperatorSigningKey(join(dir, 'alice', 'op.key'));
    mallory = loadOperatorSigningKey(join(dir, 'mallory', 'op.key'));
    const pub = loadOperatorPublicKey(join(dir, 'alice', 'op.pub'));
    keys = new Map([[pub.keyId, pub.key]]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const ctx = (over: Partial<{ agentId: string; nowMs: number }> = {}) => ({ agentId: AGENT, nowMs: now, keys, ...over });
  const snap = (key = alice, o: Partial<{ agentId: string; nowMs: number; lifetimeMs: number }> = {}): CommandEnvelope =>
    buildSignedCommand(key, { agentId: o.agentId ?? AGENT, kind: 'capture.snaplen', params: { snapLen: 128 }, lifetimeMs: o.lifetimeMs ?? HOUR, nowMs: o.nowMs ?? now });

  it('key files: 0600/0644, key id from the public key, refuse to overwrite, refuse loose permissions', () => {
    const d = join(dir, 'alice');
    assert.equal(alice.keyId, operatorKeyId(alice.publicKey));
    assert.equal(alice.name, 'alice');
    assert.throws(() => initOperatorKeys(d, { name: 'alice' }), KeyFileError);
    const copy = join(dir, 'loose.key');
    writeFileSync(copy, readFileSync(join(d, 'op.key')));
    chmodSync(copy, 0o644);
    assert.throws(() => loadOperatorSigningKey(copy), /accessible to group\/others/);
    const pubCopy = join(dir, 'loose.pub');
    writeFileSync(pubCopy, readFileSync(join(d, 'op.pub')));
    chmodSync(pubCopy, 0o666);
    assert.throws(() => loadOperatorPublicKey(pubCopy), /writable by group\/others/);
    const wrongKind = join(dir, 'wrong-kind.key');
    writeFileSync(wrongKind, readFileSync(join(d, 'op.pub')), { mode: 0o600 });
    assert.throws(() => loadOperatorSigningKey(wrongKind), /is not a Meerkat operator signing key/);
    // a public half that does not belong to the seed is a damaged file
    const doc = JSON.parse(readFileSync(join(d, 'op.key'), 'utf8')) as Record<string, string>;
    doc.publicKey = Buffer.from(mallory.publicKey).toString('base64');
    const bad = join(dir, 'mixed.key');
    writeFileSync(bad, JSON.stringify(doc), { mode: 0o600 });
    assert.throws(() => loadOperatorSigningKey(bad), /does not belong/);
  });

  it('accepts a command signed by a pinned key, for this agent, in its time window', () => {
    const v = verifyCommand(snap(), ctx());
    assert.ok(v.ok, JSON.stringify(v));
    assert.deepEqual(v.params, { snapLen: 128 });
    // the same after a JSON round trip (what the wire does)
    assert.ok(verifyCommand(JSON.parse(JSON.stringify(snap())), ctx()).ok);
  });

  it('refuses: unsigned, unknown key, altered (any field), wrong target, expired, future, bad parameters, malformed', () => {
    const env = snap();
    const code = (raw: unknown, c = ctx()): string => {
      const v = verifyCommand(raw, c);
      return v.ok ? 'accepted' : v.code;
    };
    const { sig: _s, ...unsigned } = env;
    assert.equal(code(unsigned), 'unsigned');
    assert.equal(code(snap(mallory)), 'unknown-key');
    // Mallory claims Alice's key id: the signature does not verify
    assert.equal(code(signEnvelope({ ...unsigned, keyId: alice.keyId }, { ...mallory, keyId: alice.keyId })), 'bad-signature');
    for (const altered of [
      { ...env, params: { snapLen: 65535 } },
      { ...env, agentId: OTHER },
      { ...env, expiresAt: env.expiresAt + 1 },
      { ...env, issuedAt: env.issuedAt - 1 },
      { ...env, kind: 'capture.dump-size' as const, params: { packets: 1 } },
      { ...env, nonce: 'AAAAAAAAAAAAAAAAAAAAAA' },
      { ...env, operator: 'bob' },
    ]) assert.equal(code(altered), 'bad-signature', JSON.stringify(altered));
    assert.equal(code(snap(alice, { agentId: OTHER })), 'wrong-target');
    assert.equal(code(env, ctx({ nowMs: env.expiresAt + CLOCK_SKEW_MS + 1 })), 'expired');
    assert.equal(code(env, ctx({ nowMs: env.expiresAt + CLOCK_SKEW_MS })), 'accepted', 'clock skew allowance');
    assert.equal(code(env, ctx({ nowMs: env.issuedAt - CLOCK_SKEW_MS - 1 })), 'not-yet-valid');
    const badParams = signEnvelope({ ...unsigned, params: { snapLen: 70000 } }, alice);
    assert.equal(code(badParams), 'bad-params');
    const extraParam = signEnvelope({ ...unsigned, params: { snapLen: 1, evil: true } }, alice);
    assert.equal(code(extraParam), 'bad-params');
    for (const junk of [null, 'x', [], { ...env, v: 2 }, { ...env, extra: 1 }, { ...env, kind: 'shell' }, { ...env, sig: 'short' }]) {
      assert.equal(code(junk), 'malformed', JSON.stringify(junk));
    }
  });

  it('any change to a signed command breaks its signature (property)', () => {
    const env = snap();
    const fields = ['agentId', 'kind', 'issuedAt', 'expiresAt', 'nonce', 'operator', 'keyId'] as const;
    fc.assert(fc.property(fc.constantFrom(...fields), fc.string({ minLength: 1, maxLength: 8 }), (field, junk) => {
      const cur = env[field];
      const next = typeof cur === 'number' ? cur + junk.length : `${String(cur)}${junk}`;
      const v = verifyCommand({ ...env, [field]: next }, ctx());
      assert.equal(v.ok, false);
    }), { numRuns: 200 });
  });

  it('envelopes: lifetime bounded, expiry after issue; signed bytes carry a context line', () => {
    assert.throws(() => snap(alice, { lifetimeMs: 31 * 86_400_000 }), CommandSchemaError);
    assert.throws(() => parseEnvelope({ ...snap(), expiresAt: now - 1 }), /after issuedAt/);
    assert.ok(signedBytes(snap()).toString('utf8').startsWith('meerkat command v1\n{'));
  });
});
