// Decides when the pending dump is complete (packet count reached, or its time
// span reached) and hands the finished bytes on. Pure logic: the clock comes in
// through the packets' timestamps and tick(nowUs); no timers, no I/O.
import type { PacketRecord } from '../packet/packet-record.js';
import { readDumpHeader, type DumpHeader } from './dump-header.js';
import type { DumpWriter } from './dump-writer.js';

export interface DumpRotatorOptions {
  /** rotate when the dump holds this many packets (default policy 20,000) */
  maxPackets: number;
  /** rotate when a dump spans this many seconds (default policy 120) */
  maxSeconds: number;
  writer: DumpWriter;
  /** receives every finished dump; the bytes are the caller's to keep */
  onDump: (bytes: Uint8Array, header: DumpHeader) => void;
  /** sequence number for the next dump (the spool owns and persists them) */
  nextSequence: () => number;
}

export class DumpRotator {
  private maxPackets = 0;
  /**
   * add() runs rotateIfFull() when the dump reaches this count: 1 for a rotator's first packet,
   * then maxPackets (never above it). The first packet so runs that call once and records type
   * feedback for it; without, the first rotation (packet 20,000 of a replay) met a call V8 had
   * compiled add() and its callers without, and deoptimized them (docs/benchmarks.md).
   */
  private due = 1;
  private maxSpanUs = 0;
  private readonly writer: DumpWriter;
  private readonly onDump: (bytes: Uint8Array, header: DumpHeader) => void;
  private readonly nextSequence: () => number;

  constructor(opts: DumpRotatorOptions) {
    this.writer = opts.writer;
    this.onDump = opts.onDump;
    this.nextSequence = opts.nextSequence;
    this.setLimitsOnly(opts.maxPackets, opts.maxSeconds);
  }

  /** Packets in the dump being built. */
  get pending(): number {
    return this.writer.count;
  }

  /** Time of the oldest packet in the dump being built (0 when it is empty). */
  get pendingSinceUs(): number {
    return this.writer.count > 0 ? this.writer.firstTsUs : 0;
  }

  add(rec: PacketRecord): void {
    const w = this.writer;
    // a packet that falls outside the open dump's time window starts the next dump
    if (w.count > 0 && rec.tsUs - w.firstTsUs >= this.maxSpanUs) this.emit();
    w.add(rec);
    if (w.count >= this.due) this.rotateIfFull();
  }

  private rotateIfFull(): void {
    this.due = this.maxPackets;
    if (this.writer.count >= this.maxPackets) this.emit();
  }

  /** Time-based rotation while no packets arrive; nowUs is in the packets' clock (µs since the epoch). */
  tick(nowUs: number): void {
    const w = this.writer;
    if (w.count > 0 && nowUs - w.firstTsUs >= this.maxSpanUs) this.emit();
  }

  /** Emit whatever is pending (shutdown, "ship now"); no-op when empty. */
  flush(): void {
    if (this.writer.count > 0) this.emit();
  }

  /** New limits, in force at once: a dump already at or past the new count is emitted now. */
  setLimits(maxPackets: number, maxSeconds: number): void {
    this.setLimitsOnly(maxPackets, maxSeconds);
    if (this.writer.count >= this.maxPackets) this.emit();
  }

  private setLimitsOnly(maxPackets: number, maxSeconds: number): void {
    if (!Number.isInteger(maxPackets) || maxPackets < 1 || maxPackets > 0xffffffff) {
      throw new RangeError(`maxPackets must be an integer >= 1, got ${maxPackets}`);
    }
    if (!(maxSeconds > 0) || !Number.isFinite(maxSeconds)) throw new RangeError(`maxSeconds must be a positive number, got ${maxSeconds}`);
    this.maxPackets = maxPackets;
    if (this.due > maxPackets) this.due = maxPackets;
    this.maxSpanUs = maxSeconds * 1e6;
  }

  private emit(): void {
    const bytes = this.writer.finish(this.nextSequence());
    this.onDump(bytes, readDumpHeader(bytes));
  }
}
