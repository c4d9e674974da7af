import assert from 'node:assert/strict';
import { rmSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Shipper } from '../../../agent/transport/shipper.js';
import { MemSpool, issueAgent, makeDump, makeTestPki, metricFromText, storedDumps, tmpDir, waitFor } from '../../helpers/transport-rig.js';
import { freePort, spawnFixture, waitExit, waitHttpOk } from '../../helpers/processes.js';

const AGENTS = Number(process.env.MEERKAT_LOAD_AGENTS ?? 500);
const DUMPS_PER_AGENT = 4;
const PACKETS_PER_DUMP = 400;

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

describe(`transport: ${AGENTS} simulated agents on one collector`, function () {
  // 27 s on a quiet CI machine, over 60 s on a loaded one: the test is about losses and memory,
  // not speed (bench/ingest-bench.ts measures that), so it gets room
  this.timeout(180_000);
  it('every dump of every agent is stored once, memory stays bounded; prints throughput', async function () {
    const root = tmpDir('load');
    const stateDir = join(root, 'state');
    const tp = makeTestPki(root, undefined, undefined, { stateDir });
    const port = await freePort();
    const opsPort = await freePort();
    const cfgFile = join(root, 'collector.json');
    writeFileSync(cfgFile, JSON.stringify({ stateDir, pkiDir: tp.dir, listen: `127.0.0.1:${port}`, ops: `127.0.0.1:${opsPort}`, api: 'off', logLevel: 'warn' }));
    let collector: ChildProcess | undefined;
    const shippers: Shipper[] = [];
    // stopped in `finally` too: left running after a failure it would read the killed
    // collector's /proc entry and throw into whatever test runs next
    let sampler: NodeJS.Timeout | undefined;
    try {
      // certificates: one shared 2048-bit key, a distinct certificate (and agent id) per agent
      let t = Date.now();
      const creds = Array.from({ length: AGENTS }, () => issueAgent(tp));
      const certMs = Date.now() - t;
      t = Date.now();
      let packetsIn = 0;
      const spools = creds.map((c, i) => {
        const s = new MemSpool();
        for (let q = 1; q <= DUMPS_PER_AGENT; q++) {
          s.dumps.set(q, makeDump(c.agentId, q, (i * 7 + q * 131) % 1793, PACKETS_PER_DUMP));
          packetsIn += PACKETS_PER_DUMP;
        }
        return s;
      });
      const dumpMs = Date.now() - t;
      const bytesIn = spools.reduce((s, sp) => s + [...sp.dumps.values()].reduce((a, d) => a + d.length, 0), 0);

      collector = spawnFixture('cli', ['meerkat-collector', 'run', '--config', cfgFile]);
      let stderr = '';
      collector.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
      await waitHttpOk(`http://127.0.0.1:${opsPort}/healthz`, 20_000, collector, () => stderr);
      const rssIdle = rssOf(collector.pid!);
      let rssPeak = rssIdle;
      sampler = setInterval(() => { rssPeak = Math.max(rssPeak, rssOf(collector!.pid!)); }, 100);

      t = Date.now();
      let remaining = AGENTS * DUMPS_PER_AGENT;
      creds.forEach((c, i) => {
        const sh = new Shipper({ collectorUrl: `https://localhost:${port}`, agentId: c.agentId, credentials: () => c, spool: spools[i]!, window: 2, backoff: { initialMs: 200, maxMs: 2000 } });
        sh.on('ack', () => { remaining--; });
        shippers.push(sh);
        sh.start();
      });
      await waitFor(() => remaining <= 0, 150_000, `all uploads acked (${remaining} left)`);
      const wallMs = Date.now() - t;
      clearInterval(sampler);
      const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
      const connected = metricFromText(metrics, 'meerkat_collector_agents_connected');
      const cpuSec = metricFromText(metrics, 'process_cpu_seconds_total');
      await Promise.all(shippers.map((s) => s.stop()));
      collector.kill('SIGTERM');
      assert.equal(await waitExit(collector, 30_000), 0, stderr);
      collector = undefined;

      const stored = storedDumps(stateDir);
      const totals = { dumps: stored.length, packets: stored.reduce((s, r) => s + r.packetCount, 0) };
      assert.equal(totals.dumps, AGENTS * DUMPS_PER_AGENT);
      assert.equal(totals.packets, packetsIn);
      assert.ok(spools.every((s) => s.dumps.size === 0));
      assert.equal(connected, AGENTS, 'all agents were connected at once');
      // bounded: the collector's resident memory for 500 live TLS+WebSocket agents stays modest
      assert.ok(rssPeak < 600 * 1024 * 1024, `collector RSS peaked at ${(rssPeak / 1048576).toFixed(0)} MiB`);
      const dumps = AGENTS * DUMPS_PER_AGENT;
      process.stderr.write(
        `      (${AGENTS} agents, ${dumps} dumps, ${packetsIn} packets, ${(bytesIn / 1048576).toFixed(1)} MiB in ${(wallMs / 1000).toFixed(1)} s incl. ${AGENTS} TLS handshakes: ` +
          `${(dumps / (wallMs / 1000)).toFixed(0)} dumps/s, ${(packetsIn / (wallMs / 1000)).toFixed(0)} packets/s; collector CPU ${cpuSec.toFixed(1)} s; ` +
          `RSS idle ${(rssIdle / 1048576).toFixed(0)} MiB, peak ${(rssPeak / 1048576).toFixed(0)} MiB; certs ${certMs} ms, dumps built ${dumpMs} ms)\n`,
      );
    } finally {
      clearInterval(sampler);
      await Promise.all(shippers.map((s) => s.stop()));
      if (collector && collector.exitCode === null) collector.kill('SIGKILL');
      rmSync(root, { recursive: true, force: true });
    }
  });
});
