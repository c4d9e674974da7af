// The alternated import bench end to end on a small reference capture: one round of argus and
// this build's `meerkat-collector import` (through the launcher), the databases kept in a
// directory that did not exist before (--keep creates it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initOwnerKeys, ANON_KEY_FILE } from '../../shared/keys/owner-keys.js';
import { referencePcapsDir } from '../../shared/util/repo-paths.js';
import { nodeScriptArgs } from '../helpers/node-script.js';

describe('import-alternated bench', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'meerkat-import-alt-test-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('--keep DIR: creates DIR and leaves the last round\'s database and argus output there', () => {
    initOwnerKeys(join(dir, 'owner'));
    const keep = join(dir, 'not', 'yet');
    const r = spawnSync(process.execPath, [...nodeScriptArgs('../../bench/import-alternated', import.meta.url),
      '--capture', join(referencePcapsDir(), 'zeek', 'http_get.pcap'), '--anon-key', join(dir, 'owner', ANON_KEY_FILE),
      '--rounds', '1', '--keep', keep], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /this \/ argus/);
    assert.ok(existsSync(join(keep, 'this.db')), 'the import\'s database is kept');
    assert.ok(existsSync(join(keep, 'out.argus')), 'argus\'s output is kept');
  });

  it('without --capture: usage error, exit 2', () => {
    const r = spawnSync(process.execPath, [...nodeScriptArgs('../../bench/import-alternated', import.meta.url), '--rounds', '1'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /usage: import-alternated/);
  });
});
