import assert from 'node:assert/strict';
import { TupleTable } from '../../../shared/dump/tuple-table.js';
import { PacketRecord, RecordFlag } from '../../../shared/packet/packet-record.js';

function record(i: number, reverse = false): PacketRecord {
  const r = new PacketRecord();
  r.ipVersion = 4;
  r.proto = 6;
  const a = [10, 0, (i >>> 8) & 0xff, i & 0xff];
  const b = [192, 0, 2, 1];
  r.src.set(reverse ? b : a);
  r.dst.set(reverse ? a : b);
  r.sport = reverse ? 443 : 40000 + (i % 20000);
  r.dport = reverse ? 40000 + (i % 20000) : 443;
  r.direction = reverse ? 2 : 1;
  r.flags = reverse ? RecordFlag.DstAnon : RecordFlag.SrcAnon;
  return r;
}

describe('TupleTable', () => {
  it('gives each distinct tuple the next index and finds it again, across growth past its initial capacity', () => {
    const tt = new TupleTable(256);
    assert.equal(tt.capacity, 256);
    for (let i = 0; i < 1000; i++) assert.equal(tt.lookup(record(i)), i);
    assert.equal(tt.count, 1000);
    assert.ok(tt.capacity >= 1000);
    for (let i = 0; i < 1000; i++) assert.equal(tt.lookup(record(i)), i, `tuple ${i} after growth`);
    assert.equal(tt.count, 1000, 'lookups of known tuples add nothing');
  });

  it('finds the reverse tuple (addresses, ports, direction and anonymization flags swapped)', () => {
    const tt = new TupleTable(2);
    const fwd = tt.lookup(record(7));
    assert.equal(tt.reverseOf(fwd), -1);
    const rev = tt.lookup(record(7, true));
    assert.equal(tt.reverseOf(fwd), rev);
    assert.equal(tt.reverseOf(rev), fwd);
    tt.clear();
    assert.equal(tt.count, 0);
    assert.equal(tt.lookup(record(7, true)), 0, 'clear() empties the table');
  });
});
