// A connection's history string in Zeek's letters (upper case: originator, lower case:
// responder). Most letters are recorded once per direction; the caller decides when a
// repeat is allowed. Strings are only built when a letter is added (rare), never on
// the per-packet "already seen" path.

/** Bits of the once-per-direction letters (the responder's bits are shifted by 16). */
export const enum HistBit {
  Syn = 1 << 0,
  Fin = 1 << 1,
  Rst = 1 << 2,
  FinRst = 1 << 3,
  Data = 1 << 4,
  Ack = 1 << 5,
  MultiFlag = 1 << 6,
}

export class ConnHistory {
  text = '';
  private seen = 0;

  /**
   * Records `upper`/`lower` the first time `bit` is seen for that direction.
   * Returns true if it had been seen before (then nothing is added), as Zeek's CheckHistory.
   */
  check(bit: number, isOrig: boolean, upper: string, lower: string): boolean {
    const mask = isOrig ? bit : bit << 16;
    if ((this.seen & mask) !== 0) return true;
    this.seen |= mask;
    this.text += isOrig ? upper : lower;
    return false;
  }

  /** Whether `bit` was seen for that direction. */
  has(bit: number, isOrig: boolean): boolean {
    return (this.seen & (isOrig ? bit : bit << 16)) !== 0;
  }

  add(letter: string): void {
    this.text += letter;
  }
}

/**
 * Logarithmic history counter (retransmissions, zero windows): the letter is added at the
 * 1st, 10th, 100th, ... event. Returns the new threshold.
 */
export function scaledHistoryEvent(history: ConnHistory, count: number, threshold: number, letter: string): number {
  if (count === threshold) {
    history.add(letter);
    const next = threshold * 10;
    return next > 0x7fffffff ? threshold : next;
  }
  return threshold;
}
