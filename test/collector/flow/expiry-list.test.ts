// Timer lists: push (append or move to the tail), remove, due, and the head watch, against a
// plain array model under random operations on several lists sharing one watch (fast-check).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ExpiryList, TimerNode, type HeadWatch } from '../../../collector/flow/expiry-list.js';

function contents(l: ExpiryList<number>): number[] {
  const out: number[] = [];
  for (let n = l.head; n !== null; n = n.next) {
    assert.equal(n.list, l);
    assert.equal(n.next === null ? l.tail : n.next.prev, n, 'prev/next links agree');
    out.push(n.owner);
  }
  return out;
}

describe('ExpiryList', () => {
  it('push appends, moves a node to the tail, and from another list', () => {
    const watch: HeadWatch = { moved: false };
    const a = new ExpiryList<number>(watch);
    const b = new ExpiryList<number>(watch);
    const n = [0, 1, 2].map((i) => new TimerNode(i));
    a.push(n[0]!);
    assert.equal(watch.moved, true, 'the first node of an empty list is a new head');
    watch.moved = false;
    a.push(n[1]!);
    a.push(n[2]!);
    assert.equal(watch.moved, false, 'appending behind a head leaves it');
    a.push(n[2]!);
    assert.deepEqual(contents(a), [0, 1, 2], 'pushing the tail again changes nothing');
    a.push(n[1]!);
    assert.deepEqual(contents(a), [0, 2, 1]);
    assert.equal(watch.moved, false);
    b.push(n[0]!);
    assert.deepEqual(contents(a), [2, 1]);
    assert.deepEqual(contents(b), [0]);
    assert.equal(watch.moved, true, 'the head left a, and b got one');
    assert.equal(a.size, 2);
    assert.equal(b.size, 1);
  });

  it('remove unlinks head, middle, tail and last node; ignores a node of another list', () => {
    const watch: HeadWatch = { moved: false };
    const a = new ExpiryList<number>(watch);
    const b = new ExpiryList<number>(watch);
    const n = [0, 1, 2, 3].map((i) => new TimerNode(i));
    for (const x of n) a.push(x);
    watch.moved = false;
    b.remove(n[1]!);
    assert.deepEqual(contents(a), [0, 1, 2, 3], 'not on b: nothing happens');
    b.remove(new TimerNode(9));
    assert.equal(b.size, 0);
    a.remove(n[1]!);
    assert.equal(watch.moved, false, 'a middle node is not the head');
    a.remove(n[3]!);
    assert.deepEqual(contents(a), [0, 2]);
    assert.equal(a.tail, n[2]);
    a.remove(n[0]!);
    assert.equal(watch.moved, true);
    a.remove(n[2]!);
    assert.equal(a.head, null);
    assert.equal(a.tail, null);
    assert.equal(a.size, 0);
    for (const x of n) assert.equal(x.list, null);
  });

  it('due answers the head when its deadline has come', () => {
    const a = new ExpiryList<number>();
    const x = new TimerNode(1);
    x.deadline = 100;
    a.push(x);
    assert.equal(a.due(99), null);
    assert.equal(a.due(100), x);
  });

  it('agrees with an array model under random pushes and removes (fast-check)', () => {
    const op = fc.record({ push: fc.boolean(), list: fc.integer({ min: 0, max: 2 }), node: fc.integer({ min: 0, max: 7 }) });
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const watch: HeadWatch = { moved: false };
      const lists = [0, 1, 2].map(() => new ExpiryList<number>(watch));
      const nodes = Array.from({ length: 8 }, (_, i) => new TimerNode(i));
      const model: number[][] = [[], [], []];
      for (const o of ops) {
        const heads = model.map((m) => m[0]);
        const where = model.findIndex((m) => m.includes(o.node));
        watch.moved = false;
        if (o.push) {
          if (!(where === o.list && model[where]!.at(-1) === o.node)) {
            if (where >= 0) model[where]!.splice(model[where]!.indexOf(o.node), 1);
            model[o.list]!.push(o.node);
          }
          lists[o.list]!.push(nodes[o.node]!);
        } else {
          if (where === o.list) model[where]!.splice(model[where]!.indexOf(o.node), 1);
          lists[o.list]!.remove(nodes[o.node]!);
        }
        const headMoved = model.some((m, i) => m[0] !== heads[i]);
        // the watch is set whenever a head changed (it may also be set when a head was taken
        // off and another node became head: that is a change too)
        assert.equal(watch.moved, headMoved, JSON.stringify(o));
        model.forEach((m, i) => {
          assert.deepEqual(contents(lists[i]!), m);
          assert.equal(lists[i]!.size, m.length);
        });
      }
    }), { numRuns: 500 });
  });
});
