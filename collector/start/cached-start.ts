// Starts meerkat-collector's classic-script bundle (meerkat-collector.cjs beside this file's
// bundle, scripts/bundle-collector.mjs) through a V8 code cache: node 20 compiles ES modules
// from source at every start (no compile cache before node 22), and for a short command such as
// an import that compiling is a large share of the start-up. Bundled on its own as
// meerkat-collector-start.cjs; the package launcher starts it for the one-shot sub-commands.
//
// The first run of a sub-command (or one whose cache does not fit: another bundle, another
// node, a damaged file; collector/start/code-cache.ts) compiles from source and, at exit, writes
// what V8 compiled while it ran; later runs deserialize that instead of parsing and compiling.
// MEERKAT_CODE_CACHE=off, or a cache directory this user cannot write, starts the ES module
// bundle as before; MEERKAT_CODE_CACHE_DEBUG=1 says on stderr what happened to the cache.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Script } from 'node:vm';
import {
  cacheDir, cacheDirWritable, cacheFile, cacheKey, currentRuntime, decodeCache, encodeCache, readCacheFile, WRAP_HEAD, WRAP_TAIL, writeCacheFile,
} from './code-cache.js';

/** The ES module bundle beside this file, as the launcher started it before the code cache. */
function startModules(here: string): void {
  import(pathToFileURL(join(here, 'meerkat-collector.js')).href).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}

function start(): void {
  const here = dirname(process.argv[1]!);
  const bundle = join(here, 'meerkat-collector.cjs');
  const debug = process.env.MEERKAT_CODE_CACHE_DEBUG === '1' ? (m: string) => process.stderr.write(`code cache: ${m}\n`) : undefined;
  const dir = cacheDir();
  // no cache to use or make: the classic script compiled from source costs more than the ES
  // modules (it holds every sub-command), so those
  if (dir === undefined) {
    debug?.('off: the ES module bundle');
    startModules(here);
    return;
  }
  const file = cacheFile(dir, process.argv[2], bundle);
  const bytes = readFileSync(bundle);
  // esbuild writes ASCII (its default charset): a one-byte string
  const source = WRAP_HEAD + bytes.toString('utf8') + WRAP_TAIL;
  const key = cacheKey(bytes, currentRuntime());
  let cachedData: Buffer | undefined;
  const stored = readCacheFile(file);
  if (stored === undefined) debug?.(`none at ${file}`);
  else {
    const v = decodeCache(stored, key);
    if (v.ok) cachedData = v.data;
    else debug?.(`${file} ignored: ${v.reason}`);
  }
  if (cachedData === undefined && !cacheDirWritable(dir)) {
    debug?.(`cannot write ${dir}: the ES module bundle`);
    startModules(here);
    return;
  }
  const script = new Script(source, { filename: bundle, cachedData });
  const used = cachedData !== undefined && !script.cachedDataRejected;
  if (cachedData !== undefined) debug?.(used ? `used ${file}` : `${file} rejected by V8`);
  if (!used) {
    // at exit: the cache then holds what this run compiled, not only the top level. Not after
    // help, a version or a failure: such a run compiled little of the command, and a cache, once
    // written, stays until the bundle or node changes
    const helpOnly = process.argv.slice(2).some((a) => a === '--help' || a === '-h' || a === '--version' || a === '-V');
    process.once('exit', (code) => {
      if (helpOnly || code !== 0) {
        debug?.(`not written (${helpOnly ? 'help or version' : `exit code ${code}`})`);
        return;
      }
      const ok = writeCacheFile(file, encodeCache(key, script.createCachedData()));
      debug?.(ok ? `wrote ${file}` : `could not write ${file}`);
    });
  }
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  const module = { exports: {}, filename: bundle, id: bundle };
  run.call(module.exports, module.exports, createRequire(bundle), module, bundle, dirname(bundle), pathToFileURL(bundle).href);
}

start();
