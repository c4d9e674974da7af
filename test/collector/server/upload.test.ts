import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { CollectorServer } from '../../../collector/server/collector-server.js';
import { SqliteDumpLedger } from '../../../collector/server/dump-ledger.js';
import { dumpFileName } from '../../../collector/server/dump-committer.js';
import { decodeDump } from '../../../shared/dump/dump-reader.js';
import { NackCode } from '../../../shared/protocol/agent-protocol.js';
import { DirSpool, issueAgent, makeDump, makeTestPki, metricFromText, tmpDir, waitFor, type TestPki, startTestCollector } from '../../helpers/transport-rig.js';
import { RawAgent } from '../../helpers/raw-agent.js';
import { Shipper } from '../../../agent/transport/shipper.js';
import { healthReporter } from '../../../agent/transport/agent-health.js';

describe('transport: uploads, acks and nacks', function () {
  let root: string;
  let tp: TestPki;
  let server: CollectorServer;
  let ledger: SqliteDumpLedger;
  const committed: Array<{ agentId: string; seq: number; packets: number }> = [];

  before(async function () {
    root = tmpDir('upload');
    tp = makeTestPki(root);
    ledger = new SqliteDumpLedger(join(root, 'state', 'ledger.sqlite'));
    server = await startTestCollector(tp, root, {
      ledger,
      limits: { maxDumpBytes: 256 * 1024 },
      onDumpCommitted: (agentId, header) => { committed.push({ agentId, seq: header.sequence, packets: header.packetCount }); },
    });
  });
  after(async function () {
    await server?.close();
    ledger?.close();
    rmSync(root, { recursive: true, force: true });
  });

  async function metrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${server.opsPort}/metrics`)).text();
  }

  it('acks only after the dump file and its row are on disk; the hook sees it once', async () => {
    const a = issueAgent(tp);
    const agent = await RawAgent.connect(server.port, a);
    const welcome = await agent.next('welcome');
    assert.equal(welcome.agentId, a.agentId);
    const dump = makeDump(a.agentId, 7, 0, 500);
    agent.upload(7, dump);
    const ack = await agent.next('ack');
    assert.deepEqual([ack.seq, ack.dup], [7, false]);
    // at ack time: row and byte-identical file exist
    assert.ok(ledger.has(a.agentId, 7));
    const file = join(root, 'state', 'dumps', dumpFileName(a.agentId, 7));
    assert.deepEqual(new Uint8Array(readFileSync(file)), dump);
    assert.equal(decodeDump(readFileSync(file)).packetCount, 500);
    assert.deepEqual(committed.filter((c) => c.agentId === a.agentId), [{ agentId: a.agentId, seq: 7, packets: 500 }]);
    agent.close();
  });

  it('a duplicate (agent id, sequence) is acked again and stored once, also across connections', async () => {
    const a = issueAgent(tp);
    const dump = makeDump(a.agentId, 1, 100, 300);
    const first = await RawAgent.connect(server.port, a);
    first.upload(1, dump);
    first.upload(1, dump);
    assert.deepEqual(await first.next('ack'), { type: 'ack', seq: 1, epoch: 0, dup: false });
    assert.deepEqual(await first.next('ack'), { type: 'ack', seq: 1, epoch: 0, dup: true });
    first.close();
    const second = await RawAgent.connect(server.port, a);
    second.upload(1, dump);
    assert.equal((await second.next('ack')).dup, true);
    second.close();
    assert.equal(ledger.list(a.agentId).length, 1);
    assert.equal(committed.filter((c) => c.agentId === a.agentId).length, 1);
    assert.equal(metricFromText(await metrics(), 'meerkat_collector_uploads_total', { result: 'duplicate' }) >= 2, true);
  });

  it('nacks malformed uploads with a clear reason and keeps the connection working', async () => {
    const a = issueAgent(tp);
    const agent = await RawAgent.connect(server.port, a);
    const good = makeDump(a.agentId, 3, 0, 200);
    // 1: garbage instead of a dump
    agent.upload(1, Buffer.from('definitely not a dump, just some bytes to fill a header.....................................................'));
    let n = await agent.next('nack');
    assert.equal(n.seq, 1);
    assert.equal(n.code, NackCode.Malformed);
    assert.equal(n.retry, false);
    assert.match(n.reason, /magic|truncated/);
    // 2: a body byte flipped (header intact): caught by the full decode
    const corrupt = Buffer.from(makeDump(a.agentId, 2, 0, 200));
    corrupt[corrupt.length - 10]! ^= 0x55;
    agent.upload(2, corrupt);
    n = await agent.next('nack');
    assert.deepEqual([n.seq, n.code], [2, NackCode.Malformed]);
    assert.match(n.reason, /checksum/);
    // 3: frame too short to carry a header
    agent.sendRaw(Buffer.from([1, 1, 0]));
    n = await agent.next('nack');
    assert.deepEqual([n.seq, n.code], [-1, NackCode.Malformed]);
    // 4: sequence in frame differs from the dump header
    agent.upload(4, good);
    n = await agent.next('nack');
    assert.deepEqual([n.seq, n.code], [4, NackCode.SequenceMismatch]);
    // 5: a dump written for another agent id
    agent.upload(5, makeDump(randomUUID(), 5, 0, 50));
    n = await agent.next('nack');
    assert.deepEqual([n.seq, n.code], [5, NackCode.AgentMismatch]);
    // 6: over the size limit
    agent.upload(6, Buffer.alloc(300 * 1024));
    n = await agent.next('nack');
    assert.deepEqual([n.seq, n.code], [6, NackCode.TooLarge]);
    // 7: not JSON on the text channel
    agent.sendRaw('{nope');
    assert.equal((await agent.next('error')).code, 'bad-message');
    // and the same connection still stores a good dump
    agent.upload(3, good);
    const ack = await agent.next('ack');
    assert.deepEqual([ack.seq, ack.dup], [3, false]);
    assert.equal(agent.closed, null);
    assert.deepEqual(ledger.list(a.agentId).map((r) => r.sequence), [3]);
    agent.close();
    const m = await metrics();
    assert.ok(metricFromText(m, 'meerkat_collector_nacks_total', { code: 'malformed' }) >= 3);
    assert.ok(metricFromText(m, 'meerkat_collector_nacks_total', { code: 'agent-mismatch' }) >= 1);
  });

  it('a newer connection of the same agent replaces the older one', async () => {
    const a = issueAgent(tp);
    const one = await RawAgent.connect(server.port, a);
    await one.next('welcome');
    const two = await RawAgent.connect(server.port, a);
    await two.next('welcome');
    const closed = await one.waitClosed();
    assert.equal(closed.code, 4000);
    two.upload(9, makeDump(a.agentId, 9, 0, 10));
    assert.equal((await two.next('ack')).seq, 9);
    two.close();
  });

  it('the shipper sends in sequence order and empties its spool only through acks', async () => {
    const a = issueAgent(tp);
    const spool = new DirSpool(join(root, `spool-${a.agentId}`));
    for (const seq of [5, 1, 3, 2, 4, 10, 8]) spool.put(seq, makeDump(a.agentId, seq, seq * 50, 120));
    const acks: number[] = [];
    const sh = new Shipper({ collectorUrl: `https://localhost:${server.port}`, agentId: a.agentId, credentials: () => a, spool, window: 3 });
    sh.on('ack', (seq: number) => acks.push(seq));
    sh.start();
    await waitFor(() => spool.list().length === 0, 15_000, 'spool drained');
    await sh.stop();
    assert.deepEqual(acks, [1, 2, 3, 4, 5, 8, 10]);
    assert.deepEqual(committed.filter((c) => c.agentId === a.agentId).map((c) => c.seq), [1, 2, 3, 4, 5, 8, 10]);
    assert.ok(existsSync(join(root, 'state', 'dumps', dumpFileName(a.agentId, 10))));
  });
});

