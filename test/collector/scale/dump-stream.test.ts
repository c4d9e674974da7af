import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dumpMsgId, dumpSubject, partitionOf } from '../../../collector/scale/dump-stream.js';

describe('dump stream layout', () => {
  it('puts every dump of an agent in one partition, inside the range (property)', () => {
    fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 64 }), fc.integer({ min: 1, max: 1024 }), (agent, n) => {
      const p = partitionOf(agent, n);
      assert.ok(Number.isInteger(p) && p >= 0 && p < n);
      assert.equal(partitionOf(agent, n), p);
    }));
  });

  it('spreads agents over the partitions', () => {
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 16_000; i++) counts[partitionOf(`agent-${i}-${(i * 7919) % 1000}`, 16)]!++;
    for (const c of counts) assert.ok(c > 700 && c < 1300, `partition sizes ${counts.join(',')}`);
  });

  it('names subjects and message ids per organisation', () => {
    assert.equal(dumpSubject('acme', 3), 'meerkat.dumps.acme.3');
    assert.equal(dumpMsgId('acme', 'a1', 7), 'acme/a1/7');
    assert.notEqual(dumpMsgId('acme', 'a1', 7), dumpMsgId('other', 'a1', 7));
  });
});
