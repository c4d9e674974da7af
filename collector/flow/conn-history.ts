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
  /** the letters recorded so far, as HistBit bits (the responder's shifted by 16) */
  seen = 0;

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

  add(letter: string): void {
    this.text += letter;
  }

  /** Appends `letters` ('' adds nothing). */
  append(letters: string): void {
    if (letters.length !== 0) this.text = this.text + letters;
  }
}
