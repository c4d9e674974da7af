// The dump directory comparison: the same records in differently compressed files pass, a
// changed record, a missing file or changed metadata fail; the CLI's exit codes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareDumpDirs } from '../../tools/compare-dumps.js';
import { DumpWriter } from '../../shared/dump/index.js';
import type { PacketRecord } from '../../shared/packet/packet-record.js';
import { recordsFromDecoder } from '../shared/dump/helpers/decoder-records.js';
import { nodeScriptArgs } from '../helpers/node-script.js';

const AGENT = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
const KEY = '00ff10ee20dd30cc';

function writeDumps(dir: string, recs: PacketRecord[], compression: 'none' | 'brotli', meta = true): void {
  mkdirSync(dir, { recursive: true });
  const w = new DumpWriter({ agentId: AGENT, anonKeyId: KEY, snapLen: 32, compression });
  for (let i = 0; i < recs.length; i++) {
    if (meta && i === 3) w.queueMeta({ kind: 'http', method: 'GET', minorVersion: 1, host: { name: 'example.org', pseudonym: false }, userAgent: null });
    w.add(recs[i]!);
    if ((i + 1) % 500 === 0 || i === recs.length - 1) writeFileSync(join(dir, `${String(Math.ceil((i + 1) / 500)).padStart(8, '0')}.mkd`), w.finish(i));
  }
}

describe('tools/compare-dumps', function () {
  this.timeout(60_000);
  let dir = '';
  let recs: PacketRecord[];
  before(() => { recs = recordsFromDecoder('zeek/ssh_ssh.pcap', 1200, 32); });
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'mk-cmp-dumps-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the same records pass, whatever the bytes; a changed record, metadata or a missing file fail', () => {
    writeDumps(join(dir, 'a'), recs, 'brotli');
    writeDumps(join(dir, 'b'), recs, 'none');
    const same = compareDumpDirs(join(dir, 'a'), join(dir, 'b'));
    assert.deepEqual(same.differences, []);
    assert.equal(same.dumps, 3);
    assert.equal(same.packets, recs.length);
    assert.equal(same.metaRecords, 1);
    assert.equal(same.identicalFiles, 0);
    assert.equal(compareDumpDirs(join(dir, 'a'), join(dir, 'a')).identicalFiles, 3);

    recs[700]!.ttl ^= 1;
    writeDumps(join(dir, 'c'), recs, 'brotli');
    recs[700]!.ttl ^= 1;
    const changed = compareDumpDirs(join(dir, 'a'), join(dir, 'c'));
    assert.equal(changed.differences.length, 1);
    assert.match(changed.differences[0]!, /^00000002\.mkd: record 200 differs/);

    writeDumps(join(dir, 'd'), recs, 'brotli', false);
    assert.match(compareDumpDirs(join(dir, 'a'), join(dir, 'd')).differences.join('\n'), /metadata differs \(1 against 0/);

    unlinkSync(join(dir, 'b', '00000003.mkd'));
    assert.match(compareDumpDirs(join(dir, 'a'), join(dir, 'b')).differences.join('\n'), /different dump files: 3 in .*, 2 in /);
  });

  it('CLI: exit 0 for the same records, 1 for different ones, 2 for a usage error; --json', () => {
    writeDumps(join(dir, 'a'), recs, 'brotli');
    writeDumps(join(dir, 'b'), recs, 'none');
    const run = (...args: string[]): { status: number | null; stdout: string } => {
      const r = spawnSync(process.execPath, [...nodeScriptArgs('../../tools/compare-dumps', import.meta.url), ...args], { encoding: 'utf8' });
      return { status: r.status, stdout: r.stdout };
    };
    const ok = run('--json', join(dir, 'a'), join(dir, 'b'));
    assert.equal(ok.status, 0);
    assert.equal((JSON.parse(ok.stdout) as { packets: number }).packets, recs.length);
    unlinkSync(join(dir, 'b', '00000001.mkd'));
    assert.equal(run(join(dir, 'a'), join(dir, 'b')).status, 1);
    assert.equal(run(join(dir, 'a')).status, 2);
    assert.equal(run('--help').status, 0);
  });
});
