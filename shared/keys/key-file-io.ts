// Key files on disk, for every kind (owner keys, operator keys): reading one with its checks
// (a regular file, not absurdly large, permissions as ssh wants them) and writing a new one
// atomically without ever overwriting an existing key unless asked to.
// Permissions: a secret key file that group or others can access in any way is REFUSED (as
// ssh does), not merely warned about; a public key file writable by group/others is refused
// too (a swapped public key redirects what is sealed or trusted). POSIX only: on Windows mode
// bits mean nothing and the installer restricts the folder's ACL.
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { KeyFileError } from './key-file-error.js';
import { decodeKeyFile, type KeyFileKind } from './key-file-format.js';

/** Larger than any key file we write; stops a wrong path (a log, a disk image) being slurped. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

function checkMode(file: string, kind: KeyFileKind): void {
  if (process.platform === 'win32') return;
  const mode = statSync(file).mode & 0o777;
  const shown = mode.toString(8).padStart(4, '0');
  if (kind.secret && (mode & 0o077) !== 0) {
    throw new KeyFileError(file, `holds a secret ${kind.description} but is accessible to group/others (mode ${shown}); refusing to use it (fix: chmod 600 ${file})`);
  }
  if (!kind.secret && (mode & 0o022) !== 0) {
    throw new KeyFileError(file, `${kind.description} is writable by group/others (mode ${shown}); refusing to trust it (fix: chmod 644 ${file})`);
  }
}

/** Reads and decodes a key file of `kind`, with its text (for extra fields). @throws KeyFileError */
export function readKeyFile(file: string, kind: KeyFileKind): { fields: Record<string, Uint8Array>; text: string } {
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new KeyFileError(file, code === 'ENOENT' ? `missing (expected a Meerkat ${kind.description})` : `cannot be read (${code ?? String(e)})`);
  }
  if (!st.isFile()) throw new KeyFileError(file, `is not a regular file (expected a Meerkat ${kind.description})`);
  if (st.size > MAX_KEY_FILE_BYTES) throw new KeyFileError(file, `is not a Meerkat ${kind.description} (${st.size} bytes, far too large)`);
  checkMode(file, kind);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new KeyFileError(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return { fields: decodeKeyFile(file, text, kind), text };
}

function backupName(path: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  let name = `${path}.replaced-${stamp}`;
  for (let i = 1; existsSync(name); i++) name = `${path}.replaced-${stamp}-${i}`;
  return name;
}

/**
 * Writes a key file: a temporary file with `mode`, fsynced, then moved into place. Without
 * `force` an existing file is never overwritten (EEXIST -> KeyFileError); with `force` the old
 * file is renamed to FILE.replaced-TIME, never deleted (data or agents may still need it).
 * @returns the backup's path when a file was replaced, else null
 */
export function writeKeyFile(path: string, text: string, mode: number, force: boolean): string | null {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, mode); // the umask may have removed bits we want (0644 for a public key)
  let replaced: string | null = null;
  try {
    if (force) {
      if (existsSync(path)) {
        replaced = backupName(path);
        renameSync(path, replaced);
      }
      renameSync(tmp, path);
    } else {
      linkSync(tmp, path); // fails if the file exists or appeared meanwhile
      unlinkSync(tmp);
    }
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new KeyFileError(path, 'already exists; refusing to overwrite it (use --force to replace it)');
    throw e;
  }
  return replaced;
}
