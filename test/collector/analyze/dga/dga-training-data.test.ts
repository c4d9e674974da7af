// The DGA training data: benign list files as operators have them (plain, Tranco-style CSV,
// comments, junk lines dropped; fuzzed: never an exception but the named one for a missing
// file), the held-out split (deterministic, disjoint, held-out DGA names never seen in training).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNameList, trainingSet } from '../../../../collector/analyze/dga/dga-training-data.js';
import { DgaModelError } from '../../../../collector/analyze/dga/dga-model.js';
import { tempDir } from '../harness.js';

describe('DGA training data', () => {
  it('reads plain and CSV lists (Tranco "rank,domain", Majestic with the name last), skipping comments and junk', () => {
    const { dir, cleanup } = tempDir();
    try {
      const f = join(dir, 'list.csv');
      writeFileSync(f, '# top sites\nrank,domain\n1,Google.com\n2,"youtube.com"\r\nexample.org\n\n3,not a name\n4,bbc.co.uk\n');
      assert.deepEqual(readNameList(f), ['google.com', 'youtube.com', 'example.org', 'bbc.co.uk']);
      assert.throws(() => readNameList(join(dir, 'missing.txt')), DgaModelError);
      fc.assert(fc.property(fc.string({ maxLength: 2000 }), (text) => {
        writeFileSync(f, text);
        return readNameList(f).every((n) => /^[a-z0-9._-]+\.[a-z0-9-]+$/.test(n));
      }), { numRuns: 200 });
    } finally {
      cleanup();
    }
  });

  it('splits deterministically: benign names by hash, held-out DGA names never in training', () => {
    const names = Array.from({ length: 400 }, (_, i) => `site${i}.example`);
    const a = trainingSet(names, ['kraken', 'pykspa']);
    const b = trainingSet(names, ['kraken', 'pykspa']);
    assert.deepEqual(a.benignTest, b.benignTest);
    assert.equal(a.benignTrain.length + a.benignTest.length, 400);
    assert.ok(a.benignTest.length > 80 && a.benignTest.length < 160);
    assert.ok(!a.benignTest.some((n) => a.benignTrain.includes(n)));
    assert.deepEqual(a.dgaTrain.map((l) => l.family), ['kraken', 'pykspa']);
    const seen = new Set(a.dgaTrain.flatMap((l) => l.names));
    for (const l of a.dgaTest) {
      assert.ok(l.names.length > 200, `${l.family}: ${l.names.length} held-out names`);
      assert.ok(l.names.every((n) => !seen.has(n)));
    }
  });
});
