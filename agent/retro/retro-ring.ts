// The retro ring: the last minutes of this host's packets with their payload, on the agent's own
// disk, so that an alert can still get the packets from BEFORE it (capture.retro). Every packet
// the pipeline keeps is added here as well: its frame as captured (the capture's snap length
// follows the ring's `snapLen`). Frames collect in a frame log (a chunk, frame-log.ts); a full
// chunk is compressed, sealed and appended to the current segment file (ring-segment.ts). The
// frames hold real addresses and whole payloads: they never leave the host as they are - a pull
// decodes, anonymizes and cuts them exactly as the pipeline does (retro-pull.ts). Segments rotate by
// time and size; the oldest leave the ring once they are past the time window, or sooner while
// the ring is above its byte bound: the file is unlinked and its key - which never left memory -
// is zeroed (crypto-shredding: no copy of the bytes, on any flash page, can be read again).
// Nothing here is shipped: only a pull (retro-pull.ts), on a signed command, reads the ring.
// A restart loses the ring by design: its keys died with the process; the files left are deleted.
import { chmodSync, closeSync, mkdirSync, openSync, readdirSync, readSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../shared/log.js';
import { FrameLogWriter } from './frame-log.js';
import {
  CHUNK_HEADER_LEN, CHUNK_TAG_LEN, SEGMENT_HEADER_LEN, SEGMENT_KEY_LEN, openChunk, readChunkInfo, sealChunk, segmentHeader, type ChunkInfo,
} from './ring-segment.js';

export const RING_FILE_SUFFIX = '.mkr';

export interface RetroRingOptions {
  dir: string;
  /** packet time kept at least, seconds (default 300) */
  seconds: number;
  /** bytes on disk at most (default 256 MiB) */
  maxBytes: number;
  /** payload bytes kept per packet */
  snapLen: number;
  /** frame bytes per chunk before it is sealed (default 256 KiB): bounds the memory of the open chunk */
  chunkBytes?: number;
  /** packets per chunk at most (default 4096) */
  chunkPackets?: number;
  /** brotli quality of the chunks (default 0: payload is mostly compressed or encrypted already; measured in docs/pcap.md) */
  level?: number;
  log?: Logger;
}

interface Segment {
  name: string;
  path: string;
  fd: number;
  header: Uint8Array;
  key: Uint8Array;
  chunks: ChunkInfo[];
  bytes: number;
  startUs: number;
  firstTsUs: number;
  lastTsUs: number;
  dropped: boolean;
}

/** What a pull may read: a segment as it was when the pull started. */
export interface SegmentView {
  readonly name: string;
  readonly chunks: readonly ChunkInfo[];
}

export interface RetroRingStats {
  enabled: true;
  snapLen: number;
  windowSeconds: number;
  maxBytes: number;
  /** bytes on disk now, segments and chunks */
  bytes: number;
  segments: number;
  chunks: number;
  /** packet time covered now (newest - oldest kept), seconds */
  seconds: number;
  oldestUs: number | null;
  newestUs: number | null;
  packetsAdded: number;
  /** bytes and chunks ever written; segments that left the ring */
  bytesWritten: number;
  chunksWritten: number;
  segmentsShredded: number;
  writeErrors: number;
  pulls: number;
  packetsPulled: number;
}

const CHUNK_MAX_AGE_US = 1_000_000;

export class RetroRing {
  readonly snapLen: number;
  private readonly o: Required<Omit<RetroRingOptions, 'log' | 'level'>> & Pick<RetroRingOptions, 'log' | 'level'>;
  private readonly writer: FrameLogWriter;
  private readonly segments: Segment[] = [];
  private readonly segmentUs: number;
  private readonly segmentMaxBytes: number;
  private packetsAdded = 0;
  private total = 0;
  private counter = 0;
  private closed = false;
  private s = { bytesWritten: 0, chunksWritten: 0, segmentsShredded: 0, writeErrors: 0, pulls: 0, packetsPulled: 0 };

  private constructor(o: RetroRingOptions) {
    this.o = { chunkBytes: 256 * 1024, chunkPackets: 4096, ...o };
    if (!(o.seconds > 0) || !(o.maxBytes >= 1 << 20)) throw new RangeError('retro ring: seconds must be > 0 and maxBytes at least 1 MiB');
    this.snapLen = o.snapLen;
    this.writer = new FrameLogWriter(this.o.chunkPackets, this.o.chunkBytes, CHUNK_MAX_AGE_US, o.level ?? 0);
    // ten segments per window: the ring keeps between 100 % and 110 % of the window
    this.segmentUs = Math.max(1_000_000, Math.floor((o.seconds * 1e6) / 10));
    this.segmentMaxBytes = Math.max(2 * this.o.chunkBytes, Math.floor(o.maxBytes / 16));
  }

  /** Opens the ring directory (0700); files left by an earlier process cannot be read any more and are deleted. */
  static open(o: RetroRingOptions): RetroRing {
    mkdirSync(o.dir, { recursive: true, mode: 0o700 });
    chmodSync(o.dir, 0o700);
    let leftovers = 0;
    for (const f of readdirSync(o.dir)) {
      if (!f.endsWith(RING_FILE_SUFFIX)) continue;
      rmSync(join(o.dir, f), { force: true });
      leftovers++;
    }
    if (leftovers > 0) o.log?.info({ files: leftovers }, 'retro ring: segments of an earlier run deleted (their keys are gone)');
    return new RetroRing(o);
  }

  /** One kept packet: its frame as captured, its time, wire length and direction. Hot path: a copy. */
  add(linkType: number, frame: Uint8Array, off: number, len: number, tsUs: number, wireLen: number, direction: number): void {
    if (this.writer.add(linkType, frame, off, len, tsUs, wireLen, direction)) this.sealChunk();
  }

  /** Time passes (µs, the packets' clock): seals a chunk older than a second, drops segments past the window. */
  tick(nowUs: number): void {
    if (nowUs - this.writer.firstTsUs >= CHUNK_MAX_AGE_US) this.sealChunk(); // false when empty (NaN)
    this.evict(nowUs);
  }

  /** Seals the open chunk now (a pull wants the newest packets too). */
  flush(): void {
    if (this.writer.count > 0) this.sealChunk();
  }

  private sealChunk(): void {
    const n = this.writer.count;
    const { min: first, max: last } = this.writer.span();
    const dump = this.writer.finish();
    this.packetsAdded += n;
    if (this.closed) return;
    try {
      const seg = this.segmentFor(first);
      const sealed = sealChunk(seg.key, seg.header, seg.chunks.length, dump, n, first, last);
      // room first: the directory never holds more than maxBytes, not even between two calls
      while (this.total + sealed.length > this.o.maxBytes && this.segments.length > 1 && this.segments[0] !== seg) this.shred(this.segments.shift()!);
      writeSync(seg.fd, sealed);
      seg.chunks.push({ index: seg.chunks.length, offset: seg.bytes, length: dump.length, packets: n, firstTsUs: first, lastTsUs: last });
      seg.bytes += sealed.length;
      if (first < seg.firstTsUs) seg.firstTsUs = first;
      if (last > seg.lastTsUs) seg.lastTsUs = last;
      this.total += sealed.length;
      this.s.bytesWritten += sealed.length;
      this.s.chunksWritten++;
    } catch (e) {
      // a full or failing disk costs the ring these packets, never the capture
      this.s.writeErrors++;
      if (this.s.writeErrors === 1 || this.s.writeErrors % 1000 === 0) this.o.log?.warn({ err: (e as Error).message, errors: this.s.writeErrors }, 'retro ring: cannot write a chunk');
    }
    this.evict(last);
  }

  private segmentFor(tsUs: number): Segment {
    const cur = this.segments[this.segments.length - 1];
    if (cur && tsUs - cur.startUs < this.segmentUs && cur.bytes < this.segmentMaxBytes) return cur;
    const name = `${String(Math.max(0, Math.trunc(tsUs))).padStart(17, '0')}-${this.counter++}${RING_FILE_SUFFIX}`;
    const path = join(this.o.dir, name);
    const header = segmentHeader(tsUs);
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, header);
    } catch (e) {
      closeSync(fd);
      rmSync(path, { force: true });
      throw e;
    }
    const seg: Segment = { name, path, fd, header, key: randomBytes(SEGMENT_KEY_LEN), chunks: [], bytes: SEGMENT_HEADER_LEN, startUs: tsUs, firstTsUs: Infinity, lastTsUs: -Infinity, dropped: false };
    this.segments.push(seg);
    this.total += SEGMENT_HEADER_LEN;
    return seg;
  }

  /** Drops segments past the window (never the one being written) and, above maxBytes, the oldest (a new segment's header). */
  private evict(nowUs: number): void {
    const windowUs = this.o.seconds * 1e6;
    while (this.segments.length > 0) {
      const s = this.segments[0]!;
      const current = this.segments.length === 1;
      const old = !current && s.lastTsUs < nowUs - windowUs;
      const big = this.total > this.o.maxBytes && !current;
      if (!old && !big) break;
      this.segments.shift();
      this.shred(s);
    }
  }

  private shred(s: Segment): void {
    s.dropped = true;
    s.key.fill(0);
    try { closeSync(s.fd); } catch { /* already closed */ }
    try { unlinkSync(s.path); } catch { /* gone */ }
    this.total -= s.bytes;
    this.s.segmentsShredded++;
  }

  /** The segments (as they are now) that may hold packets of [sinceUs, untilUs]. */
  segmentsFor(sinceUs: number, untilUs: number): SegmentView[] {
    return this.segments
      .filter((s) => s.chunks.length > 0 && s.lastTsUs >= sinceUs && s.firstTsUs <= untilUs)
      .map((s) => ({ name: s.name, chunks: s.chunks.slice() }));
  }

  /** The body of one chunk (a frame log, frame-log.ts), or null when its segment has left the ring meanwhile. */
  readChunk(view: SegmentView, c: ChunkInfo): Uint8Array | null {
    const s = this.segments.find((x) => x.name === view.name);
    if (!s || s.dropped) return null;
    const buf = new Uint8Array(CHUNK_HEADER_LEN + c.length + CHUNK_TAG_LEN);
    const fd = openSync(s.path, 'r');
    try {
      if (readSync(fd, buf, 0, buf.length, c.offset) !== buf.length) return null;
    } finally {
      closeSync(fd);
    }
    // the clear header must be the one we wrote (a changed file is not read on trust)
    const info = readChunkInfo(buf, c.index, c.offset);
    if (info.length !== c.length || info.packets !== c.packets) return null;
    return openChunk(s.key, s.header, c.index, buf, s.name);
  }

  notePull(packets: number): void {
    this.s.pulls++;
    this.s.packetsPulled += packets;
  }

  stats(): RetroRingStats {
    const segs = this.segments.filter((s) => s.chunks.length > 0);
    const oldest = segs.length ? Math.min(...segs.map((s) => s.firstTsUs)) : null;
    const newest = segs.length ? Math.max(...segs.map((s) => s.lastTsUs)) : null;
    return {
      enabled: true, snapLen: this.snapLen, windowSeconds: this.o.seconds, maxBytes: this.o.maxBytes,
      bytes: this.total, segments: this.segments.length, chunks: this.segments.reduce((a, s) => a + s.chunks.length, 0),
      seconds: oldest !== null && newest !== null ? Math.round((newest - oldest) / 1e5) / 10 : 0,
      oldestUs: oldest, newestUs: newest, packetsAdded: this.packetsAdded + this.writer.count, ...this.s,
    };
  }

  /** Stops the ring: every key destroyed, every file deleted. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.writer.reset();
    for (const s of this.segments.splice(0)) this.shred(s);
  }
}
