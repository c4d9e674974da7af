// meerkat-collector started through its V8 code cache (collector/start/cached-start.ts, bundled
// as dist/collector-bundle/meerkat-collector-start.cjs beside the classic-script bundle), as the
// package launcher starts the one-shot sub-commands: the first import writes the cache, the next
// uses it, and a cache that does not fit (another bundle or node: another key; a damaged file;
// data V8 refuses) is ignored and written again - the import's rows the same every time, and the
// same as the ES module bundle's.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initOwnerKeys, ANON_KEY_FILE } from '../../../shared/keys/owner-keys.js';
import { repoRoot, referencePcapsDir } from '../../../shared/util/repo-paths.js';
import { cacheFile, cacheKey, currentRuntime, decodeCache, encodeCache } from '../../../collector/start/code-cache.js';
import { importedRows } from '../../helpers/flow-db-rows.js';
import { skipBecause } from '../../helpers/skip.js';

const bundleDir = join(repoRoot(), 'dist', 'collector-bundle');
const start = join(bundleDir, 'meerkat-collector-start.cjs');
const launcher = join(bundleDir, 'meerkat-collector');

describe('cached start: meerkat-collector through its V8 code cache', function () {
  this.timeout(120_000);
  let dir = '';
  let key = '';
  let cache = '';
  before(function () {
    if (!existsSync(start)) skipBecause(this, 'the bundle is built by `npm run build` (npm test builds first); a source-only run before any build has none');
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mk-cstart-'));
    initOwnerKeys(join(dir, 'owner'));
    key = join(dir, 'owner', ANON_KEY_FILE);
    cache = join(dir, 'cache');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const captures = ['ndpi/netflix.pcap', 'zeek/ssh_ssh.pcap'].map((f) => join(referencePcapsDir(), f));
  /** An import through the launcher; what it said about the cache (stderr lines) and its rows. */
  const importWith = (db: string, env: Record<string, string> = {}): { said: string[]; rows: Record<string, unknown[]> } => {
    const r = spawnSync(launcher, ['import', '--db', join(dir, db), '--anon-key', key, '--no-progress', '--json', ...captures], {
      encoding: 'utf8',
      env: { ...process.env, MEERKAT_NODE: process.execPath, MEERKAT_CODE_CACHE_DIR: cache, MEERKAT_CODE_CACHE_DEBUG: '1', ...env },
    });
    assert.equal(r.status, 0, r.stderr);
    return { said: r.stderr.split('\n').filter((l) => l.startsWith('code cache: ')), rows: importedRows(join(dir, db)) };
  };
  const file = (): string => cacheFile(cache, 'import', join(bundleDir, 'meerkat-collector.cjs'));

  it('the first import writes the cache, the next uses it; the rows are those of the ES module bundle', () => {
    const first = importWith('a.db');
    assert.deepEqual(first.said, [`code cache: none at ${file()}`, `code cache: wrote ${file()}`]);
    assert.ok(statSync(file()).size > 100_000, 'compiled functions, not only the top level');
    const second = importWith('b.db');
    assert.deepEqual(second.said, [`code cache: used ${file()}`]);
    assert.ok(first.rows.flows!.length > 0 && first.rows.dns_log!.length > 0 && first.rows.tls_log!.length > 0);
    assert.deepEqual(second.rows, first.rows);
    // the ES module bundle, started directly
    const r = spawnSync(process.execPath, [join(bundleDir, 'meerkat-collector.js'), 'import', '--db', join(dir, 'c.db'), '--anon-key', key, '--no-progress', ...captures], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(importedRows(join(dir, 'c.db')), first.rows);
  });

  it('a cache made for another bundle or node, a damaged one and one V8 refuses are ignored and written again', () => {
    const base = importWith('a.db');
    const good = readFileSync(file());
    const source = readFileSync(join(bundleDir, 'meerkat-collector.cjs'));
    // the runtime the launcher starts import with: its node flag (installer/linux/collector/meerkat-collector)
    const importRuntime = { ...currentRuntime(), flags: ['--no-concurrent-recompilation', process.env.NODE_OPTIONS ?? ''] };
    const rightKey = cacheKey(source, importRuntime);
    const v = decodeCache(good, rightKey);
    assert.ok(v.ok, 'the written cache is for this bundle and node');
    const damaged = Buffer.from(good);
    damaged[damaged.length >> 1] ^= 0x40;
    const cases: Array<[string, Buffer, string]> = [
      ['another bundle', encodeCache(cacheKey(Buffer.concat([source, Buffer.from(' ')]), importRuntime), v.data), 'ignored: key'],
      ['another node', encodeCache(cacheKey(source, { ...importRuntime, node: 'v20.0.0' }), v.data), 'ignored: key'],
      ['a damaged byte', damaged, 'ignored: checksum'],
      ['cut short', good.subarray(0, good.length - 1000), 'ignored: checksum'],
      ['not a cache', Buffer.from('hello'), 'ignored: short'],
      // the right key and checksum over data that is not V8's: V8 refuses it
      ['data V8 refuses', encodeCache(rightKey, Buffer.alloc(4096, 0x5a)), 'rejected by V8'],
    ];
    for (const [what, bytes, verdict] of cases) {
      writeFileSync(file(), bytes, { mode: 0o600 });
      const r = importWith(`${what}.db`);
      assert.deepEqual(r.said, [`code cache: ${file()} ${verdict}`, `code cache: wrote ${file()}`], what);
      assert.deepEqual(r.rows, base.rows, what);
      assert.ok(decodeCache(readFileSync(file()), rightKey).ok, `${what}: written again for this bundle`);
      assert.deepEqual(importWith(`${what}-again.db`).said, [`code cache: used ${file()}`], what);
    }
  });

  it('two first imports at once both write the cache whole: one file, no temporary left, used next', async () => {
    const args = (db: string): string[] => ['import', '--db', join(dir, db), '--anon-key', key, '--no-progress', ...captures];
    const env = { ...process.env, MEERKAT_NODE: process.execPath, MEERKAT_CODE_CACHE_DIR: cache };
    const one = (db: string): Promise<number | null> => new Promise((done) => spawn(launcher, args(db), { env, stdio: 'ignore' }).on('exit', done));
    assert.deepEqual(await Promise.all([one('a.db'), one('b.db')]), [0, 0]);
    assert.deepEqual(readdirSync(cache), [file().slice(cache.length + 1)]);
    assert.deepEqual(importWith('c.db').said, [`code cache: used ${file()}`]);
    assert.deepEqual(importedRows(join(dir, 'a.db')), importedRows(join(dir, 'b.db')));
  });

  it('help, a version and a failed import write no cache (they compile little of the command); the next import does', () => {
    const run = (args: string[]): { status: number | null; said: string[] } => {
      const r = spawnSync(launcher, args, { encoding: 'utf8', env: { ...process.env, MEERKAT_NODE: process.execPath, MEERKAT_CODE_CACHE_DIR: cache, MEERKAT_CODE_CACHE_DEBUG: '1' } });
      return { status: r.status, said: r.stderr.split('\n').filter((l) => l.startsWith('code cache: ')) };
    };
    assert.deepEqual(run(['import', '--help']), { status: 0, said: [`code cache: none at ${file()}`, 'code cache: not written (help or version)'] });
    const failed = run(['import', '--db', join(dir, 'x.db'), '--anon-key', join(dir, 'no-such.key'), '--no-progress', ...captures]);
    assert.notEqual(failed.status, 0);
    assert.deepEqual(failed.said, [`code cache: none at ${file()}`, `code cache: not written (exit code ${failed.status})`]);
    assert.equal(existsSync(file()), false);
    assert.deepEqual(importWith('a.db').said, [`code cache: none at ${file()}`, `code cache: wrote ${file()}`]);
  });

  it('starts the ES module bundle when the cache is off or its directory cannot be written', () => {
    const off = importWith('a.db', { MEERKAT_CODE_CACHE: 'off' });
    assert.deepEqual(off.said, ['code cache: off: the ES module bundle']);
    assert.equal(existsSync(cache), false);
    writeFileSync(join(dir, 'plain'), '');
    const r = importWith('b.db', { MEERKAT_CODE_CACHE_DIR: join(dir, 'plain', 'sub') });
    assert.deepEqual(r.said, [`code cache: none at ${cacheFile(join(dir, 'plain', 'sub'), 'import', join(bundleDir, 'meerkat-collector.cjs'))}`,
      `code cache: cannot write ${join(dir, 'plain', 'sub')}: the ES module bundle`]);
    assert.deepEqual(r.rows, off.rows);
    assert.deepEqual(importWith('c.db').rows, off.rows, 'the classic script: the same rows');
  });
});
