// Packet timestamps for live capture. The `cap` binding hands over packets without libpcap's
// timestamp, so the agent stamps each packet when its callback runs: a monotonic clock
// (performance.now(), CLOCK_MONOTONIC - a double, no per-packet BigInt allocation as
// process.hrtime.bigint() would make) anchored to the wall clock. The anchor is taken on a
// Date.now() millisecond edge (good to ~10 µs, not ±1 ms) and re-taken when the
// two clocks disagree by more than `resyncUs` (clock steps, suspend/resume: the monotonic
// clock stops while a laptop sleeps). What this stamp means for precision: docs/capture.md.

export interface ClockSources {
  /** wall clock, ms since the epoch (integer resolution) */
  wallMs: () => number;
  /** monotonic clock, ms with a fractional part */
  monoMs: () => number;
}

/** widest edge bracket trusted for anchoring (ms): 20 µs */
const EDGE_WINDOW_MS = 0.02;

const DEFAULT_SOURCES: ClockSources = { wallMs: () => Date.now(), monoMs: () => performance.now() };

export class CaptureClock {
  private readonly src: ClockSources;
  private readonly resyncUs: number;
  /** wall-clock µs minus monotonic µs at the last anchor */
  private offsetUs = 0;
  /** corrections applied so far (count) and the last one (µs) */
  resyncs = 0;
  lastCorrectionUs = 0;

  constructor(sources: ClockSources = DEFAULT_SOURCES, resyncUs = 20_000) {
    this.src = sources;
    this.resyncUs = resyncUs;
    this.anchor();
  }

  /** Now, in µs since the epoch (integer). Per packet: no allocation. */
  nowUs(): number {
    return Math.floor(this.offsetUs + this.src.monoMs() * 1000);
  }

  /**
   * Compares with the wall clock and re-anchors when they drifted apart by more than the
   * threshold; returns the correction applied in µs (0 if none). Call every second or so.
   */
  check(): number {
    const drift = this.src.wallMs() * 1000 - this.nowUs();
    // Date.now() truncates to the ms, so up to 1000 µs of apparent drift is resolution
    if (drift > -this.resyncUs && drift < this.resyncUs + 1000) return 0;
    const before = this.offsetUs;
    this.anchor();
    this.resyncs++;
    this.lastCorrectionUs = Math.round(this.offsetUs - before);
    return this.lastCorrectionUs;
  }

  /**
   * Anchors on a Date.now() millisecond edge. The edge lies between the last read that still
   * returned the old millisecond and the first that returned the new one; that window is
   * bracketed with monotonic reads and the edge is only trusted when the window is under
   * EDGE_WINDOW_MS wide (a preempted read - common on a busy 2-core VM - would otherwise put
   * the anchor off by hundreds of µs). Busy-waits about 1 ms per attempt.
   */
  private anchor(): void {
    const { wallMs, monoMs } = this.src;
    let best = Number.NaN;
    monoMs(); // the first performance.now() call is slow (lazy set-up): keep it out of the brackets
    for (let attempt = 0; attempt < 8; attempt++) {
      const start = wallMs();
      // the monotonic time just before a read that still returned `start`; NaN until one is seen
      let lastOld = Number.NaN;
      const giveUp = monoMs() + 3;
      for (;;) {
        const a = monoMs();
        const w = wallMs();
        const b = monoMs();
        if (w === start) {
          lastOld = a;
          if (b > giveUp) break;
          continue;
        }
        if (Number.isNaN(lastOld)) break; // the edge came before any bracketed read: retry
        const offset = w * 1000 - ((lastOld + b) / 2) * 1000;
        if (b - lastOld < EDGE_WINDOW_MS) {
          this.offsetUs = offset;
          return;
        }
        if (Number.isNaN(best)) best = offset;
        break;
      }
    }
    // no clean edge seen (clock not ticking in ms? heavy load): best effort
    this.offsetUs = Number.isNaN(best) ? wallMs() * 1000 - monoMs() * 1000 : best;
  }
}
