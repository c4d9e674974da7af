// A poisoned dump (well-formed, timestamps NaN / ±Infinity / ±1e300) from one agent, against
// the real collector program: it is refused with `invalid-value` before it is stored, and
// another agent loses no flow - neither its dumps around the poison nor its flows still open
// when the collector stops (SIGTERM exits 0).
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DumpIngest } from '../../../collector/import/dump-ingest.js';
import { SqliteFlowStore } from '../../../shared/store/sqlite-flow-store.js';
import { poisonFirstTimestamp } from '../../shared/dump/helpers/poisoned-dump.js';
import { issueAgent, makeDump, makeTestPki, orgDbPath, tmpDir } from '../../helpers/transport-rig.js';
import { CollectorProcess } from '../../helpers/processes.js';
import { RawAgent } from '../../helpers/raw-agent.js';

/** Flow records and their packets, per agent, as a store holds them. */
function flowTotals(dbPath: string, agentId: string): { records: number; packets: number } {
  const store = new SqliteFlowStore(dbPath, { readonly: true });
  try {
    const flows = store.queryFlows({ agentId });
    return { records: flows.length, packets: flows.reduce((s, f) => s + f.orig_pkts + f.resp_pkts, 0) };
  } finally {
    store.close();
  }
}

describe('transport: a poisoned dump from one agent costs no other agent a flow (real collector process)', function () {
  let root: string;
  let collector: CollectorProcess | undefined;

  before(() => { root = tmpDir('poison'); });
  after(() => {
    collector?.kill();
    rmSync(root, { recursive: true, force: true });
  });

  it('nacks every poisoned dump invalid-value, stores the victim\'s dumps and all of their flows, and stops cleanly', async function () {
    this.timeout(120_000);
    const stateDir = join(root, 'state');
    const tp = makeTestPki(root, undefined, undefined, { stateDir });
    collector = await CollectorProcess.start(join(root, 'collector.json'), { stateDir, pkiDir: tp.dir });
    const victim = issueAgent(tp);
    const poisoner = issueAgent(tp);
    const victimDumps = [1, 2, 3, 4, 5, 6].map((s) => makeDump(victim.agentId, s, (s - 1) * 250, 250));

    const v = await RawAgent.connect(collector.port, victim);
    await v.next('welcome');
    const p = await RawAgent.connect(collector.port, poisoner);
    await p.next('welcome');
    // interleaved: victim, poison, victim, poison ...
    const poisons = [NaN, Infinity, -Infinity, 1e300, -1e300];
    for (let i = 0; i < victimDumps.length; i++) {
      v.upload(i + 1, victimDumps[i]!);
      assert.deepEqual(await v.next('ack'), { type: 'ack', seq: i + 1, epoch: 0, dup: false });
      const bad = poisons[i];
      if (bad === undefined) continue;
      p.upload(i + 1, poisonFirstTimestamp(makeDump(poisoner.agentId, i + 1, i * 100, 100), bad));
      const nack = await p.next('nack');
      assert.equal(nack.seq, i + 1);
      assert.equal(nack.code, 'invalid-value', nack.reason);
      assert.equal(nack.retry, false);
      assert.match(nack.reason, /column 'ts' at record 0: timestamp|header times -\d+/);
    }
    v.close();
    p.close();
    assert.equal(await collector.stop(), 0, `SIGTERM exit code; stderr: ${collector.stderr.slice(-3000)}`);

    // what the victim's dumps make on their own, built offline with the same engine
    const refDb = join(root, 'ref', 'ref.db');
    mkdirSync(join(root, 'ref'));
    const ref = new SqliteFlowStore(refDb);
    const ingest = new DumpIngest(ref);
    for (const d of victimDumps) ingest.ingest(d, { receivedUs: Date.now() * 1000 });
    ingest.flushAll();
    ref.close();
    const want = flowTotals(refDb, victim.agentId);
    const got = flowTotals(orgDbPath(stateDir), victim.agentId);
    assert.ok(want.records > 0);
    assert.deepEqual(got, want, 'the victim\'s flow records and packets, all of them');
    assert.deepEqual(flowTotals(orgDbPath(stateDir), poisoner.agentId), { records: 0, packets: 0 }, 'nothing of the poison was stored');
    const store = new SqliteFlowStore(orgDbPath(stateDir), { readonly: true });
    try {
      for (let s = 1; s <= 5; s++) assert.equal(store.getDump(poisoner.agentId, s), null, `poisoned dump ${s} not recorded`);
      for (let s = 1; s <= 6; s++) assert.notEqual(store.getDump(victim.agentId, s), null, `victim dump ${s} recorded`);
    } finally {
      store.close();
    }
    const nackLines = collector.logLines().filter((l) => l.msg === 'upload rejected' && l.code === 'invalid-value');
    assert.equal(nackLines.length, 5, 'each refusal is logged with its code');
    process.stderr.write(`      (victim: ${got.records} flow records, ${got.packets} packets stored = offline build; 5 poisoned dumps nacked invalid-value; exit 0)\n`);
  });
});
