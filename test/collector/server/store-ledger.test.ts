import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteFlowStore } from '../../../shared/store/sqlite-flow-store.js';
import { NackCode } from '../../../shared/protocol/agent-protocol.js';
import { issueAgent, makeDump, makeTestPki, tmpDir, startTestCollector } from '../../helpers/transport-rig.js';
import { RawAgent } from '../../helpers/raw-agent.js';

describe('transport: dumps recorded in the FlowStore, with work inside the commit transaction', function () {
  it('rows land in the store; a failing in-transaction hook rolls back only its own dump', async function () {
    const root = tmpDir('store');
    const tp = makeTestPki(root);
    const store = new SqliteFlowStore(join(root, 'flows.sqlite'));
    const inTx: string[] = [];
    const after: string[] = [];
    const server = await startTestCollector(tp, root, {
      ops: false,
      store,
      onDumpCommitting: (agentId, header) => {
        // a stand-in flow engine that cannot handle dump 13
        if (header.sequence === 13) throw new Error('flow engine refused dump 13');
        inTx.push(`${agentId}/${header.sequence}`);
      },
      onDumpCommitted: (agentId, header) => { after.push(`${agentId}/${header.sequence}`); },
    });
    try {
      const agents = [issueAgent(tp), issueAgent(tp), issueAgent(tp)];
      const conns = await Promise.all(agents.map((a) => RawAgent.connect(server.port, a)));
      // all agents upload at once, so their rows share transactions (group commit)
      conns.forEach((c, i) => {
        for (const seq of [11, 12, 13]) c.upload(seq, makeDump(agents[i]!.agentId, seq, seq * 10 + i, 150));
      });
      for (const [i, c] of conns.entries()) {
        assert.deepEqual([(await c.next('ack')).seq, (await c.next('ack')).seq], [11, 12]);
        const n = await c.next('nack');
        assert.deepEqual([n.seq, n.code, n.retry], [13, NackCode.Storage, true]);
        assert.match(n.reason, /flow engine refused dump 13/);
        const a = agents[i]!;
        const d = store.getDump(a.agentId, 12)!;
        assert.equal(d.packetCount, 150);
        assert.match(d.rawPath ?? '', new RegExp(`${a.agentId}/0000000000000012\\.mkd$`));
        assert.equal(store.getDump(a.agentId, 13), null, 'rolled back with its hook');
        c.close();
      }
      assert.equal(inTx.length, 6);
      assert.deepEqual([...after].sort(), [...inTx].sort());
      assert.ok(store.listAgents().length >= 3);
    } finally {
      await server.close();
      store.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
