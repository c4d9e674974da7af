import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KEY_FILE_KINDS, decodeKeyFile, encodeKeyFile } from '../../../shared/keys/key-file-format.js';
import { KeyFileError } from '../../../shared/keys/key-file-error.js';

describe('key file format', () => {
  it('round-trips every kind', () => {
    for (const kind of Object.values(KEY_FILE_KINDS)) {
      const material: Record<string, Uint8Array> = {};
      for (const [name, len] of Object.entries(kind.fields)) material[name] = Uint8Array.from({ length: len }, (_, i) => (i * 31 + name.length) & 0xff);
      const text = encodeKeyFile(kind, material, { created: '2024-01-01T00:00:00Z' });
      assert.deepEqual(decodeKeyFile('f', text, kind), material);
      // and is refused as any other kind
      for (const other of Object.values(KEY_FILE_KINDS)) {
        if (other !== kind) assert.throws(() => decodeKeyFile('f', text, other), new RegExp(`is not a Meerkat ${other.description}`));
      }
    }
  });

  it('hostile text only ever raises KeyFileError naming the file', () => {
    const kind = KEY_FILE_KINDS.anonKey;
    const field = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.base64String(), fc.constant('A'.repeat(43) + '='));
    const obj = fc.record({ type: fc.oneof(fc.constant('meerkat-anon-key'), fc.string()), version: fc.oneof(fc.constant(1), fc.integer()), key: field }, { requiredKeys: [] });
    fc.assert(fc.property(fc.oneof(fc.string(), fc.json(), obj.map((o) => JSON.stringify(o))), (text) => {
      try {
        const out = decodeKeyFile('/etc/meerkat/anon.key', text, kind);
        assert.equal(out.key!.length, 32);
      } catch (e) {
        assert.ok(e instanceof KeyFileError, String(e));
        assert.ok(e.message.startsWith('/etc/meerkat/anon.key: '));
      }
    }), { numRuns: 2000 });
  });

  it('refuses to encode material of the wrong size', () => {
    assert.throws(() => encodeKeyFile(KEY_FILE_KINDS.anonKey, { key: new Uint8Array(31) }), /32 bytes/);
  });
});
