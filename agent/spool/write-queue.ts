// The spool's disk writes, in order, off the event loop: each job runs when the one before it
// has finished, and the file system calls (write, fsync, rename, unlink) go to libuv's thread
// pool through node's callback API. The capture callback that hands a finished dump to the
// spool therefore never waits for a disk sync (four fsyncs per dump took 10-40 ms on a busy
// disk, long enough for the capture ring to overflow: docs/agent-memory.md).
import { close, fsync, open, rename, unlink, write } from 'node:fs';
import { dirname } from 'node:path';

type Done = (err: NodeJS.ErrnoException | null) => void;

function call<T>(fn: (cb: (err: NodeJS.ErrnoException | null, v: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

function callVoid(fn: (cb: Done) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
}

async function writeAll(fd: number, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await call<number>((cb) => write(fd, data, off, data.length - off, null, cb));
}

async function fsyncDirAsync(dir: string): Promise<void> {
  if (process.platform === 'win32') return; // rename is already journaled there
  const fd = await call<number>((cb) => open(dir, 'r', cb));
  try {
    await callVoid((cb) => fsync(fd, cb));
  } finally {
    await callVoid((cb) => close(fd, cb));
  }
}

/**
 * writeFileAtomic (atomic-file.ts) without blocking: a temp file (O_EXCL, owner-only), fsynced,
 * renamed over the target, the directory fsynced. A failure removes the temp file.
 */
export async function writeFileAtomicAsync(path: string, tempPath: string, data: Uint8Array, mode = 0o600): Promise<void> {
  const fd = await call<number>((cb) => open(tempPath, 'wx', mode, cb));
  try {
    await writeAll(fd, data);
    await callVoid((cb) => fsync(fd, cb));
  } catch (e) {
    await callVoid((cb) => close(fd, cb)).catch(() => undefined);
    await callVoid((cb) => unlink(tempPath, cb)).catch(() => undefined);
    throw e;
  }
  await callVoid((cb) => close(fd, cb));
  await callVoid((cb) => rename(tempPath, path, cb));
  await fsyncDirAsync(dirname(path));
}

/** Deletes a file; a file already gone is not an error. */
export async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await callVoid((cb) => unlink(path, cb));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

export class WriteQueue {
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;

  constructor(private readonly onError: (err: unknown, what: string) => void) {}

  /** Jobs waiting or running. */
  get size(): number {
    return this.queued;
  }

  /**
   * Runs `job` after every job queued before it. Resolves when it has run, also when it
   * failed (the failure goes to onError, and to the caller only through `failed`).
   */
  enqueue(what: string, job: () => Promise<void>, failed?: (err: unknown) => void): Promise<void> {
    this.queued++;
    const run = this.tail.then(job).then(
      () => { this.queued--; },
      (err: unknown) => {
        this.queued--;
        this.onError(err, what);
        failed?.(err);
      },
    );
    this.tail = run;
    return run;
  }

  /** Resolves once every job queued so far has run. */
  idle(): Promise<void> {
    return this.tail;
  }
}
