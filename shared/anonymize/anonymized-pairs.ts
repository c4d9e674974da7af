// The pseudonyms of IPv4 records by their real (source, destination) pair, remembered for a
// stream in which many pairs interleave (an imported capture: thousands of conversations): a
// record whose pair is in its entry gets the two pseudonym words and flag bits the anonymizer
// gave that pair before, without the anonymizer's per-address memo, policy test and cache
// lookup (270 instructions per packet of an import, docs/benchmarks.md "Instruction profiles").
// Exact: an address's pseudonym depends only on the anonymizer's key and policy, fixed for its
// life, and on whether the record came already marked. The anonymizer's lookup count grows as
// without it. Holds real addresses in process memory only, as the anonymizer's own memo does;
// nothing here is written out.
import { RecordFlag, type PacketRecord } from '../packet/packet-record.js';
import type { AddressAnonymizer } from './address-anonymizer.js';

const ANON_BITS = RecordFlag.SrcAnon | RecordFlag.DstAnon;
/** words per entry: real source, real destination, anonymization bits the record came with + 1 (0: empty) */
const KEY_WORDS = 3;
/** words per entry: pseudonym source, pseudonym destination, flag bits added, lookups counted */
const VALUE_WORDS = 4;

export class AnonymizedPairs {
  private readonly keys: Int32Array;
  private readonly values: Int32Array;
  private readonly shift: number;

  /** `entries`: a power of two (default 4096: ~112 kB) */
  constructor(private readonly anonymizer: AddressAnonymizer, entries = 4096) {
    if (!Number.isInteger(Math.log2(entries)) || entries < 2) throw new RangeError(`entries must be a power of two, got ${entries}`);
    this.keys = new Int32Array(entries * KEY_WORDS);
    this.values = new Int32Array(entries * VALUE_WORDS);
    this.shift = 32 - Math.log2(entries);
  }

  /** The same as anonymizer.anonymizeRecord(rec). */
  anonymizeRecord(rec: PacketRecord): void {
    if (rec.ipVersion !== 4) {
      this.anonymizer.anonymizeRecord(rec);
      return;
    }
    const w = rec.addrWords;
    const src = w[0]!;
    const dst = w[4]!;
    const before = rec.flags & ANON_BITS;
    const e = Math.imul(src ^ Math.imul(dst, 0x9e3779b1), 0x85ebca6b) >>> this.shift;
    const k = e * KEY_WORDS;
    const v = e * VALUE_WORDS;
    const keys = this.keys;
    const values = this.values;
    const stats = this.anonymizer.stats;
    if (keys[k] === src && keys[k + 1] === dst && keys[k + 2] === before + 1) {
      w[0] = values[v]!;
      w[4] = values[v + 1]!;
      rec.flags |= values[v + 2]!;
      stats.lookups += values[v + 3]!;
      return;
    }
    const lookups = stats.lookups;
    this.anonymizer.anonymizeRecord(rec);
    keys[k] = src;
    keys[k + 1] = dst;
    keys[k + 2] = before + 1;
    values[v] = w[0]!;
    values[v + 1] = w[4]!;
    values[v + 2] = rec.flags & ANON_BITS & ~before;
    values[v + 3] = stats.lookups - lookups;
  }
}
