// Reading and writing PEM files with the right permissions: private keys 0600, written
// atomically (temp file + fsync + rename) so a crash never leaves half a key behind.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, chmodSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { KeyFileError } from '../shared/keys/key-file-error.js';

/** File mode for private keys and other secrets. */
export const SECRET_MODE = 0o600;
/** File mode for certificates and public material. */
export const PUBLIC_MODE = 0o644;

/** Atomic write: temp file beside the target, fsync, rename, fsync the directory. */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, mode); // umask may have narrowed or the file pre-existed with other bits
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

/** Makes a rename in `dir` durable. Windows has no directory fsync (EPERM; NTFS journals the rename). */
export function fsyncDir(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try { fsyncSync(fd); } finally { closeSync(fd); }
}

/** Reads a PEM file and checks that it holds a block with one of the given labels. */
export function readPemFile(path: string, labels: readonly string[], what: string): string {
  if (!existsSync(path)) throw new KeyFileError(path, `expected ${what} (file does not exist)`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new KeyFileError(path, `expected a readable ${what}`, e);
  }
  for (const label of labels) {
    if (text.includes(`-----BEGIN ${label}-----`) && text.includes(`-----END ${label}-----`)) return text;
  }
  throw new KeyFileError(path, `expected ${what} in PEM form (-----BEGIN ${labels[0]}-----)`);
}
