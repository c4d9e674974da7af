import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { MacPseudonymizer } from '../../../shared/anonymize/address-anonymizer.js';

const KEY = Uint8Array.from(randomBytes(32));
const mac = fc.uint8Array({ minLength: 6, maxLength: 6 });
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('MacPseudonymizer', () => {
  it('never returns the input, sets the locally-administered bit, clears the group bit', () => {
    const p = new MacPseudonymizer(KEY, 'pseudonym');
    const out = new Uint8Array(6);
    fc.assert(fc.property(mac, (m) => {
      p.pseudonymize(m, 0, out, 0);
      assert.notEqual(hex(out), hex(m));
      assert.equal(out[0]! & 0x02, 0x02);
      assert.equal(out[0]! & 0x01, 0);
    }), { numRuns: 2000 });
    // the OUI is not kept
    let sameOui = 0;
    const r = randomBytes(6 * 500);
    for (let i = 0; i < 500; i++) {
      const m = r.subarray(6 * i, 6 * i + 6);
      p.pseudonymize(m, 0, out, 0);
      if (hex(out.subarray(0, 3)) === hex(m.subarray(0, 3))) sameOui++;
    }
    assert.ok(sameOui <= 2, `OUI kept ${sameOui} times of 500`);
  });

  it('is stable across instances with the same key (cache or not) and differs with another key', () => {
    const a = new MacPseudonymizer(KEY, 'pseudonym');
    const b = new MacPseudonymizer(Uint8Array.from(KEY), 'pseudonym', 16);
    const c = new MacPseudonymizer(Uint8Array.from(randomBytes(32)), 'pseudonym');
    const oa = new Uint8Array(6);
    const ob = new Uint8Array(6);
    const oc = new Uint8Array(6);
    fc.assert(fc.property(mac, (m) => {
      a.pseudonymize(m, 0, oa, 0);
      a.pseudonymize(m, 0, ob, 0); // second time from the cache
      assert.deepEqual(ob, oa);
      b.pseudonymize(m, 0, ob, 0);
      assert.deepEqual(ob, oa);
      c.pseudonymize(m, 0, oc, 0);
      assert.notDeepEqual(oc, oa);
    }), { numRuns: 500 });
    assert.ok(a.stats.misses < a.stats.lookups);
  });

  it('is collision-free over 20,000 random MACs and works in place at offsets', () => {
    const p = new MacPseudonymizer(KEY, 'pseudonym', 1024);
    const seen = new Map<string, string>();
    const r = randomBytes(6 * 20_000);
    const out = new Uint8Array(6);
    for (let i = 0; i < 20_000; i++) {
      const m = r.subarray(6 * i, 6 * i + 6);
      p.pseudonymize(m, 0, out, 0);
      const prev = seen.get(hex(out));
      assert.ok(prev === undefined || prev === hex(m), 'two MACs share a pseudonym');
      seen.set(hex(out), hex(m));
    }
    const frame = Uint8Array.from(randomBytes(20));
    const expect = new Uint8Array(6);
    p.pseudonymize(frame, 6, expect, 0);
    p.pseudonymize(frame, 6, frame, 6);
    assert.deepEqual(frame.subarray(6, 12), expect);
  });

  it("'drop' writes zeros", () => {
    const p = new MacPseudonymizer(KEY, 'drop');
    const buf = Uint8Array.from(randomBytes(12));
    p.pseudonymize(buf, 0, buf, 6);
    assert.deepEqual(buf.subarray(6, 12), new Uint8Array(6));
    assert.throws(() => new MacPseudonymizer(KEY, 'keep' as 'drop'), /MAC mode/);
  });
});
