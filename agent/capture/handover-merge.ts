// The cut between two capture sessions during a swap (LiveCapture.handOver), as pure logic:
// which session delivers which packet so that every packet the two handles saw comes out once.
//
// A pure time cut (the old session keeps what was stamped before T, the new one the rest) is
// exact only when both handles carry the same stamp for a packet. They do when the kernel
// stamps the packet once before any packet socket sees it (SO_TIMESTAMP, patch revision 4),
// but not when a socket stamps it itself as it delivers (a packet without a stamp, Npcap's
// per-handle stamps): the new handle, earlier in the kernel's list of taps, then stamps it a
// little earlier than the old one, and a packet with new stamp < T <= old stamp was delivered
// by neither (lost) or, the other way round, by both. So around T both sessions hold their
// packets back (copied), and when the old session has delivered its last packet the copies are
// matched by content (wire length and the bytes both captured) within G of each other:
//   old: ts < T-3G delivered   [T-3G, T-G) delivered and noted   [T-G, T+2G) held   later: skipped
//   new: ts < T-2G skipped     [T-2G, T+G) held   [T+G, T+3G) delivered and noted   later: delivered
// (each side notes G beyond the other's held band, so every held copy's partner is listed)
//   a matched pair: nothing when one copy was already delivered, else once (new's copy when its
//     stamp is >= T, else old's)
//   a held copy left unmatched: the time cut (old's if its stamp < T, new's if >= T)
// The noted copies let a held copy find its partner even where the other side delivered it.
// When the two stamps of a packet differ by less than G, every packet both handles saw comes
// out exactly once, in any delivery order (checked with random stamps and orders:
// test/agent/capture/handover-merge.test.ts); a packet only one handle saw (the other's ring
// overflowed: a kernel drop there) comes out when the cut gives it to the handle that saw it.
// Byte-identical repetitions within G pair exactly when both handles carry the kernel's one
// stamp (Linux with SO_TIMESTAMP); where each handle stamps itself, which copy is which cannot
// be known and their count is not guaranteed.

/** A packet held back during a handover: its own copy of the captured bytes. */
export interface HeldPacket {
  linkType: number;
  tsUs: number;
  wireLen: number;
  data: Uint8Array;
  /** the session delivered it already (noted only for the matching) */
  delivered?: boolean;
}

export type HandoverSide = 'old' | 'new';

/**
 * What a session does with a packet during a handover: 'note' is deliver and keep a copy for the
 * matching, 'skip' leaves it to the other session.
 */
export type HandoverAction = 'deliver' | 'note' | 'hold' | 'skip';

export class HandoverMerge {
  readonly cutUs: number;
  readonly guardUs: number;
  /** bytes compared between the two copies: the smaller of the two snap lengths */
  readonly compareBytes: number;
  private readonly held: Record<HandoverSide, HeldPacket[]> = { old: [], new: [] };

  constructor(cutUs: number, guardUs: number, compareBytes: number) {
    if (!(guardUs >= 0)) throw new RangeError(`handover guard must be >= 0 µs, got ${guardUs}`);
    this.cutUs = cutUs;
    this.guardUs = guardUs;
    this.compareBytes = compareBytes;
  }

  /** The session's decision for a packet stamped `tsUs`. */
  action(side: HandoverSide, tsUs: number): HandoverAction {
    const t = this.cutUs;
    const g = this.guardUs;
    if (side === 'old') {
      if (tsUs < t - 3 * g) return 'deliver';
      if (tsUs < t - g) return 'note';
      return tsUs < t + 2 * g ? 'hold' : 'skip';
    }
    if (tsUs >= t + 3 * g) return 'deliver';
    if (tsUs >= t + g) return 'note';
    return tsUs >= t - 2 * g ? 'hold' : 'skip';
  }

  /**
   * Keeps a copy of buf[offset .. offset+capLen) for the merge: a held packet, or (`delivered`)
   * one the session delivered itself and notes for the matching.
   */
  hold(side: HandoverSide, linkType: number, buf: Uint8Array, offset: number, capLen: number, wireLen: number, tsUs: number, delivered = false): void {
    // a copy: the session's batch buffer is reused (and Buffer#slice would only be a view of it)
    const data = new Uint8Array(capLen);
    data.set(buf.subarray(offset, offset + capLen));
    const p: HeldPacket = { linkType, tsUs, wireLen, data };
    if (delivered) p.delivered = true;
    this.held[side].push(p);
  }

  /** copies kept (held and noted) */
  get heldCount(): number {
    return this.held.old.length + this.held.new.length;
  }

  /** The held packets to deliver, each once, in stamp order; empties the merge. */
  resolve(): HeldPacket[] {
    const out = mergeHeld(this.held.old, this.held.new, this.cutUs, this.guardUs, this.compareBytes);
    this.held.old = [];
    this.held.new = [];
    return out;
  }
}

/** Identity of a packet across the two handles: wire length and the bytes both captured. */
function contentKey(p: HeldPacket, compareBytes: number): string {
  const n = Math.min(p.data.length, compareBytes, p.wireLen);
  return `${p.wireLen}:${Buffer.from(p.data.buffer, p.data.byteOffset, n).toString('base64')}`;
}

