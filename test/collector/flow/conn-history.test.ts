// ConnHistory: once-per-direction letters (Zeek's CheckHistory) and added letters, in order.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConnHistory, HistBit } from '../../../collector/flow/conn-history.js';

describe('ConnHistory', () => {
  it('check records a letter once per direction and answers whether it was seen', () => {
    const h = new ConnHistory();
    assert.equal(h.check(HistBit.Syn, true, 'S', 's'), false);
    assert.equal(h.check(HistBit.Syn, true, 'S', 's'), true);
    assert.equal(h.check(HistBit.Syn, false, 'H', 'h'), false);
    h.add('^');
    assert.equal(h.check(HistBit.Data, true, 'D', 'd'), false);
    assert.equal(h.text, 'Sh^D');
  });

  it('each (bit, direction) adds its letter exactly once (fast-check)', () => {
    const bits = [HistBit.Syn, HistBit.Fin, HistBit.Rst, HistBit.FinRst, HistBit.Data, HistBit.Ack, HistBit.MultiFlag];
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.boolean())), (calls) => {
      const h = new ConnHistory();
      const seen = new Set<string>();
      let want = '';
      for (const [b, isOrig] of calls) {
        const key = `${b}/${isOrig}`;
        const upper = String.fromCharCode(65 + b);
        const lower = String.fromCharCode(97 + b);
        assert.equal(h.check(bits[b]!, isOrig, upper, lower), seen.has(key));
        if (!seen.has(key)) want += isOrig ? upper : lower;
        seen.add(key);
      }
      assert.equal(h.text, want);
    }));
  });
});
