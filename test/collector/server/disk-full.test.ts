import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CollectorServer } from '../../../collector/server/collector-server.js';
import { SqliteDumpLedger } from '../../../collector/server/dump-ledger.js';
import { realCommitFs, type CommitFs } from '../../../collector/server/dump-committer.js';
import { NackCode } from '../../../shared/protocol/agent-protocol.js';
import { Shipper } from '../../../agent/transport/shipper.js';
import { DirSpool, issueAgent, makeDump, makeTestPki, tmpDir, waitFor, type TestPki } from '../../helpers/transport-rig.js';
import { RawAgent } from '../../helpers/raw-agent.js';
import { skipBecause } from '../../helpers/skip.js';

function canMount(): boolean {
  return process.getuid?.() === 0;
}

describe('transport: storage failures on the collector', function () {
  let root: string;
  let tp: TestPki;
  before(() => {
    root = tmpDir('diskfull');
    tp = makeTestPki(root);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('disk full (a 512 KiB tmpfs): uploads are nacked, nothing acked that is not stored, all stored once space returns', async function () {
    if (!canMount()) skipBecause(this, 'mounting a tmpfs needs root; the injected-error test below covers the logic');
    const mnt = join(root, 'small-disk');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k,mode=0750', 'tmpfs', mnt]);
    let server: CollectorServer | undefined;
    let sh: Shipper | undefined;
    const ledger = new SqliteDumpLedger(join(root, 'state', 'ledger.sqlite'));
    try {
      server = await CollectorServer.start({ pkiDir: tp.dir, stateDir: join(root, 'state'), dumpDir: join(mnt, 'dumps'), listen: { host: '127.0.0.1', port: 0 }, ops: { host: '127.0.0.1', port: 0 }, ledger, defaultMetrics: false });
      const a = issueAgent(tp);
      const spool = new DirSpool(join(root, 'spool'));
      const total = 40;
      const dumps = new Map<number, Uint8Array>();
      for (let s = 1; s <= total; s++) {
        const d = makeDump(a.agentId, s, s * 97, 1793, 1500); // ~25 KiB with payload: about 19 fit
        dumps.set(s, d);
        spool.put(s, d);
      }
      const acked = new Set<number>();
      const nacks: Array<{ code: string; retry: boolean }> = [];
      sh = new Shipper({ collectorUrl: `https://localhost:${server.port}`, agentId: a.agentId, credentials: () => a, spool, window: 4, backoff: { initialMs: 50, maxMs: 200 } });
      sh.on('ack', (seq: number) => {
        acked.add(seq);
        // every ack, at the moment it arrives: row and complete file exist
        assert.ok(ledger.has(a.agentId, seq), `acked ${seq} without a row`);
        assert.deepEqual(new Uint8Array(readFileSync(join(mnt, 'dumps', a.agentId, `${String(seq).padStart(16, '0')}.mkd`))), dumps.get(seq));
      });
      sh.on('nack', (_seq: number, code: string, _reason: string, retry: boolean) => nacks.push({ code, retry }));
      sh.start();
      await waitFor(() => sh!.stats().retries >= 3, 20_000, 'storage nacks once the disk is full').catch((e: Error) => {
        throw new Error(`${e.message}; shipper ${JSON.stringify(sh!.stats())}, ${spool.list().length} spooled; ${execFileSync('df', ['-k', mnt]).toString()}`);
      });
      const stuck = spool.list().length;
      assert.ok(stuck > 0 && stuck < total, `some stored, some waiting (${stuck} waiting)`);
      assert.ok(acked.size === total - stuck, 'acked exactly what left the spool');
      const health = await fetch(`http://127.0.0.1:${server.opsPort}/healthz`);
      assert.equal(health.status, 503);
      assert.match(await health.text(), /ENOSPC|no space/i);
      assert.ok(nacks.some((n) => n.code === NackCode.Storage && n.retry));
      assert.deepEqual(ledger.list(a.agentId).map((r) => r.sequence).sort((x, y) => x - y), [...acked].sort((x, y) => x - y), 'stored == acked');
      // space comes back: everything is delivered, each dump once
      execFileSync('mount', ['-o', 'remount,size=8m', mnt]);
      await waitFor(() => spool.list().length === 0, 30_000, 'spool drained after space returned');
      await sh.stop();
      assert.equal(ledger.list(a.agentId).length, total);
      assert.equal(acked.size, total);
      assert.ok(!existsSync(join(mnt, 'dumps', '.incoming')) || execFileSync('ls', ['-A', join(mnt, 'dumps', '.incoming')]).length === 0, 'no temp files left');
    } finally {
      await sh?.stop();
      await server?.close();
      ledger.close();
      execFileSync('umount', [mnt]);
    }
  });

  it('an injected fsync failure is nacked (retry), the connection stays up, the dump is stored on resend', async () => {
    let failNext = 2;
    const fs: CommitFs = {
      ...realCommitFs,
      async writeDurable(path, data) {
        if (failNext > 0) {
          failNext--;
          throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
        }
        return realCommitFs.writeDurable(path, data);
      },
    };
    const ledger = new SqliteDumpLedger(join(root, 'state2', 'ledger.sqlite'));
    const server = await CollectorServer.start({ pkiDir: tp.dir, stateDir: join(root, 'state2'), listen: { host: '127.0.0.1', port: 0 }, ops: false, ledger, commitFs: fs, defaultMetrics: false });
    try {
      const a = issueAgent(tp);
      const agent = await RawAgent.connect(server.port, a);
      const d1 = makeDump(a.agentId, 1, 0, 100);
      const d2 = makeDump(a.agentId, 2, 100, 100);
      agent.upload(1, d1, 0);
      agent.upload(2, d2, 0);
      const n1 = await agent.next('nack');
      assert.deepEqual([n1.seq, n1.code, n1.retry, n1.epoch], [1, NackCode.Storage, true, 0]);
      assert.match(n1.reason, /EIO/);
      // seq 2 of the failed epoch is dropped so the order 1, 2 is kept
      const n2 = await agent.next('nack');
      assert.deepEqual([n2.seq, n2.code], [2, NackCode.Aborted]);
      assert.equal(ledger.list(a.agentId).length, 0, 'nothing stored, nothing acked');
      agent.upload(1, d1, 1);
      assert.equal((await agent.next('nack')).code, NackCode.Storage, 'second injected failure');
      agent.upload(1, d1, 2);
      agent.upload(2, d2, 2);
      assert.deepEqual([(await agent.next('ack')).seq, (await agent.next('ack')).seq], [1, 2]);
      assert.deepEqual(ledger.list(a.agentId).map((r) => r.sequence), [1, 2]);
      agent.close();
    } finally {
      await server.close();
      ledger.close();
    }
  });
});

