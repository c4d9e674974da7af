import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { CollectorServer } from '../../../collector/server/collector-server.js';
import { issueAgent, makeDump, makeTestPki, metricFromText, tmpDir, type TestPki, startTestCollector } from '../../helpers/transport-rig.js';
import { RawAgent } from '../../helpers/raw-agent.js';

describe('transport: one agent flooding cannot starve the others', function () {
  let root: string;
  let tp: TestPki;
  let server: CollectorServer;
  const RATE = 200_000;
  const INFLIGHT = 256 * 1024;

  before(async function () {
    root = tmpDir('fair');
    tp = makeTestPki(root);
    server = await startTestCollector(tp, root, {
      limits: { agentRateBytesPerSec: RATE, agentBurstBytes: 100_000, agentInflightBytes: INFLIGHT },
    });
  });
  after(async function () {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('the flooder is held to its rate and in-flight limit while a polite agent is served promptly', async () => {
    const flooder = issueAgent(tp);
    const polite = issueAgent(tp);
    const f = await RawAgent.connect(server.port, flooder);
    await f.next('welcome');
    const big = Array.from({ length: 120 }, (_, i) => makeDump(flooder.agentId, i + 1, i * 13, 1793, 1500));
    const floodBytes = big.reduce((s, d) => s + d.length, 0);
    const t0 = Date.now();
    // ignores the window: everything at once
    big.forEach((d, i) => f.upload(i + 1, d));
    let floodAcks = 0;
    f.ws.on('message', (m: Buffer) => { if (m.toString().includes('"ack"')) floodAcks++; });

    const p = await RawAgent.connect(server.port, polite);
    await p.next('welcome');
    const latencies: number[] = [];
    let maxInflight = 0;
    for (let s = 1; s <= 12; s++) {
      const d = makeDump(polite.agentId, s, s * 50, 300);
      const t = Date.now();
      p.upload(s, d);
      assert.equal((await p.next('ack')).seq, s);
      latencies.push(Date.now() - t);
      const m = await (await fetch(`http://127.0.0.1:${server.opsPort}/metrics`)).text();
      maxInflight = Math.max(maxInflight, metricFromText(m, 'meerkat_collector_inflight_bytes'));
      await new Promise((r) => setTimeout(r, 50));
    }
    const elapsed = (Date.now() - t0) / 1000;
    // the flooder got no more than its rate allows (+ burst + one dump of slack)
    const floodedBytes = big.slice(0, floodAcks).reduce((s, d) => s + d.length, 0);
    assert.ok(floodedBytes <= RATE * elapsed + 100_000 + 30_000, `flooder stored ${floodedBytes} B in ${elapsed.toFixed(1)} s`);
    assert.ok(floodAcks < big.length, 'the flood was still being throttled');
    latencies.sort((a, b) => a - b);
    assert.ok(latencies[latencies.length - 1]! < 1000, `polite agent latencies ${latencies.join(',')} ms`);
    // received-but-unfinished bytes stay near the per-agent limit (the flooder's socket is paused)
    assert.ok(maxInflight <= INFLIGHT + 2 * 30_000 + 64 * 1024, `in-flight bytes peaked at ${maxInflight}`);
    process.stderr.write(`      (flood ${floodBytes} B offered, ${floodedBytes} B stored in ${elapsed.toFixed(1)} s; polite p50 ${latencies[6]} ms, max ${latencies[11]} ms; in-flight peak ${maxInflight} B)\n`);
    f.close();
    p.close();
  });
});
