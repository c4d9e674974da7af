// The import ledger: a capture's content fingerprint does not depend on its name, changes
// with its bytes (also in a large file's middle, which is sampled), and the ledger remembers
// what was imported into a database across connections.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileFingerprint, ImportLedger } from '../../../collector/import/import-ledger.js';

describe('import ledger', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'meerkat-ledger-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('fingerprints content, not names; small files whole, large ones sampled', () => {
    const small = join(dir, 'a.pcap');
    writeFileSync(small, Buffer.from('capture bytes '.repeat(1000)));
    copyFileSync(small, join(dir, 'copy.pcap'));
    const a = fileFingerprint(small);
    assert.equal(a.bytes, 14_000);
    assert.equal(fileFingerprint(join(dir, 'copy.pcap')).fingerprint, a.fingerprint);
    const changed = Buffer.from('capture bytes '.repeat(1000));
    changed[7_000] ^= 1;
    writeFileSync(join(dir, 'b.pcap'), changed);
    assert.notEqual(fileFingerprint(join(dir, 'b.pcap')).fingerprint, a.fingerprint, 'one bit in the middle of a small file');
    // 24 MB: head, tail and 64 samples are hashed; the sampled places and the size all count
    const big = Buffer.alloc(24 << 20);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
    const bigFile = join(dir, 'big.pcap');
    writeFileSync(bigFile, big);
    const f = fileFingerprint(bigFile).fingerprint;
    const step = Math.floor((big.length - 2 * (1 << 20)) / 65);
    for (const pos of [10, big.length - 10, (1 << 20) + 32 * step]) {
      const m = Buffer.from(big);
      m[pos] ^= 0xff;
      writeFileSync(bigFile, m);
      assert.notEqual(fileFingerprint(bigFile).fingerprint, f, `a change at ${pos}`);
    }
    writeFileSync(bigFile, Buffer.concat([big, Buffer.alloc(1)]));
    assert.notEqual(fileFingerprint(bigFile).fingerprint, f, 'one more byte');
  });

  it('remembers imported files in the database, first import kept', () => {
    const db = join(dir, 'flows.db');
    const l = new ImportLedger(db);
    assert.equal(l.find('ab'), null);
    l.record([{ fingerprint: 'ab', bytes: 10, path: '/x/a.pcap', kind: 'pcap', agentId: 'import', anonKeyId: 'k1', packets: 3, importedUs: 5 }]);
    l.record([{ fingerprint: 'ab', bytes: 10, path: '/y/b.pcap', kind: 'pcap', agentId: 'other', anonKeyId: 'k2', packets: 3, importedUs: 9 }]);
    l.close();
    const again = new ImportLedger(db);
    assert.deepEqual(again.find('ab'), { fingerprint: 'ab', bytes: 10, path: '/x/a.pcap', kind: 'pcap', agentId: 'import', anonKeyId: 'k1', packets: 3, importedUs: 5 });
    again.close();
  });
});
