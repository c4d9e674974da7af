// The agent's on-disk spool: dumps wait here, encrypted at rest, until the
// shipper has them acknowledged. Owns the dump sequence numbers (persisted
// before use so they never repeat), bounds itself in bytes by dropping the
// oldest dumps (counted, persisted, reported), and quarantines files that fail
// authentication. One agent process owns the directory.
// The index is synchronous; the disk work of put, nextSequence, remove and the drop
// counters goes through one ordered write queue off the event loop (write-queue.ts), so a
// capture callback never waits for fsync. Order keeps the guarantees: a sequence's state is
// on disk before its dump file, and read() hands a dump out only once its file is durable.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, openSync, readSync, closeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { logger } from '../../shared/log.js';
import { TEMP_PREFIX, fsyncDir, writeFileAtomic } from './atomic-file.js';
import { WriteQueue, unlinkIfPresent, writeFileAtomicAsync } from './write-queue.js';
import { SpoolCorruptError, SpoolError } from './spool-errors.js';
import { SPOOL_HEADER_LEN, SPOOL_KEY_LEN, SPOOL_OVERHEAD, openSpoolFile, readSpoolFileHeader, sealSpoolFile } from './spool-file-crypto.js';
import { freshState, loadState, saveState, saveStateAsync, type SpoolState } from './spool-state.js';

export interface SpoolOptions {
  /** state dir of the service account (created 0700) */
  dir: string;
  /** bound on the bytes of spooled dump files */
  maxBytes: number;
}

export interface SpoolStats {
  /** dumps waiting in the spool */
  files: number;
  /** their size on disk */
  bytes: number;
  /** dumps dropped to keep within maxBytes (since the spool was created) */
  droppedDumps: number;
  droppedPackets: number;
  droppedBytes: number;
  /** files that failed authentication or parsing and were quarantined */
  corrupt: number;
}

export const KEY_FILE = 'spool.key';
export const QUARANTINE_DIR = 'quarantine';
/** quarantined files kept for inspection; older ones are deleted */
const QUARANTINE_KEEP = 8;
const FILE_RE = /^(\d{16})\.mkds$/;

interface Entry {
  size: number;
  packets: number;
  /** settles when the file is on disk (null: it is) */
  writing: Promise<void> | null;
}

const log = logger('spool');

export function spoolFileName(sequence: number): string {
  return `${String(sequence).padStart(16, '0')}.mkds`;
}

export class Spool {
  private readonly entries = new Map<number, Entry>();
  private bytes = 0;
  private readonly queue = new WriteQueue((err, what) => log.error({ err: (err as Error).message ?? String(err), what }, 'spool write failed'));

  private constructor(
    private readonly dir: string,
    private maxBytes: number,
    private readonly key: Uint8Array,
    private readonly state: SpoolState,
  ) {}

  static open(opts: SpoolOptions): Spool {
    if (!Number.isSafeInteger(opts.maxBytes) || opts.maxBytes <= 0) throw new SpoolError(`spool maxBytes must be a positive integer, got ${opts.maxBytes}`);
    const dir = opts.dir;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700); // an existing dir may have looser permissions
    const hadKey = existsSync(join(dir, KEY_FILE));
    const key = loadOrCreateKey(dir);

    // clean crash debris, index the dump files
    const found = new Map<number, Entry>();
    const bad: string[] = [];
    for (const name of readdirSync(dir)) {
      if (name.startsWith(TEMP_PREFIX)) {
        unlinkSync(join(dir, name));
        continue;
      }
      const m = FILE_RE.exec(name);
      if (!m) continue;
      const seq = Number(m[1]);
      try {
        const head = readHead(join(dir, name));
        const h = readSpoolFileHeader(head.bytes, name);
        if (h.sequence !== seq) throw new SpoolCorruptError(`spool file ${name}: holds sequence ${h.sequence}`);
        if (head.size !== SPOOL_OVERHEAD + h.length) throw new SpoolCorruptError(`spool file ${name}: size ${head.size} does not match its header`);
        found.set(seq, { size: head.size, packets: h.packetCount, writing: null });
      } catch (e) {
        if (!(e instanceof SpoolCorruptError)) throw e;
        log.warn({ file: name, err: e.message }, 'spool file is corrupt');
        bad.push(name);
      }
    }