describe('transport: heartbeats and commands', function () {
  let root: string;
  let tp: TestPki;
  let server: CollectorServer;
  const results: Array<{ agentId: string; id: string; ok: boolean; result: unknown }> = [];
  const beats: string[] = [];

  before(async function () {
    root = tmpDir('hb');
    tp = makeTestPki(root);
    server = await startTestCollector(tp, root, {
      onHeartbeat: (agentId) => { beats.push(agentId); },
      onCommandResult: (agentId, id, ok, result) => { results.push({ agentId, id, ok, result }); },
    });
  });
  after(async function () {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('the shipper reports health (spool, CPU, memory) and answers commands', async () => {
    const a = issueAgent(tp);
    const spool = new DirSpool(join(root, 'spool'));
    const sh = new Shipper({
      collectorUrl: `https://localhost:${server.port}`,
      agentId: a.agentId,
      credentials: () => a,
      spool,
      heartbeatMs: 100,
      health: healthReporter({ spool: { stats: () => ({ files: spool.list().length, bytes: 0, droppedDumps: 3 }) }, capture: () => ({ packetsCaptured: 1234, packetsDropped: 5 }) }),
      onCommand: async (id, command) => ({ ok: true, result: { echo: command, id } }),
    });
    sh.start();
    try {
      await waitFor(() => beats.includes(a.agentId), 5000, 'a heartbeat');
      // what the operators' API serves as GET /v1/transport/agents; the plain ops port has no agent details
      assert.equal((await fetch(`http://127.0.0.1:${server.opsPort}/agents`)).status, 404);
      const agents = server.agentSummaries() as Array<{ agentId: string; connected: boolean; health: Record<string, number> }>;
      const me = agents.find((x) => x.agentId === a.agentId)!;
      assert.equal(me.connected, true);
      assert.equal(me.health.packetsCaptured, 1234);
      assert.equal(me.health.spoolDropped, 3);
      assert.ok(me.health.rssBytes! > 1_000_000);
      assert.equal(typeof me.health.cpuPercent, 'number');
      assert.equal(server.sendCommand('other-org', a.agentId, 'c-0', { kind: 'inventory' }), false, 'an agent is reached only through its own organisation');
      assert.equal(server.sendCommand('default', a.agentId, 'c-1', { kind: 'inventory' }), true);
      await waitFor(() => results.length === 1, 5000, 'command result');
      assert.deepEqual(results[0], { agentId: a.agentId, id: 'c-1', ok: true, result: { echo: { kind: 'inventory' }, id: 'c-1' } });
      assert.equal(server.sendCommand('default', randomUUID(), 'c-2', {}), false, 'unknown agent: not sent');
    } finally {
      await sh.stop();
    }
  });
});
