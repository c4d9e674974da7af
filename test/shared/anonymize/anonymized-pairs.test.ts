// The pair cache of imported packets' pseudonyms (shared/anonymize/anonymized-pairs.ts): for
// any stream of records, the same addresses, flags and lookup count as the anonymizer alone.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { AddressAnonymizer, type AnonymizePolicy } from '../../../shared/anonymize/address-anonymizer.js';
import { AnonymizedPairs } from '../../../shared/anonymize/anonymized-pairs.js';
import { PacketRecord, RecordFlag } from '../../../shared/packet/packet-record.js';
import { parseIp } from '../../../shared/net/ip-address.js';

const KEY = Uint8Array.from(randomBytes(32));
// internal and external, IPv4 and IPv6: pairs repeat, in either order
const ADDRESSES = ['10.0.0.1', '10.0.0.2', '192.168.7.9', '8.8.8.8', '1.1.1.1', '172.16.0.1', 'fd00::1', '2001:db8::7'];

function record(src: string, dst: string, flags: number): PacketRecord {
  const r = new PacketRecord();
  const s = parseIp(src);
  const d = parseIp(dst.includes(':') === src.includes(':') ? dst : src);
  r.ipVersion = s.version;
  r.src.set(s.bytes);
  r.dst.set(d.bytes);
  r.flags = flags;
  return r;
}

describe('anonymized address pairs', () => {
  it('gives every record what the anonymizer alone gives it, and counts the same lookups (property)', () => {
    const step = fc.record({
      a: fc.integer({ min: 0, max: ADDRESSES.length - 1 }),
      b: fc.integer({ min: 0, max: ADDRESSES.length - 1 }),
      flags: fc.constantFrom(0, 0, 0, RecordFlag.SrcAnon, RecordFlag.DstAnon, RecordFlag.Truncated),
    });
    fc.assert(fc.property(fc.array(step, { minLength: 1, maxLength: 120 }), fc.constantFrom<AnonymizePolicy>('internal', 'all', 'none'),
      fc.constantFrom(2, 4, 4096), (steps, policy, entries) => {
        const plain = new AddressAnonymizer({ key: KEY, policy });
        const cached = new AddressAnonymizer({ key: KEY, policy });
        // a small cache: pairs collide and replace each other
        const pairs = new AnonymizedPairs(cached, entries);
        for (const s of steps) {
          const x = record(ADDRESSES[s.a]!, ADDRESSES[s.b]!, s.flags);
          const y = record(ADDRESSES[s.a]!, ADDRESSES[s.b]!, s.flags);
          plain.anonymizeRecord(x);
          pairs.anonymizeRecord(y);
          assert.deepEqual([...y.addrWords], [...x.addrWords]);
          assert.equal(y.flags, x.flags);
        }
        assert.equal(cached.stats.lookups, plain.stats.lookups);
      }), { numRuns: 300 });
  });

  it('answers a repeated pair from its entry: the anonymizer is not asked again', () => {
    const an = new AddressAnonymizer({ key: KEY, policy: 'internal' });
    const pairs = new AnonymizedPairs(an);
    const first = record('10.0.0.1', '8.8.8.8', 0);
    pairs.anonymizeRecord(first);
    const misses = an.stats.misses;
    let asked = 0;
    const inner = an.anonymizeRecord.bind(an);
    an.anonymizeRecord = (r: PacketRecord): void => { asked++; inner(r); };
    const again = record('10.0.0.1', '8.8.8.8', 0);
    pairs.anonymizeRecord(again);
    assert.equal(asked, 0);
    assert.deepEqual([...again.addrWords], [...first.addrWords]);
    assert.equal(again.flags, RecordFlag.SrcAnon);
    assert.equal(an.stats.misses, misses);
    // the other order is another pair
    pairs.anonymizeRecord(record('8.8.8.8', '10.0.0.1', 0));
    assert.equal(asked, 1);
    assert.throws(() => new AnonymizedPairs(an, 1000), /power of two/);
  });
});
