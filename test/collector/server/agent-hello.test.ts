// The agent's hello comes first, over real mutual TLS: a connection whose hello names another
// agent id (or no hello at all, or an upload first) is refused with an error and close 4002
// before any welcome, and neither its own agent's live connection nor the named agent's is
// replaced.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { checkHello } from '../../../collector/server/agent-hello.js';
import type { CollectorServer } from '../../../collector/server/collector-server.js';
import { issueAgent, makeDump, makeTestPki, metricFromText, startTestCollector, tmpDir, type TestPki } from '../../helpers/transport-rig.js';
import { RawAgent } from '../../helpers/raw-agent.js';

describe('agent hello: refused before welcome, replaces nothing', function () {
  let root: string;
  let tp: TestPki;
  let server: CollectorServer;

  before(async () => {
    root = tmpDir('hello');
    tp = makeTestPki(root);
    server = await startTestCollector(tp, root, { limits: { handshakeTimeoutSec: 1 } });
  });
  after(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  async function counted(reason: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${server.opsPort}/metrics`)).text();
    return metricFromText(text, 'meerkat_collector_refusals_total', { reason });
  }

  /** Every message the collector sent on a connection until it closed. */
  async function untilClosed(a: RawAgent): Promise<{ types: string[]; code: number; error?: { code: string; reason: string } }> {
    const closed = await a.waitClosed(5000);
    const types: string[] = [];
    let error: { code: string; reason: string } | undefined;
    for (;;) {
      try {
        const m = await a.next(undefined, 1);
        types.push(m.type);
        if (m.type === 'error') error = { code: m.code, reason: m.reason };
      } catch {
        break;
      }
    }
    return { types, code: closed.code, ...(error ? { error } : {}) };
  }

  it('a hello naming another agent: error identity, close 4002, no welcome; both agents\' live connections stay', async () => {
    const a = issueAgent(tp);
    const b = issueAgent(tp);
    const liveA = await RawAgent.connect(server.port, a);
    await liveA.next('welcome');
    const liveB = await RawAgent.connect(server.port, b);
    await liveB.next('welcome');
    const before = await counted('bad-hello');

    // A's certificate, B's name
    const liar = await RawAgent.connect(server.port, a, {}, b.agentId);
    const got = await untilClosed(liar);
    assert.equal(got.code, 4002);
    assert.deepEqual(got.types, ['error'], 'no welcome before the refusal');
    assert.equal(got.error?.code, 'identity');
    assert.match(got.error!.reason, new RegExp(`hello names agent ${b.agentId}, certificate names ${a.agentId}`));
    assert.equal(await counted('bad-hello'), before + 1);

    // nothing was replaced: both live connections still upload and get acks
    assert.equal(liveA.closed, null);
    assert.equal(liveB.closed, null);
    liveA.upload(1, makeDump(a.agentId, 1, 0, 20));
    assert.equal((await liveA.next('ack')).seq, 1);
    liveB.upload(1, makeDump(b.agentId, 1, 20, 20));
    assert.equal((await liveB.next('ack')).seq, 1);
    assert.deepEqual(server.connectedAgents().sort(), [a.agentId, b.agentId].sort());
    liveA.close();
    liveB.close();
  });

  it('an upload before hello, or no hello at all, is refused the same way', async () => {
    const a = issueAgent(tp);
    const eager = await RawAgent.connect(server.port, a, {}, false);
    eager.upload(1, makeDump(a.agentId, 1, 0, 20));
    const g1 = await untilClosed(eager);
    assert.equal(g1.code, 4002);
    assert.deepEqual(g1.types, ['error']);
    assert.match(g1.error!.reason, /before hello/);

    const before = await counted('timeout');
    const t0 = Date.now();
    const silent = await RawAgent.connect(server.port, a, {}, false);
    const g2 = await untilClosed(silent);
    const waited = Date.now() - t0;
    assert.equal(g2.code, 4002);
    assert.deepEqual(g2.types, ['error']);
    assert.equal(g2.error?.code, 'hello-timeout');
    assert.ok(waited >= 900 && waited < 4000, `closed after ${waited} ms (limit 1 s)`);
    assert.equal(await counted('timeout'), before + 1);
    assert.deepEqual(server.connectedAgents(), []);
  });

  it('checkHello: version, identity, order', () => {
    const id = '3b1f6a52-9c1e-4d6f-8a2b-0c4d5e6f7a8b';
    assert.deepEqual(checkHello(JSON.stringify({ type: 'hello', v: 1, agentId: id }), id), { ok: true });
    assert.equal((checkHello(JSON.stringify({ type: 'hello', v: 2, agentId: id }), id) as { code: string }).code, 'version');
    assert.equal((checkHello(JSON.stringify({ type: 'hello', v: 1, agentId: id.replace('3', '4') }), id) as { code: string }).code, 'identity');
    assert.equal((checkHello(JSON.stringify({ type: 'heartbeat', ts: 1, health: {} }), id) as { code: string }).code, 'bad-message');
    assert.equal((checkHello('not json', id) as { code: string }).code, 'bad-message');
  });
});
