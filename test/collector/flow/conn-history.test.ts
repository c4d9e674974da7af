// ConnHistory: letters appended in order; append('') adds nothing (the per-packet call the
// flow engine makes for every packet that adds no letter).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConnHistory } from '../../../collector/flow/conn-history.js';

describe('ConnHistory', () => {
  it('add and append keep the letters in order; append of nothing changes nothing', () => {
    const h = new ConnHistory();
    h.append('');
    assert.equal(h.text, '');
    h.add('^');
    h.append('Sh');
    h.append('');
    h.append('A');
    assert.equal(h.text, '^ShA');
  });

  it('append is concatenation (fast-check)', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom('', 'S', 'h', 'A', 'Dd', 'WT^', 'g')), (parts) => {
      const h = new ConnHistory();
      for (const p of parts) h.append(p);
      assert.equal(h.text, parts.join(''));
    }));
  });
});
