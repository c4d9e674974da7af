// The owner's side of an export: pseudonyms in packet records turned back into the real
// addresses with anon.key (Crypto-PAn is a permutation; an IPv4-mapped IPv6 address through its
// IPv4 part, as the agent made it). Only sides flagged SrcAnon / DstAnon are touched: a clear
// address is not a pseudonym. Runs where the owner key is (the console), never on the collector.
// Results are cached per address, so a long export pays the cipher once per host.
import { CryptoPan } from '../anonymize/cryptopan.js';
import { rewriteAddress } from '../anonymize/pseudonym-text.js';
import { RecordFlag, type PacketRecord } from '../packet/packet-record.js';

const MAX_CACHE = 65_536;

export class RecordDeanonymizer {
  private readonly pan: CryptoPan;
  private readonly cache = new Map<string, Uint8Array>();
  /** addresses turned back so far */
  count = 0;

  constructor(anonKey: Uint8Array) {
    this.pan = new CryptoPan(anonKey);
  }

  /** Rewrites the record's pseudonymous addresses in place and clears their flags. */
  apply(r: PacketRecord): void {
    const v = r.ipVersion;
    if (v !== 4 && v !== 6) return;
    if (r.flags & RecordFlag.SrcAnon) {
      this.real(v, r.src);
      r.flags &= ~RecordFlag.SrcAnon;
    }
    if (r.flags & RecordFlag.DstAnon) {
      this.real(v, r.dst);
      r.flags &= ~RecordFlag.DstAnon;
    }
  }

  private real(version: 4 | 6, b: Uint8Array): void {
    this.count++;
    const key = Buffer.from(b.buffer, b.byteOffset, 16).toString('hex') + version;
    const hit = this.cache.get(key);
    if (hit) {
      b.set(hit);
      return;
    }
    rewriteAddress(this.pan, version, b, true);
    if (this.cache.size >= MAX_CACHE) this.cache.clear();
    this.cache.set(key, b.slice(0, 16));
  }
}
