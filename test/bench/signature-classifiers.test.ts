// The classifier comparison's data and the built-in forest on it (the library options are
// measured by hand, docs/dependencies.md): a time split per agent, and the forest's held-out
// accuracy where the twins are the only confusion.
import assert from 'node:assert/strict';
import { compareClassifiers, signatureDataset } from '../../bench/signature-classifiers.js';

describe('signature classifier comparison', () => {
  it('splits each machine by time and measures the built-in forest', async () => {
    const d = signatureDataset(8, 0);
    assert.equal(d.classes.length, 7);
    assert.ok(d.test.length >= 7 * 15 && d.train.length >= 4 * d.test.length - 7);
    const [r] = await compareClassifiers({ hours: [8], seeds: 1, skip: ['ml-random', 'mlp'] });
    assert.match(r!.option, /^forest/);
    assert.ok(r!.accuracy >= 0.8 && r!.accuracy < 1, `${r!.accuracy}`);
  });
});
