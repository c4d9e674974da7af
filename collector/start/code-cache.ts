// The V8 code cache of meerkat-collector's classic-script bundle (collector/start/cached-start.ts
// starts it): what a cache file is, whether one fits the bundle and the node running it, where
// the files live, and reading and writing them. A cache file is checked before V8 sees it and
// ignored (then rewritten) when it does not fit: V8 itself compares only the source's length,
// its version and its flags, and does not checksum the data in a release build, so a stale
// bundle of the same length or a damaged file would otherwise be deserialized as is.
//
// File: MAGIC (8 bytes) | key (32 bytes, sha256) | sha256 of the data (32 bytes) | data.
// key = sha256 of the wrapped bundle, node's and V8's versions, the architecture and the node
// flags of the process: a new bundle or another node gets another key.
import { createHash } from 'node:crypto';
import { accessSync, closeSync, fstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const MAGIC = Buffer.from('MKV8CC1\n', 'latin1');
const HEADER = MAGIC.length + 32 + 32;
const sha256 = (...parts: Array<string | Uint8Array>): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** What a cache must have been made by: the runtime and its flags. */
export interface CacheRuntime {
  node: string;
  v8: string;
  arch: string;
  flags: readonly string[];
}

export function currentRuntime(): CacheRuntime {
  return { node: process.version, v8: process.versions.v8, arch: process.arch, flags: [...process.execArgv, process.env.NODE_OPTIONS ?? ''] };
}

/**
 * What the bundle's text is compiled inside: CommonJS's parameters, and import.meta.url
 * (scripts/bundle-collector.mjs defines it as this name).
 */
export const WRAP_HEAD = '(function (exports, require, module, __filename, __dirname, __meerkatImportMetaUrl) {';
export const WRAP_TAIL = '\n})';

/**
 * The key a cache of the bundle `bundle` (its bytes, or text) made by `runtime` carries: of the
 * exact text compiled (the file's bytes hash faster than the string made of them).
 */
export function cacheKey(bundle: Uint8Array | string, runtime: CacheRuntime): Buffer {
  return sha256(WRAP_HEAD, bundle, WRAP_TAIL, '\0', runtime.node, '\0', runtime.v8, '\0', runtime.arch, '\0', JSON.stringify(runtime.flags));
}

/** A cache file's bytes: header and V8's data. */
export function encodeCache(key: Buffer, data: Uint8Array): Buffer {
  return Buffer.concat([MAGIC, key, sha256(data), data]);
}

export type CacheVerdict = { ok: true; data: Buffer } | { ok: false; reason: 'short' | 'magic' | 'key' | 'checksum' };

/** V8's data from a cache file when it is whole and made for `key`; otherwise why not. */
export function decodeCache(file: Buffer, key: Buffer): CacheVerdict {
  if (file.length <= HEADER) return { ok: false, reason: 'short' };
  if (!file.subarray(0, MAGIC.length).equals(MAGIC)) return { ok: false, reason: 'magic' };
  if (!file.subarray(MAGIC.length, MAGIC.length + 32).equals(key)) return { ok: false, reason: 'key' };
  const data = file.subarray(HEADER);
  if (!sha256(data).equals(file.subarray(MAGIC.length + 32, HEADER))) return { ok: false, reason: 'checksum' };
  return { ok: true, data };
}

/**
 * The directory of the cache files: $MEERKAT_CODE_CACHE_DIR, else $XDG_CACHE_HOME/meerkat-collector,
 * else ~/.cache/meerkat-collector; undefined (no cache) when MEERKAT_CODE_CACHE is "off" or
 * there is no home.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.MEERKAT_CODE_CACHE === 'off') return undefined;
  if (env.MEERKAT_CODE_CACHE_DIR) return env.MEERKAT_CODE_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'meerkat-collector');
  let home = env.HOME;
  if (!home) {
    try { home = homedir(); } catch { return undefined; }
  }
  return home ? join(home, '.cache', 'meerkat-collector') : undefined;
}

/**
 * The file of one sub-command's cache (each warms the functions it runs; anything that does not
 * look like a sub-command's name, an option or nothing, shares one) for the bundle at
 * `bundlePath`: an upgrade, which replaces the bundle where it is, rewrites the same file, and
 * two installations (or checkouts) side by side do not overwrite each other's.
 */
export function cacheFile(dir: string, subCommand: string | undefined, bundlePath: string): string {
  const name = subCommand !== undefined && /^[a-z]{2,16}$/.test(subCommand) ? subCommand : 'other';
  return join(dir, `${name}-${sha256(bundlePath).toString('hex').slice(0, 16)}.v8cache`);
}

/**
 * A cache file's bytes, or undefined when there is none or it is not this user's own: owned by
 * another user, or writable by group or others, it could hold code someone else put there.
 */
export function readCacheFile(file: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    const uid = process.getuid?.();
    if (!st.isFile() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) return undefined;
    return readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether `dir` is a directory of this user's own that nobody else may write in: a cache kept
 * where another user can rename, replace or plant files (root run with another user's HOME) is
 * not kept at all.
 */
function ownDirectory(dir: string): boolean {
  const st = statSync(dir);
  const uid = process.getuid?.();
  return st.isDirectory() && (uid === undefined || st.uid === uid) && (st.mode & 0o022) === 0;
}

/** Whether `dir` exists (made 0700 when it did not), is this user's own and writable by it. */
export function cacheDirWritable(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    accessSync(dir, constants.W_OK);
    return ownDirectory(dir);
  } catch {
    return false;
  }
}

/**
 * Writes a cache file whole or not at all (a temporary file renamed over it: a reader never
 * sees half a file), in a directory only this user may write. Failures are ignored: the
 * cache is an optimization and the program runs the same without it.
 */
export function writeCacheFile(file: string, bytes: Uint8Array): boolean {
  const dir = join(file, '..');
  const tmp = `${file}.${process.pid}.tmp`;
  let made = false;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!ownDirectory(dir)) return false;
    // 'wx' (O_CREAT | O_EXCL): a file or link already at the temporary name is never written
    // through, it makes this write fail
    writeFileSync(tmp, bytes, { mode: 0o600, flag: 'wx' });
    made = true;
    renameSync(tmp, file);
    return true;
  } catch {
    if (made) try { rmSync(tmp, { force: true }); } catch { /* gone with its directory */ }
    return false;
  }
}