function groupByKey(ps: readonly HeldPacket[], compareBytes: number): Map<string, HeldPacket[]> {
  const m = new Map<string, HeldPacket[]>();
  for (const p of ps) {
    const k = contentKey(p, compareBytes);
    const list = m.get(k);
    if (list) list.push(p);
    else m.set(k, [p]);
  }
  return m;
}

const byTs = (a: HeldPacket, b: HeldPacket): number => a.tsUs - b.tsUs;

/**
 * Pairs two lists of copies of equal content, each sorted by stamp: the pairing (order kept,
 * stamps within `guardUs`) with the least total stamp difference, an unpaired copy costing
 * half of `guardUs`. A plain greedy pairing of sorted lists shifts by one when one list holds a copy
 * whose partner lies outside the other's window (a repeated datagram at the band's edge), and
 * then pairs every following repetition with the wrong one. Returns pairs of indexes. Lists
 * of equal content are short (repetitions within a few ms); beyond MAX_DP_CELLS the greedy
 * pairing is used.
 */
function pairCopies(a: readonly HeldPacket[], b: readonly HeldPacket[], guardUs: number): [number, number][] {
  const n = a.length;
  const m = b.length;
  const pairs: [number, number][] = [];
  if (n === 1 && m === 1) {
    if (Math.abs(a[0]!.tsUs - b[0]!.tsUs) <= guardUs) pairs.push([0, 0]);
    return pairs;
  }
  if ((n + 1) * (m + 1) > MAX_DP_CELLS) {
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      const d = a[i]!.tsUs - b[j]!.tsUs;
      if (Math.abs(d) <= guardUs) pairs.push([i++, j++]);
      else if (d < 0) i++;
      else j++;
    }
    return pairs;
  }
  // cost[i][j]: least cost of pairing a[i..] with b[j..]; leaving a copy unpaired costs half the
  // guard, so two copies within it pair, and a chain shifted by one (every copy paired with the
  // next repetition) costs more than leaving the two copies at its ends unpaired
  const skip = guardUs / 2;
  const w = m + 1;
  const cost = new Float64Array((n + 1) * w);
  for (let i = n; i >= 0; i--) {
    for (let j = m; j >= 0; j--) {
      if (i === n && j === m) continue;
      let best = Number.POSITIVE_INFINITY;
      if (i < n) best = Math.min(best, skip + cost[(i + 1) * w + j]!);
      if (j < m) best = Math.min(best, skip + cost[i * w + j + 1]!);
      if (i < n && j < m) {
        const d = Math.abs(a[i]!.tsUs - b[j]!.tsUs);
        if (d <= guardUs) best = Math.min(best, d + cost[(i + 1) * w + j + 1]!);
      }
      cost[i * w + j] = best;
    }
  }
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    const d = Math.abs(a[i]!.tsUs - b[j]!.tsUs);
    if (d <= guardUs && cost[i * w + j] === d + cost[(i + 1) * w + j + 1]!) pairs.push([i++, j++]);
    else if (cost[i * w + j] === skip + cost[(i + 1) * w + j]!) i++;
    else j++;
  }
  return pairs;
}

/** the pairing's table, cells: beyond it the greedy pairing */
const MAX_DP_CELLS = 1 << 20;

/**
 * The merge itself (exported for tests): `old` and `next` are what each session held or noted.
 * Copies with the same content are paired (pairCopies); a pair gives one packet unless a
 * session delivered it already, an unpaired held copy is cut by time at `cutUs`.
 */
export function mergeHeld(old: readonly HeldPacket[], next: readonly HeldPacket[], cutUs: number, guardUs: number, compareBytes: number): HeldPacket[] {
  const out: HeldPacket[] = [];
  const nextByKey = groupByKey(next, compareBytes);
  const cut = (p: HeldPacket, side: HandoverSide): void => {
    if (!p.delivered && (side === 'old' ? p.tsUs < cutUs : p.tsUs >= cutUs)) out.push(p);
  };
  for (const [key, olds] of groupByKey(old, compareBytes)) {
    const news = nextByKey.get(key) ?? [];
    nextByKey.delete(key);
    olds.sort(byTs);
    news.sort(byTs);
    const pairedOld = new Set<number>();
    const pairedNew = new Set<number>();
    for (const [i, j] of pairCopies(olds, news, guardUs)) {
      const o = olds[i]!;
      const n = news[j]!;
      pairedOld.add(i);
      pairedNew.add(j);
      if (!o.delivered && !n.delivered) out.push(n.tsUs >= cutUs ? n : o);
    }
    olds.forEach((o, i) => { if (!pairedOld.has(i)) cut(o, 'old'); });
    news.forEach((n, j) => { if (!pairedNew.has(j)) cut(n, 'new'); });
  }
  for (const news of nextByKey.values()) for (const n of news) cut(n, 'new');
  return out.sort(byTs);
}
