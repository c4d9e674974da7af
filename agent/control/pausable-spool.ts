// The spool as the shipper sees it, with a pause switch: "stop shipping" stops uploads while
// the connection (heartbeats, commands - including the one that resumes shipping) stays up.
// Paused, the shipper finds nothing to send; dumps keep accumulating in the spool, bounded by
// its byte limit, and go out in order once shipping resumes (the shipper re-lists every 2 s).
import type { ShipperSpool } from '../transport/shipper.js';
import type { SpoolStatsSource } from '../transport/agent-health.js';

export interface SpoolLike extends ShipperSpool, SpoolStatsSource {}

export class PausableSpool implements ShipperSpool, SpoolStatsSource {
  private isPaused = false;

  constructor(private readonly inner: SpoolLike) {}

  get paused(): boolean {
    return this.isPaused;
  }

  pause(): void {
    this.isPaused = true;
  }

  resume(): void {
    this.isPaused = false;
  }

  list(): number[] | Promise<number[]> {
    return this.isPaused ? [] : this.inner.list();
  }

  read(seq: number): Uint8Array | Promise<Uint8Array> {
    return this.inner.read(seq);
  }

  remove(seq: number): void | Promise<void> {
    return this.inner.remove(seq);
  }

  stats(): { files: number; bytes: number; droppedDumps: number } {
    return this.inner.stats();
  }
}
