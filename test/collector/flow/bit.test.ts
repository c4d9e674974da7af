// bit(): conditions as 0/1 numbers.
import assert from 'node:assert/strict';
import { bit } from '../../../collector/flow/bit.js';

describe('bit', () => {
  it('is 1 for true and 0 for false, and combines with & and |', () => {
    assert.equal(bit(true), 1);
    assert.equal(bit(false), 0);
    assert.equal(bit(1 < 2) & bit(2 < 1), 0);
    assert.equal(bit(1 < 2) | bit(2 < 1), 1);
  });
});
