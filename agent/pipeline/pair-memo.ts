// The common frame's outcome per address pair, remembered from one packet to the next.
// Consecutive packets mostly carry the same (source, destination) pair in the same order
// (one side of one conversation: 88 % of the bench capture's packets repeat the previous
// packet's pair), and for an Ethernet/IPv4/TCP packet the noise verdict, the direction and the
// two pseudonyms depend on nothing else (the L2 flags, the host and broadcast sets, the
// anonymizer's key and policy: the owner clears the memo when a set changes). The pipeline
// takes them from here instead of working them out again. Holds real addresses in process
// memory only, as the anonymizer's own memo does; nothing here is ever written out.
import type { DecodedPacket } from '../../shared/decode/decoded-packet.js';

/** memo slots: raw source word, raw destination word, L2 flags (-1: empty), direction, pseudonym words, flag bits, lookups */
const enum Slot { RawSrc = 0, RawDst = 1, L2 = 2, Dir = 3, AnonSrc = 4, AnonDst = 5, Flags = 6, Lookups = 7 }

export class PairMemo {
  private readonly m = new Int32Array(8);

  constructor() {
    this.clear();
  }

  /** Forgets the pair (the host or broadcast set changed). */
  clear(): void {
    this.m[Slot.L2] = -1;
  }

  /**
   * Whether d (an IPv4 packet as the decoder left it: addresses still real) has the pair and
   * L2 flags of the remembered one; then d gets its direction, pseudonyms and anonymization
   * flags (the caller adds `lookups` to the anonymizer's count).
   */
  apply(d: DecodedPacket): boolean {
    const m = this.m;
    const a = d.addrWords;
    if (m[Slot.L2] !== d.l2Flags || m[Slot.RawSrc] !== a[0] || m[Slot.RawDst] !== a[4]) return false;
    d.direction = m[Slot.Dir]!;
    a[0] = m[Slot.AnonSrc]!;
    a[4] = m[Slot.AnonDst]!;
    d.flags |= m[Slot.Flags]!;
    return true;
  }

  /** Address lookups the anonymizer counted for the remembered pair (its stats stay as without the memo). */
  get lookups(): number {
    return this.m[Slot.Lookups]!;
  }

  /**
   * Remembers d's outcome (kept, not sampled noise, direction set, anonymized) for the real
   * words rawSrc/rawDst it had before anonymization.
   */
  store(d: DecodedPacket, rawSrc: number, rawDst: number, flagBits: number, lookups: number): void {
    const m = this.m;
    m[Slot.RawSrc] = rawSrc;
    m[Slot.RawDst] = rawDst;
    m[Slot.L2] = d.l2Flags;
    m[Slot.Dir] = d.direction;
    m[Slot.AnonSrc] = d.addrWords[0]!;
    m[Slot.AnonDst] = d.addrWords[4]!;
    m[Slot.Flags] = flagBits;
    m[Slot.Lookups] = lookups;
  }
}
