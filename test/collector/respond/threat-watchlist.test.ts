// The watchlist's per-feed status (threat-watchlist.ts status()): what each feed file loaded,
// when, and the last reload error - a feed that goes missing or unreadable keeps its old list
// and reports the error until a good load clears it. The host path never appears, only the
// file's base name.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ThreatWatchlist } from '../../../collector/respond/threat-watchlist.js';
import { tempDir } from '../analyze/harness.js';

const JA4 = 't13d1516h2_8daaf6152771_b186095e22b6';

describe('the threat watchlist status', () => {
  let dir: string;
  let cleanup: () => void;
  before(() => ({ dir, cleanup } = tempDir()));
  after(() => cleanup());

  it('reports counts, load time and reload errors per feed, keeping the old list on error', () => {
    const path = join(dir, 'bad-hosts.txt');
    writeFileSync(path, `198.51.100.0/24\n203.0.113.7\nevil.example\n${JA4}\n`);
    let clock = 1_700_000_000_000_000;
    const w = new ThreatWatchlist([{ name: 'bad', path, spec: { format: 'plain', kind: 'auto' }, severity: 'high', response: 'capture-peer', durationSec: 60 }], undefined, undefined, () => clock);

    const [s0] = w.status();
    assert.deepEqual({ ...s0, stamp: typeof s0!.stamp }, {
      name: 'bad', file: 'bad-hosts.txt', format: 'plain', kind: 'auto', severity: 'high', response: 'capture-peer',
      counts: { prefixes: 2, domains: 1, ja4: 1 }, stamp: 'string',
      loadedAt: new Date(1_700_000_000_000).toISOString(), loadedUs: clock, lastError: null,
    });
    assert.ok(!JSON.stringify(w.status()).includes(dir), 'no host path in the status');

    // rewritten: new counts, new load time
    clock += 5_000_000;
    writeFileSync(path, '192.0.2.1\n');
    w.check();
    const s1 = w.status()[0]!;
    assert.deepEqual(s1.counts, { prefixes: 1, domains: 0, ja4: 0 });
    assert.equal(s1.loadedUs, clock);
    assert.notEqual(s1.stamp, s0!.stamp);
    assert.equal(s1.lastError, null);

    // gone: the old list is kept, the error reported with its time
    clock += 5_000_000;
    rmSync(path);
    w.check();
    const s2 = w.status()[0]!;
    assert.deepEqual(s2.counts, { prefixes: 1, domains: 0, ja4: 0 });
    assert.equal(s2.loadedUs, s1.loadedUs);
    assert.match(s2.lastError!.message, /ENOENT.*'bad-hosts\.txt'/);
    assert.ok(!JSON.stringify(w.status()).includes(dir), 'no host path in an error either');
    assert.equal(s2.lastError!.at, new Date(clock / 1000).toISOString());
    assert.equal(w.feeds[0]!.matcher.size, 1, 'old matcher kept');

    // unreadable (a directory where the file was): still the old list, the new error
    clock += 5_000_000;
    mkdirSync(path);
    w.check();
    const s3 = w.status()[0]!;
    assert.match(s3.lastError!.message, /EISDIR/);
    assert.equal(s3.lastError!.at, new Date(clock / 1000).toISOString());
    assert.deepEqual(s3.counts, { prefixes: 1, domains: 0, ja4: 0 });

    // fixed: loaded again, the error cleared
    clock += 5_000_000;
    rmSync(path, { recursive: true });
    writeFileSync(path, '192.0.2.1\n192.0.2.2\nother.example\n');
    w.check();
    const s4 = w.status()[0]!;
    assert.deepEqual(s4.counts, { prefixes: 2, domains: 1, ja4: 0 });
    assert.equal(s4.lastError, null);
    assert.equal(s4.loadedUs, clock);
  });

  it('reports a feed that never loaded with no load time and its error', () => {
    const w = new ThreatWatchlist([{ name: 'never', path: join(dir, 'nowhere', 'feed.csv'), spec: { format: 'csv', column: 1 }, severity: 'low', response: 'none', durationSec: 0 }]);
    const [s] = w.status();
    assert.equal(s!.file, 'feed.csv');
    assert.equal(s!.kind, 'auto');
    assert.equal(s!.loadedAt, null);
    assert.equal(s!.loadedUs, null);
    assert.deepEqual(s!.counts, { prefixes: 0, domains: 0, ja4: 0 });
    assert.match(s!.lastError!.message, /ENOENT/);
  });
});
