// The store bench end to end: the rows of a database an import wrote (a reference capture with
// DNS and TLS) written again as an import writes them, each step's CPU printed; without --from
// a usage error.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { initOwnerKeys, ANON_KEY_FILE } from '../../shared/keys/owner-keys.js';
import { referencePcapsDir } from '../../shared/util/repo-paths.js';
import { collectorCliArgs } from '../helpers/processes.js';
import { nodeScriptArgs } from '../helpers/node-script.js';

describe('store-import bench', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'meerkat-store-bench-test-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the rows of an imported database again and prints the CPU of each step', () => {
    initOwnerKeys(join(dir, 'owner'));
    const db = join(dir, 'imported.db');
    const imp = spawnSync(process.execPath, [...collectorCliArgs(), 'import', '--db', db, '--anon-key', join(dir, 'owner', ANON_KEY_FILE), '--no-progress',
      join(referencePcapsDir(), 'ndpi', 'netflix.pcap')], { encoding: 'utf8' });
    assert.equal(imp.status, 0, imp.stderr);
    const d = new Database(db, { readonly: true });
    const count = (t: string): number => (d.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n;
    const [flows, dns, tls] = [count('flows'), count('dns_log'), count('tls_log')];
    d.close();
    assert.ok(flows > 0 && dns > 0 && tls > 0, 'a capture with flows, DNS and TLS');
    const r = spawnSync(process.execPath, [...nodeScriptArgs('../../bench/store-import-bench', import.meta.url), '--from', db, '--passes', '2'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${flows} flows, ${dns} dns, ${tls} tls; CPU ms best / median of 2:`));
    for (const step of ['open', 'rows', 'indexes', 'close', 'all']) assert.match(r.stdout, new RegExp(`^  ${step} +\\d+\\.\\d / \\d+\\.\\d$`, 'm'), step);
  });

  it('without --from: usage error, exit 2', () => {
    const r = spawnSync(process.execPath, [...nodeScriptArgs('../../bench/store-import-bench', import.meta.url)], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /usage: store-import-bench/);
  });
});
