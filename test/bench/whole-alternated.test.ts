// The alternated whole-process benches end to end on a small reference capture: one round of
// argus and this build's `meerkat-collector import` or `meerkat-agent replay` (through the
// launchers), the outputs kept in a directory that did not exist before (--keep creates it).
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initOwnerKeys, ANON_KEY_FILE } from '../../shared/keys/owner-keys.js';
import { referencePcapsDir, repoRoot } from '../../shared/util/repo-paths.js';
import { nodeScriptArgs } from '../helpers/node-script.js';
import { partsCost, splitCost } from '../../bench/whole-alternated.js';
import Database from 'better-sqlite3';

/** Runs bench/<tool>.ts with `args`, its output as text. */
function runTool(tool: 'import-alternated' | 'replay-alternated', args: readonly string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [...nodeScriptArgs(`../../bench/${tool}`, import.meta.url), ...args], { encoding: 'utf8' });
}

describe('alternated whole-process benches', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'meerkat-import-alt-test-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  /** one round on the reference capture http_get.pcap with the owner key in dir */
  const onHttpGet = (): string[] => ['--capture', join(referencePcapsDir(), 'zeek', 'http_get.pcap'), '--anon-key', join(dir, 'owner', ANON_KEY_FILE), '--rounds', '1'];

  it('--keep DIR: creates DIR and leaves the last round\'s database and argus output there', () => {
    initOwnerKeys(join(dir, 'owner'));
    const keep = join(dir, 'not', 'yet');
    const r = runTool('import-alternated', [...onHttpGet(), '--keep', keep]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /this \/ argus/);
    assert.ok(existsSync(join(keep, 'this.db')), 'the import\'s database is kept');
    assert.ok(existsSync(join(keep, 'out.argus')), 'argus\'s output is kept');
  });

  it('replay-alternated against a base build: the same dumps with a fixed agent id, and the ratios', () => {
    initOwnerKeys(join(dir, 'owner'));
    const keep = join(dir, 'kept');
    // this checkout as its own base: both builds must write byte-identical dumps
    const repo = repoRoot();
    const r = runTool('replay-alternated', [...onHttpGet(), '--keep', keep, '--base', repo, '--agent-id', '11111111-1111-4111-8111-111111111111']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^replay: 1 rounds/);
    assert.match(r.stdout, /this \/ base .*\(this lower in [01] of 1\)/);
    assert.match(r.stdout, /packets\/s per core at the median \(\d+ frames\)/);
    const dumps = readdirSync(join(keep, 'this'));
    assert.ok(dumps.length > 0, 'replay wrote dumps');
    assert.deepEqual(readdirSync(join(keep, 'base')), dumps);
  });

  it('--split: each build also on the capture plus its shifted copy, then the per-packet and fixed cost; the copy is removed', () => {
    initOwnerKeys(join(dir, 'owner'));
    const keep = join(dir, 'kept');
    const r = runTool('import-alternated', [...onHttpGet(), '--keep', keep, '--split']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /round 1: argus [\d.]+ s, this [\d.]+ s, this, two files [\d.]+ s/);
    assert.match(r.stdout, /this build, split +per packet, warm: -?[\d.]+--?[\d.]+, median -?[\d.]+ us; fixed: /);
    // both imports stored their own flows: the two-file database has the copy's too
    assert.ok(existsSync(join(keep, 'this.db')) && existsSync(join(keep, 'this-two.db')));
    assert.ok(!existsSync(join(keep, 'shifted.pcap')), 'the shifted copy is not left behind');
  });

  it('--split on a capture it cannot copy (pcapng): one line naming the file, exit 1', () => {
    initOwnerKeys(join(dir, 'owner'));
    const ng = join(dir, 'x.pcapng');
    writeFileSync(ng, Buffer.from('0a0d0d0a1c0000004d3c2b1a01000000ffffffffffffffff1c000000', 'hex'));
    const r = runTool('import-alternated', ['--capture', ng, '--anon-key', join(dir, 'owner', ANON_KEY_FILE), '--rounds', '1', '--split']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^writing .*\nimport-alternated: .*x\.pcapng: not a classic pcap file/);
  });

  it('--parts: each build also without the analyzers and without them and the metadata, then what each part costs', () => {
    initOwnerKeys(join(dir, 'owner'));
    const keep = join(dir, 'kept');
    const r = runTool('import-alternated', [...onHttpGet(), '--keep', keep, '--parts']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /round 1: argus [\d.]+ s, this [\d.]+ s, this, no analyzers [\d.]+ s, this, core [\d.]+ s/);
    assert.match(r.stdout, /this build, parts +analyzers -?[\d.]+--?[\d.]+, median -?[\d.]+ s; metadata -?[\d.]+--?[\d.]+, median -?[\d.]+ s; the core \(--no-analyze --no-metadata\) [\d.]+-[\d.]+, median [\d.]+ s, \/ argus /);
    // the runs were what they say: the default import stored alerts' tables, the others not; the core stored no metadata
    const query = <T>(db: string, sql: string): T[] => {
      const d = new Database(join(keep, db), { readonly: true });
      try { return d.prepare(sql).all() as T[]; } finally { d.close(); }
    };
    const tables = (db: string): string[] => query<{ name: string }>(db, "SELECT name FROM sqlite_master WHERE type = 'table'").map((t) => t.name);
    assert.ok(tables('this.db').includes('alerts'));
    assert.ok(!tables('this-no-analyze.db').includes('alerts'));
    const tls = (db: string): number => query<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM tls_log')[0]!.n;
    const names = (db: string): number => query<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM flows WHERE server_name IS NOT NULL')[0]!.n;
    assert.equal(tls('this-core.db'), 0);
    assert.equal(names('this-core.db'), 0);
    assert.ok(names('this-no-analyze.db') > 0, 'the import without analyzers still extracts metadata');
  });

  it('--parts is for import only: replay says how to use it, exit 2', () => {
    const r = runTool('replay-alternated', ['--capture', 'x.pcap', '--anon-key', 'k', '--parts']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /usage: replay-alternated .*--agent-id UUID\]\n$/);
  });

  it('partsCost: the analyzers are the default import minus the one without them; the metadata, that minus the core', () => {
    const p = partsCost([2, 3], [1.5, 2.25], [1, 2]);
    assert.deepEqual(p.analyzers, [0.5, 0.75]);
    assert.deepEqual(p.metadata, [0.5, 0.25]);
  });

  it('splitCost: the second file\'s extra CPU per packet, and twice one minus two', () => {
    const s = splitCost([1.5, 2], [2.5, 3.5], 1_000_000);
    assert.deepEqual(s.perPacketUs.map((x) => Number(x.toFixed(6))), [1, 1.5]);
    assert.deepEqual(s.fixedSeconds, [0.5, 0.5]);
  });

  it('without --capture: usage error, exit 2', () => {
    const r = runTool('import-alternated', ['--rounds', '1']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /usage: import-alternated/);
  });
});
