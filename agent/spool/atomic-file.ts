// Durable file writes for the spool: write a temp file (O_EXCL, owner-only mode),
// fsync it, rename it over the target, fsync the directory.
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Prefix of temp files; anything with it left in the spool dir is debris from a crash. */
export const TEMP_PREFIX = '.tmp-';

export function writeFileAtomic(path: string, tempPath: string, data: Uint8Array, mode = 0o600): void {
  const fd = openSync(tempPath, 'wx', mode);
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try { unlinkSync(tempPath); } catch { /* already gone */ }
    throw e;
  }
  closeSync(fd);
  renameSync(tempPath, path);
  fsyncDir(dirname(path));
}

/** Make a rename/unlink in `dir` durable (not possible on Windows, where rename is already journaled). */
export function fsyncDir(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
