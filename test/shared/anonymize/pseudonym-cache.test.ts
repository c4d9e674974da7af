import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PseudonymCache } from '../../../shared/anonymize/pseudonym-cache.js';

function setKey(c: PseudonymCache, k: number[]): void {
  for (let i = 0; i < c.words; i++) c.key[i] = k[i]!;
}

describe('PseudonymCache', () => {
  it('returns what was stored, for every width, and misses what was not', () => {
    for (const words of [1, 2, 3, 4]) {
      const c = new PseudonymCache(words, 1024); // load <= 0.1: no probe-cap overwrites
      const word = fc.integer({ min: -0x80000000, max: 0x7fffffff });
      fc.assert(fc.property(fc.uniqueArray(fc.array(word, { minLength: words, maxLength: words }), { minLength: 1, maxLength: 100, selector: (k) => k.join(',') }), (keys) => {
        c.clear();
        keys.forEach((k, n) => {
          setKey(c, k);
          assert.equal(c.get(), false);
          for (let i = 0; i < words; i++) c.value[i] = (k[i]! ^ n) | 0;
          c.put();
        });
        keys.forEach((k, n) => {
          setKey(c, k);
          c.value.fill(0);
          assert.equal(c.get(), true);
          for (let i = 0; i < words; i++) assert.equal(c.value[i], (k[i]! ^ n) | 0);
        });
        // keys that differ only in the last word must not be confused
        setKey(c, k0Variant(keys[0]!));
        if (!keys.some((k) => k.join(',') === k0Variant(keys[0]!).join(','))) assert.equal(c.get(), false);
      }), { numRuns: 50 });
    }
  });

  it('never holds more than its capacity; memory grows with use up to a fixed bound', () => {
    const c = new PseudonymCache(4, 500);
    const small = c.tableBytes;
    assert.ok(small < c.maxTableBytes / 4, `starts small: ${small} of ${c.maxTableBytes}`);
    for (let i = 0; i < 20_000; i++) {
      setKey(c, [i, i * 7, ~i, i ^ 0x5555]);
      if (!c.get()) {
        c.value[0] = i;
        c.put();
      }
      assert.ok(c.size <= 500, `size ${c.size}`);
      assert.ok(c.tableBytes <= c.maxTableBytes, `bytes ${c.tableBytes}`);
    }
    assert.equal(c.tableBytes, c.maxTableBytes);
    assert.ok(c.size >= 250, 'still holds at least a generation');
  });

  it('keeps every entry and the caller\'s scratch across growth', () => {
    const c = new PseudonymCache(2, 16384);
    const n = 1500; // far below a generation (8192): nothing is rotated out; 64 slots double 7 times
    const stored: number[] = [];
    for (let i = 0; i < n; i++) {
      setKey(c, [i, ~i]);
      assert.equal(c.get(), false);
      c.value[0] = i * 3;
      c.value[1] = -i | 0;
      c.put();
      // put() may have grown the tables: the scratch still holds what the caller wrote
      assert.deepEqual([...c.key], [i, ~i]);
      assert.deepEqual([...c.value], [i * 3, -i | 0]);
      // the probe cap may leave a rare entry uncached; everything cached must survive growth
      if (c.get()) stored.push(i);
    }
    assert.ok(c.tableBytes < c.maxTableBytes, 'grew, not to full size');
    assert.ok(stored.length >= n - 5, `cached ${stored.length} of ${n}`);
    assert.equal(c.size, stored.length);
    for (const i of stored) {
      setKey(c, [i, ~i]);
      assert.ok(c.get(), `lost ${i}`);
      assert.deepEqual([...c.value], [i * 3, -i | 0]);
    }
  });

  it('keeps entries in steady use across many rotations (two generations)', () => {
    const c = new PseudonymCache(1, 200);
    let steadyMisses = 0;
    for (let i = 0; i < 50_000; i++) {
      setKey(c, [1_000_000 + i]);
      c.value[0] = i;
      c.put();
      if (i % 20 === 0) {
        setKey(c, [42]);
        if (!c.get()) {
          steadyMisses++;
          c.value[0] = 4242;
          c.put();
        } else assert.equal(c.value[0], 4242);
      }
    }
    assert.equal(steadyMisses, 1);
    // a one-off key is gone after enough new ones
    setKey(c, [1_000_000]);
    assert.equal(c.get(), false);
  });

  it('rejects a bad shape', () => {
    assert.throws(() => new PseudonymCache(5, 100), RangeError);
    assert.throws(() => new PseudonymCache(1, 1), RangeError);
  });
});

function k0Variant(k: number[]): number[] {
  const v = k.slice();
  v[v.length - 1] = (v[v.length - 1]! + 1) | 0;
  return v;
}
