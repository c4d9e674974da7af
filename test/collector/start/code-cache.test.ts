// The code cache's file format and files (collector/start/code-cache.ts): a cache is used only
// when its key (the bundle's text, node, V8, architecture, flags) and its checksum fit; where the
// files live; a file someone else could have written is not read; writes are whole or nothing.
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Script } from 'node:vm';
import fc from 'fast-check';
import {
  cacheDir, cacheDirWritable, cacheFile, cacheKey, currentRuntime, decodeCache, encodeCache, readCacheFile, writeCacheFile, type CacheRuntime,
} from '../../../collector/start/code-cache.js';

const runtime: CacheRuntime = { node: 'v20.20.2', v8: '11.3.244.8-node.33', arch: 'x64', flags: [] };

describe('code cache: file format and files', () => {
  let dir = '';
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'mk-codecache-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the key changes with the source, node, V8, the architecture and the flags', () => {
    const k = cacheKey('source', runtime).toString('hex');
    assert.equal(cacheKey('source', { ...runtime }).toString('hex'), k, 'deterministic');
    for (const other of [
      cacheKey('sourcf', runtime), cacheKey('source', { ...runtime, node: 'v20.20.3' }), cacheKey('source', { ...runtime, v8: '11.3.244.9' }),
      cacheKey('source', { ...runtime, arch: 'arm64' }), cacheKey('source', { ...runtime, flags: ['--max-old-space-size=100'] }),
    ]) assert.notEqual(other.toString('hex'), k);
    assert.equal(currentRuntime().node, process.version);
    assert.equal(cacheKey(Buffer.from('source'), runtime).toString('hex'), k, 'bytes or text: the same key');
  });

  it('V8 alone takes a cache made for another text of the same length, and runs the old code: the key refuses it', () => {
    const before = '(function () { return "AAAA"; })';
    const after = '(function () { return "BBBB"; })';
    const a = new Script(before);
    (a.runInThisContext() as () => string)();
    const data = a.createCachedData();
    const b = new Script(after, { cachedData: data });
    assert.equal(b.cachedDataRejected, false, 'V8 checks the length, not the text');
    assert.equal((b.runInThisContext() as () => string)(), 'AAAA', 'the stale bytecode runs');
    const file = encodeCache(cacheKey(before, currentRuntime()), data);
    assert.deepEqual(decodeCache(file, cacheKey(after, currentRuntime())), { ok: false, reason: 'key' });
  });

  it('V8 alone takes damaged data (no checksum in a release build): the checksum refuses it', () => {
    let source = '(function () {';
    for (let i = 0; i < 200; i++) source += `function f${i}(x) { return x + ${i}; }`;
    source += 'return f199(1); })';
    const a = new Script(source);
    (a.runInThisContext() as () => number)();
    const data = Buffer.from(a.createCachedData());
    const key = cacheKey(source, currentRuntime());
    let takenByV8 = 0;
    // bytes past V8's header (its magic, version and flag hashes, lengths: 64 bytes is more than it)
    for (let at = 64; at < data.length; at += Math.max(1, data.length >> 4)) {
      const bad = Buffer.from(data);
      bad[at] = bad[at]! ^ 0x10;
      if (!new Script(source, { cachedData: bad }).cachedDataRejected) takenByV8++;
      const file = encodeCache(key, data);
      file[file.length - data.length + at] ^= 0x10;
      assert.deepEqual(decodeCache(file, key), { ok: false, reason: 'checksum' }, `byte ${at}`);
    }
    assert.ok(takenByV8 > 0, 'V8 took at least one damaged cache');
  });

  it('decodes what it encoded; refuses another key, a changed byte anywhere, a short or foreign file', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(), (data, at) => {
      const key = cacheKey('a', runtime);
      const file = encodeCache(key, data);
      const v = decodeCache(file, key);
      assert.ok(v.ok && Buffer.compare(v.data, Buffer.from(data)) === 0);
      assert.deepEqual(decodeCache(file, cacheKey('b', runtime)), { ok: false, reason: 'key' });
      const bad = Buffer.from(file);
      const i = at % bad.length;
      bad[i] = bad[i]! ^ 0x01;
      const r = decodeCache(bad, key);
      assert.equal(r.ok, false, `byte ${i} changed`);
      assert.equal(decodeCache(file.subarray(0, Math.min(at % 73, file.length - 1)), key).ok, false, 'cut short');
    }));
    const key = cacheKey('a', runtime);
    assert.deepEqual(decodeCache(Buffer.alloc(0), key), { ok: false, reason: 'short' });
    assert.deepEqual(decodeCache(Buffer.alloc(200, 7), key), { ok: false, reason: 'magic' });
    const flipped = encodeCache(key, Buffer.from('v8 data'));
    flipped[flipped.length - 1] ^= 0xff;
    assert.deepEqual(decodeCache(flipped, key), { ok: false, reason: 'checksum' });
  });

  it('lives in MEERKAT_CODE_CACHE_DIR, else $XDG_CACHE_HOME/meerkat-collector, else ~/.cache/meerkat-collector; none when off', () => {
    assert.equal(cacheDir({ MEERKAT_CODE_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x', HOME: '/h' }), '/c');
    assert.equal(cacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' }), join('/x', 'meerkat-collector'));
    assert.equal(cacheDir({ HOME: '/h' }), join('/h', '.cache', 'meerkat-collector'));
    assert.equal(cacheDir({ MEERKAT_CODE_CACHE: 'off', MEERKAT_CODE_CACHE_DIR: '/c' }), undefined);
    const f = cacheFile('/c', 'import', '/usr/lib/meerkat-collector/app/collector-bundle/meerkat-collector.cjs');
    assert.match(f, /^\/c\/import-[0-9a-f]{16}\.v8cache$/);
    assert.equal(cacheFile('/c', 'import', '/usr/lib/meerkat-collector/app/collector-bundle/meerkat-collector.cjs'), f, 'the same bundle: the same file');
    assert.notEqual(cacheFile('/c', 'import', '/opt/meerkat/dist/collector-bundle/meerkat-collector.cjs'), f, 'another installation');
    assert.notEqual(cacheFile('/c', 'token', '/usr/lib/meerkat-collector/app/collector-bundle/meerkat-collector.cjs'), f, 'another sub-command');
    for (const odd of [undefined, '--version', '../x', 'IMPORT', 'a']) assert.match(cacheFile('/c', odd, '/b'), /^\/c\/other-[0-9a-f]{16}\.v8cache$/, String(odd));
  });

  it('writes whole files only this user can read and write, in a directory it creates 0700', () => {
    const file = join(dir, 'sub', 'import.v8cache');
    assert.equal(writeCacheFile(file, Buffer.from('one')), true);
    assert.equal(writeCacheFile(file, Buffer.from('two')), true);
    assert.equal(readFileSync(file, 'utf8'), 'two');
    assert.equal(statSync(join(dir, 'sub')).mode & 0o777, 0o700);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['import.v8cache'], 'no temporary file left');
    assert.equal(readCacheFile(file)?.toString(), 'two');
    assert.equal(cacheDirWritable(join(dir, 'made', 'here')), true);
    assert.equal(statSync(join(dir, 'made', 'here')).mode & 0o777, 0o700);
    // a directory that cannot be made: no file, no exception
    writeFileSync(join(dir, 'plain'), '');
    assert.equal(cacheDirWritable(join(dir, 'plain', 'sub')), false);
    assert.equal(writeCacheFile(join(dir, 'plain', 'x.v8cache'), Buffer.from('x')), false);
  });

  it('never writes through a file or link at its temporary name; no cache in a directory others may write or own', () => {
    const file = join(dir, 'import.v8cache');
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'untouched', { mode: 0o600 });
    symlinkSync(victim, `${file}.${process.pid}.tmp`);
    assert.equal(writeCacheFile(file, Buffer.from('cache')), false);
    assert.equal(readFileSync(victim, 'utf8'), 'untouched', 'the link was not followed');
    assert.equal(readCacheFile(file), undefined, 'and no cache file was made');
    rmSync(`${file}.${process.pid}.tmp`);
    assert.equal(writeCacheFile(file, Buffer.from('cache')), true);
    const shared = join(dir, 'shared');
    writeCacheFile(join(shared, 'x.v8cache'), Buffer.from('x'));
    chmodSync(shared, 0o777);
    assert.equal(cacheDirWritable(shared), false, 'world-writable directory');
    assert.equal(writeCacheFile(join(shared, 'y.v8cache'), Buffer.from('y')), false);
    chmodSync(shared, 0o700);
    assert.equal(cacheDirWritable(shared), true);
    if (process.getuid?.() === 0) {
      chownSync(shared, 65534, 65534);
      assert.equal(cacheDirWritable(shared), false, "another user's directory");
      assert.equal(writeCacheFile(join(shared, 'z.v8cache'), Buffer.from('z')), false);
    }
  });

  it('does not read a file others may write, a link, or a missing file', () => {
    const file = join(dir, 'import.v8cache');
    writeFileSync(file, 'data', { mode: 0o600 });
    assert.equal(readCacheFile(file)?.toString(), 'data');
    chmodSync(file, 0o666);
    assert.equal(readCacheFile(file), undefined, 'world-writable');
    chmodSync(file, 0o620);
    assert.equal(readCacheFile(file), undefined, 'group-writable');
    chmodSync(file, 0o600);
    symlinkSync(file, join(dir, 'link.v8cache'));
    assert.equal(readCacheFile(join(dir, 'link.v8cache')), undefined, 'a symbolic link');
    assert.equal(readCacheFile(join(dir, 'none.v8cache')), undefined);
    // another user's file (root can make one; others cannot chown)
    if (process.getuid?.() === 0) {
      chownSync(file, 65534, 65534);
      assert.equal(readCacheFile(file), undefined, "another user's file");
    }
  });
});
