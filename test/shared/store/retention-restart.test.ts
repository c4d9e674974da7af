// Retention goes by receive time, with the real programs: a capture from years ago imported
// into the collector's database with `meerkat-collector import` is still there after
// `meerkat-collector run` starts (its retention pass runs at start) and stops.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteFlowStore } from '../../../shared/store/sqlite-flow-store.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';
import { makeTestPki, orgDbPath, tmpDir } from '../../helpers/transport-rig.js';
import { CollectorProcess } from '../../helpers/processes.js';
import { collectorProgramArgs } from '../../helpers/node-script.js';

function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...collectorProgramArgs(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

function flowFacts(db: string): { count: number; newestEndUs: number } {
  const s = new SqliteFlowStore(db, { readonly: true });
  try {
    const flows = s.queryFlows({ limit: 1 });
    return { count: s.countFlows(), newestEndUs: flows[0]?.end ?? 0 };
  } finally {
    s.close();
  }
}

describe('retention by receive time (real collector processes)', function () {
  let root: string;
  before(() => { root = tmpDir('retention'); });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('keeps an old capture imported today through a restart of the collector', async function () {
    this.timeout(90_000);
    const stateDir = join(root, 'state');
    mkdirSync(stateDir);
    // a collector's state with its default organisation; the import goes into that organisation's database
    const tp = makeTestPki(root, ['localhost'], ['127.0.0.1'], { stateDir });
    const db = orgDbPath(stateDir);
    const imp = await run(['import', join(referencePcapsDir(), 'zeek', 'ssh_ssh.pcap'), '--db', db]);
    assert.equal(imp.code, 0, imp.err);
    const before = flowFacts(db);
    assert.ok(before.count > 0, 'the capture made flows');
    const ageDays = (Date.now() * 1000 - before.newestEndUs) / 86_400_000_000;
    assert.ok(ageDays > 365, `the capture is old (${ageDays.toFixed(0)} days), far past the 30-day retention`);

    const collector = await CollectorProcess.start(join(root, 'collector.json'), { stateDir, pkiDir: tp.dir });
    try {
      // the flow side is up: its first retention pass ran while it started (collector/flow-service.ts)
      assert.ok(collector.logLines().some((l) => l.msg === 'organisation running' && l.db === db), collector.stderr);
    } finally {
      assert.equal(await collector.stop(), 0, collector.stderr.slice(-2000));
    }
    const after = flowFacts(db);
    assert.equal(after.count, before.count, 'no imported flow was deleted by the restart');
    process.stderr.write(`      (${after.count} flows of a capture ${ageDays.toFixed(0)} days old kept through a restart)\n`);
  });
});
