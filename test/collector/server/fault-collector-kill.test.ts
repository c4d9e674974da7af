import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { Shipper } from '../../../agent/transport/shipper.js';
import { decodeDump } from '../../../shared/dump/dump-reader.js';
import { DirSpool, issueAgent, makeDump, makeTestPki, orgDumpDir, storedDumps, tmpDir, waitFor, type AgentCreds } from '../../helpers/transport-rig.js';
import { freePort, waitExit, waitHttpOk } from '../../helpers/processes.js';
import { collectorProgramArgs } from '../../helpers/node-script.js';

const KILLS = 20;
const AGENTS = 6;

describe('transport: kill -9 the collector repeatedly during uploads', function () {
  it(`after ${KILLS} kills: packets in == packets stored, every dump stored once, byte-identical`, async function () {
    this.timeout(240_000); // 21 collector starts (a second or more each on a loaded machine) and the final drain
    const root = tmpDir('collkill');
    const stateDir = join(root, 'state');
    const tp = makeTestPki(root, undefined, undefined, { stateDir });
    const port = await freePort();
    const opsPort = await freePort();
    const cfgFile = join(root, 'collector.json');
    writeFileSync(cfgFile, JSON.stringify({
      stateDir,
      pkiDir: tp.dir,
      listen: `127.0.0.1:${port}`,
      ops: `127.0.0.1:${opsPort}`,
      api: 'off',
      logLevel: 'warn',
      // per-agent rate limit keeps uploads flowing through every kill
      limits: { agentRateBytesPerSec: 30_000, agentBurstBytes: 12_000 },
    }));

    const produced = new Map<string, { packets: number; sha: string }>();
    let packetsIn = 0;
    const agents: Array<{ creds: AgentCreds; spool: DirSpool; next: number; shipper: Shipper }> = [];
    let acks = 0;
    const produce = (a: (typeof agents)[number]): void => {
      const seq = a.next++;
      const n = 60 + ((seq * 37) % 140);
      const dump = makeDump(a.creds.agentId, seq, seq * 53, n);
      produced.set(`${a.creds.agentId}/${seq}`, { packets: n, sha: createHash('sha256').update(dump).digest('hex') });
      packetsIn += n;
      a.spool.put(seq, dump);
      a.shipper.notify();
    };
    for (let i = 0; i < AGENTS; i++) {
      const creds = issueAgent(tp);
      const spool = new DirSpool(join(root, `spool${i}`));
      const shipper = new Shipper({ collectorUrl: `https://localhost:${port}`, agentId: creds.agentId, credentials: () => creds, spool, window: 4, backoff: { initialMs: 50, maxMs: 300 } });
      shipper.on('ack', () => { acks++; });
      const a = { creds, spool, next: 1, shipper };
      agents.push(a);
      for (let k = 0; k < 8; k++) produce(a);
      shipper.start();
    }
    // the agents keep capturing while the collector flaps
    const producer = setInterval(() => produce(agents[Math.floor(Math.random() * AGENTS)]!), 60);

    let collector: ChildProcess | undefined;
    let stderr = '';
    const startCollector = async (): Promise<ChildProcess> => {
      stderr = '';
      // the shipped bundle: 21 starts, each half a second sooner than the compiled modules
      const p = spawn(process.execPath, [...collectorProgramArgs(), 'run', '--config', cfgFile], { env: { ...process.env, MEERKAT_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
      p.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
      await waitHttpOk(`http://127.0.0.1:${opsPort}/healthz`, 20_000, p, () => stderr);
      return p;
    };
    try {
      let killsDone = 0;
      for (let k = 0; k < KILLS; k++) {
        collector = await startCollector();
        const before = acks;
        await waitFor(() => acks > before, 20_000, 'uploads flowing after restart');
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 250)));
        collector.kill('SIGKILL');
        assert.equal(await waitExit(collector), null);
        killsDone++;
      }
      clearInterval(producer);
      collector = await startCollector();
      await waitFor(() => agents.every((a) => a.spool.list().length === 0), 90_000, 'all spools drained');
      collector.kill('SIGTERM');
      assert.equal(await waitExit(collector), 0, stderr);
      collector = undefined;
      assert.equal(killsDone, KILLS);

      const rows = storedDumps(stateDir);
      const keys = rows.map((r) => `${r.agentId}/${r.sequence}`);
      assert.equal(new Set(keys).size, rows.length, 'no duplicate rows');
      assert.deepEqual([...keys].sort(), [...produced.keys()].sort(), 'exactly the produced dumps are stored');
      const packetsStored = rows.reduce((s, r) => s + r.packetCount, 0);
      assert.equal(packetsStored, packetsIn);
      for (const r of rows) {
        const bytes = readFileSync(r.rawPath);
        assert.equal(createHash('sha256').update(bytes).digest('hex'), produced.get(`${r.agentId}/${r.sequence}`)!.sha, r.rawPath);
        assert.equal(decodeDump(bytes).packetCount, r.packetCount);
      }
      const files = agents.flatMap((a) => existsSync(join(orgDumpDir(stateDir), a.creds.agentId)) ? readdirSync(join(orgDumpDir(stateDir), a.creds.agentId)) : []);
      assert.equal(files.length, rows.length, 'one file per stored dump, no strays');
      process.stderr.write(`      (${KILLS} kills; ${rows.length} dumps, ${packetsStored} packets in = stored; ${acks} acks incl. ${acks - rows.length} re-acks of resent dumps)\n`);
    } finally {
      clearInterval(producer);
      await Promise.all(agents.map((a) => a.shipper.stop()));
      if (collector && collector.exitCode === null) collector.kill('SIGKILL');
      rmSync(root, { recursive: true, force: true });
    }
  });
});