    let state = loadState(dir);
    const maxSeq = Math.max(0, ...found.keys());
    if (state === undefined) {
      if (hadKey || found.size > 0) {
        // state lost but the spool existed: sequences already shipped are unknown, so start
        // past both the files and the clock (µs), which earlier sequences cannot have reached
        state = freshState(Math.max(maxSeq + 1, Date.now() * 1000));
        log.warn({ nextSequence: state.nextSequence }, 'spool state missing or unreadable; sequence recovered');
      } else {
        state = freshState(1);
      }
    }
    if (state.nextSequence <= maxSeq) state.nextSequence = maxSeq + 1;

    const spool = new Spool(dir, opts.maxBytes, key, state);
    for (const [seq, e] of [...found].sort((a, b) => a[0] - b[0])) {
      spool.entries.set(seq, e);
      spool.bytes += e.size;
    }
    for (const name of bad) spool.quarantine(name);
    saveState(dir, spool.state);
    spool.enforceBound(0);
    return spool;
  }

  /** A new sequence number, persisted before it is returned. */
  nextSequence(): number {
    const seq = this.state.nextSequence;
    if (seq >= Number.MAX_SAFE_INTEGER) throw new SpoolError('dump sequence numbers exhausted');
    this.state.nextSequence = seq + 1;
    this.persistState();
    return seq;
  }

  /** Resolves once every queued disk write has run (stop, tests). */
  flushed(): Promise<void> {
    return this.queue.idle();
  }

  /** Queues a write of the state as it is now. */
  private persistState(): void {
    const snapshot = { ...this.state };
    void this.queue.enqueue('state', () => saveStateAsync(this.dir, snapshot));
  }

  /** Store a dump (encrypted, atomically). Drops the oldest dumps if needed to stay within maxBytes. */
  put(sequence: number, dump: Uint8Array, packetCount: number): void {
    if (!Number.isSafeInteger(sequence) || sequence < 0 || sequence >= this.state.nextSequence) {
      throw new SpoolError(`sequence ${sequence} was not issued by this spool's nextSequence()`);
    }
    if (this.entries.has(sequence)) throw new SpoolError(`sequence ${sequence} is already in the spool`);
    if (!Number.isInteger(packetCount) || packetCount < 0 || packetCount > 0xffffffff) throw new SpoolError(`packetCount must be a u32, got ${packetCount}`);
    if (dump.length > 0xffffffff) throw new SpoolError(`dump of ${dump.length} bytes exceeds the 4 GiB spool file limit`);
    const size = SPOOL_OVERHEAD + dump.length;
    if (size > this.maxBytes) {
      // would not fit even in an empty spool: keep what is queued and drop this one
      this.countDrop(1, packetCount, size);
      this.persistState();
      log.warn({ sequence, size, maxBytes: this.maxBytes }, 'dump larger than the spool bound: dropped');
      return;
    }
    this.enforceBound(size);
    const name = spoolFileName(sequence);
    const sealed = sealSpoolFile(this.key, sequence, packetCount, dump);
    const entry: Entry = { size, packets: packetCount, writing: null };
    entry.writing = this.queue.enqueue(`dump ${sequence}`, async () => {
      // removed (dropped for the bound) before its turn: nothing to write
      if (this.entries.get(sequence) !== entry) return;
      await writeFileAtomicAsync(join(this.dir, name), join(this.dir, `${TEMP_PREFIX}${name}`), sealed);
      entry.writing = null;
      // removed while it was being written: the file goes too
      if (this.entries.get(sequence) !== entry) await unlinkIfPresent(join(this.dir, name));
    }, () => {
      // not stored (disk full, ...): the dump is lost, and counted as a drop
      if (this.entries.get(sequence) === entry) this.forget(sequence);
      this.countDrop(1, packetCount, size);
      this.persistState();
    });
    this.entries.set(sequence, entry);
    this.bytes += size;
  }

  /** Sequences waiting, ascending. */
  list(): number[] {
    return [...this.entries.keys()].sort((a, b) => a - b);
  }

  /**
   * The decrypted dump: at once when its file is on disk, else once it is (a dump is never
   * handed out before it is durable). A file that fails authentication is quarantined,
   * counted, and reported as SpoolCorruptError.
   */
  read(sequence: number): Uint8Array | Promise<Uint8Array> {
    const e = this.entries.get(sequence);
    if (e === undefined) throw new SpoolError(`no dump with sequence ${sequence} in the spool`);
    if (e.writing !== null) return e.writing.then(() => this.read(sequence));
    const name = spoolFileName(sequence);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(join(this.dir, name));
    } catch (err) {
      this.forget(sequence);
      throw new SpoolError(`spool file ${name} cannot be read: ${(err as Error).message}`);
    }
    try {
      return openSpoolFile(this.key, bytes, name, sequence).dump;
    } catch (err) {
      if (!(err instanceof SpoolCorruptError)) throw err;
      log.error({ file: name, err: err.message }, 'spool file failed authentication; quarantined');
      this.forget(sequence);
      this.quarantine(name);
      this.persistState();
      throw new SpoolCorruptError(`${err.message}; moved to ${QUARANTINE_DIR}/`);
    }
  }

  /**
   * Delete a dump (after the collector acknowledged it, or to keep the bound). No-op when
   * absent. It leaves the index at once; the file is deleted in queue order.
   */
  remove(sequence: number): void {
    const e = this.entries.get(sequence);
    if (e === undefined) return;
    this.forget(sequence);
    // a dump still waiting for its write is skipped by it (or deleted right after it)
    if (e.writing === null) void this.queue.enqueue(`remove ${sequence}`, () => unlinkIfPresent(join(this.dir, spoolFileName(sequence))));
  }

  stats(): SpoolStats {
    return {
      files: this.entries.size,
      bytes: this.bytes,
      droppedDumps: this.state.droppedDumps,
      droppedPackets: this.state.droppedPackets,
      droppedBytes: this.state.droppedBytes,
      corrupt: this.state.corrupt,
    };
  }

  /** New byte bound (run-time change); drops the oldest dumps at once if now over it. */
  setMaxBytes(maxBytes: number): void {
    if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new SpoolError(`spool maxBytes must be a positive integer, got ${maxBytes}`);
    this.maxBytes = maxBytes;
    this.enforceBound(0);
  }

  /** Drop oldest dumps until `incoming` more bytes fit. Counters are persisted before files go. */
  private enforceBound(incoming: number): void {
    if (this.bytes + incoming <= this.maxBytes) return;
    const victims: number[] = [];
    let bytes = this.bytes;
    for (const seq of this.list()) {
      if (bytes + incoming <= this.maxBytes) break;
      const e = this.entries.get(seq)!;
      victims.push(seq);
      bytes -= e.size;
      this.countDrop(1, e.packets, e.size);
    }
    if (victims.length === 0) return;
    this.persistState();
    for (const seq of victims) this.remove(seq);
    log.warn({ dropped: victims.length, first: victims[0], last: victims[victims.length - 1] }, 'spool full: oldest dumps dropped');
  }

  private countDrop(dumps: number, packets: number, bytes: number): void {
    this.state.droppedDumps += dumps;
    this.state.droppedPackets += packets;
    this.state.droppedBytes += bytes;
  }

  private forget(sequence: number): void {
    const e = this.entries.get(sequence);
    if (e === undefined) return;
    this.entries.delete(sequence);
    this.bytes -= e.size;
  }

  /** Move a bad file aside for inspection (keeping only the newest few) and count it. */
  private quarantine(name: string): void {
    this.state.corrupt++;
    const qdir = join(this.dir, QUARANTINE_DIR);
    mkdirSync(qdir, { recursive: true, mode: 0o700 });
    try {
      renameSync(join(this.dir, name), join(qdir, `${Date.now()}-${name}`));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const kept = readdirSync(qdir).sort();
    for (const old of kept.slice(0, Math.max(0, kept.length - QUARANTINE_KEEP))) unlinkSync(join(qdir, old));
    fsyncDir(this.dir);
  }
}

function loadOrCreateKey(dir: string): Uint8Array {
  const path = join(dir, KEY_FILE);
  if (existsSync(path)) {
    chmodSync(path, 0o600);
    const key = readFileSync(path);
    if (key.length !== SPOOL_KEY_LEN) {
      // never replace it: that would make every spooled dump unreadable
      throw new SpoolError(`spool key ${path} has ${key.length} bytes, expected ${SPOOL_KEY_LEN}`);
    }
    return new Uint8Array(key);
  }
  const key = randomBytes(SPOOL_KEY_LEN);
  writeFileAtomic(path, join(dir, `${TEMP_PREFIX}key`), key, 0o600);
  return new Uint8Array(key);
}

/** First bytes of a spool file and its size, without reading the whole file. */
function readHead(path: string): { bytes: Uint8Array; size: number } {
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(SPOOL_HEADER_LEN, size));
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return { bytes: buf.subarray(0, off), size };
  } finally {
    closeSync(fd);
  }
}
