// "Did you mean": the closest known name for a typo, nothing for a word that is merely different.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { closestName, didYouMean, editDistance } from '../../../shared/config/did-you-mean.js';

describe('did you mean', () => {
  it('edit distance counts an adjacent swap as one edit', () => {
    assert.equal(editDistance('listne', 'listen'), 1);
    assert.equal(editDistance('analyzer', 'analyzers'), 1);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('kitten', 'sitting'), 3);
  });

  it('names the close candidate, none for an unrelated word', () => {
    const keys = ['listen', 'api', 'ops', 'stateDir', 'analyzers', 'analysis', 'alerts'];
    assert.equal(closestName('listne', keys), 'listen');
    assert.equal(closestName('analyzer', keys), 'analyzers');
    assert.equal(closestName('StateDir', keys), 'stateDir');
    assert.equal(closestName('colour', keys), null);
    assert.equal(didYouMean('listne', keys), ' (did you mean "listen"?)');
    assert.equal(didYouMean('colour', keys), '');
  });

  it('properties: a known name is its own closest; distance is symmetric', () => {
    fc.assert(fc.property(fc.array(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 8 }), fc.nat(), (names, i) => {
      const w = names[i % names.length]!;
      assert.equal(editDistance(w, closestName(w, names) ?? ''), 0);
    }));
    fc.assert(fc.property(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), (a, b) => editDistance(a, b) === editDistance(b, a)));
  });
});
