import assert from 'node:assert/strict';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { CollectorServer } from '../../../collector/server/collector-server.js';
import { SqliteDumpLedger } from '../../../collector/server/dump-ledger.js';
import { Spool } from '../../../agent/spool/index.js';
import { issueAgent, makeDump, makeTestPki, tmpDir, waitFor, type TestPki, startTestCollector } from '../../helpers/transport-rig.js';
import { spawnFixture, waitExit } from '../../helpers/processes.js';

describe('transport: kill -9 the agent shipper while it ships, then restart it', function () {
  let root: string;
  let tp: TestPki;
  let server: CollectorServer;
  let ledger: SqliteDumpLedger;
  let committedCalls = 0;

  before(async function () {
    root = tmpDir('agentkill');
    tp = makeTestPki(root);
    ledger = new SqliteDumpLedger(join(root, 'state', 'ledger.sqlite'));
    server = await startTestCollector(tp, root, {
      ops: false,
      ledger,
      // slow enough that the shipper is always mid-stream when it is killed
      limits: { agentRateBytesPerSec: 25_000, agentBurstBytes: 10_000 },
      onDumpCommitted: () => { committedCalls++; },
    });
  });
  after(async function () {
    await server?.close();
    ledger?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('every dump is stored exactly once and the spool ends empty', async function () {
    const a = issueAgent(tp);
    // the agent's real encrypted spool; the test writes it, then only the shipper process opens it
    const spoolDir = join(root, 'spool');
    const writer = Spool.open({ dir: spoolDir, maxBytes: 256 * 1024 * 1024 });
    const total = 60;
    let packetsIn = 0;
    const seqs: number[] = [];
    for (let i = 1; i <= total; i++) {
      const seq = writer.nextSequence();
      const n = 80 + (i % 7) * 20;
      writer.put(seq, makeDump(a.agentId, seq, i * 31, n), n);
      packetsIn += n;
      seqs.push(seq);
    }
    // put() queues the disk writes: all on disk before another process opens the spool
    await writer.flushed();
    const spool = { list: (): string[] => readdirSync(spoolDir).filter((f) => f.endsWith('.mkds')) };
    const cfgFile = join(root, 'shipper.json');
    writeFileSync(cfgFile, JSON.stringify({ url: `https://localhost:${server.port}`, ...a, spoolDir, window: 6 }));
    let kills = 0;
    let acksSeen = 0;
    const dupAcks: number[] = [];
    for (let round = 0; round < 6 && spool.list().length > 0; round++) {
      const p: ChildProcess = spawnFixture('shipper-process', [cfgFile]);
      let buf = '';
      let acksThisRound = 0;
      p.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          const m = /^ACK (\d+) (\d)$/.exec(line);
          if (m) {
            acksThisRound++;
            acksSeen++;
            if (m[2] === '1') dupAcks.push(Number(m[1]));
          }
        }
      });
      if (round < 5) {
        // let it get a few acks in, then kill it hard mid-stream
        await waitFor(() => acksThisRound >= 3 || spool.list().length === 0, 30_000, 'shipper progress');
        await new Promise((r) => setTimeout(r, 40 + round * 30));
        p.kill('SIGKILL');
        await waitExit(p);
        kills++;
      } else {
        await waitFor(() => spool.list().length === 0, 60_000, 'spool drained');
        p.kill('SIGTERM');
        await waitExit(p);
      }
    }
    assert.equal(kills, 5, "the shipper was killed mid-stream 5 times");
    await waitFor(() => spool.list().length === 0, 60_000, 'spool drained');
    const rows = ledger.list(a.agentId);
    assert.deepEqual(rows.map((r) => r.sequence), seqs);
    assert.equal(rows.reduce((s, r) => s + r.packetCount, 0), packetsIn);
    assert.equal(committedCalls, total, 'the flow-engine hook saw each dump once');
    process.stderr.write(`      (${kills} kills, ${acksSeen} acks seen, ${dupAcks.length} duplicate re-sends acked)\n`);
  });
});
