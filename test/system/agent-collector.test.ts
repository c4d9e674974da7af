// The real programs end to end, across network namespaces: `meerkat-collector run` in one
// namespace, `meerkat-agent run` capturing live traffic in another, enrollment with a
// token, and faults on the path between them. Each scenario ends with a count check:
// packets the agent kept == packets the collector stored (+ what the spool reported
// dropping), every dump stored once.
import assert from 'node:assert/strict';
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createNetnsPair, destroyNetnsPair, netnsAvailable, netnsExec, netnsSpawn, type NetnsPair } from '../helpers/netns.js';
import { agentProgramArgs, collectorProgramArgs, nodeScriptArgs, shippedAgentLauncher } from '../helpers/node-script.js';
import { skipBecause } from '../helpers/skip.js';

const agentCli = (): string[] => agentProgramArgs();
const collectorCli = (): string[] => collectorProgramArgs();
const consoleCli = (): string[] => nodeScriptArgs('../../console/cli', import.meta.url);
/** The agent as it ships (bundle through its launcher), built by `npm run build`; absent in a source-only run. */
const shippedLauncher = shippedAgentLauncher();

const execFileAsync = promisify(execFile);

/** `node args...` to completion (rejects with its stderr when it fails). */
async function run(args: string[]): Promise<string> {
  try {
    return (await execFileAsync(process.execPath, args, { encoding: 'utf8', maxBuffer: 16 << 20 })).stdout;
  } catch (e) {
    const x = e as { code?: number; stderr?: string };
    throw new Error(`${args.join(' ')} failed (${x.code}): ${x.stderr}`);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (cond()) return;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function exited(p: ChildProcess): Promise<number | null> {
  return p.exitCode !== null ? Promise.resolve(p.exitCode) : new Promise((r) => p.once('exit', (code) => r(code)));
}

interface AgentStatus {
  capture: { packetsKept: number; dumps: number };
  spool: { files: number; droppedPackets: number; droppedDumps: number };
  shipper: { connected: boolean; acked: number };
}

/** HTTP server in the collector's namespace that answers with incompressible bytes. */
const PEER_SERVER = `require('http').createServer((q,s)=>s.end(require('crypto').randomBytes(+(q.url.slice(1))||200))).listen(8080, process.argv[1]);`;
/** Client in the agent's namespace: one request every 20 ms until killed. */
const PEER_CLIENT = `const [h,n]=process.argv.slice(1);const http=require('http');setInterval(()=>http.get({host:h,port:8080,path:'/'+n,agent:false},r=>r.resume()).on('error',()=>{}),20);`;

class Rig {
  dir = mkdtempSync(join(tmpdir(), 'meerkat-system-'));
  pair: NetnsPair = createNetnsPair();
  collector?: ChildProcess;
  agent?: ChildProcess;
  traffic?: ChildProcess;
  agentId = '';
  logs = { collector: '', agent: '' };

  /** @param shipped run the shipped agent through its launcher instead of node on the bundle (the compiled modules in a source-only run) */
  constructor(readonly shipped = false) {}

  /** How the agent is started: [program, ...leading args]. */
  agentCommand(): [string, ...string[]] {
    return this.shipped ? [shippedLauncher] : [process.execPath, ...agentCli()];
  }

  get colDir(): string { return join(this.dir, 'collector'); }
  get agentDir(): string { return join(this.dir, 'agent'); }
  /** the default organisation's database (the one organisation of this rig) */
  get db(): string { return join(this.colDir, 'orgs', 'default', 'meerkat.db'); }

  async start(agentConfig: Record<string, unknown>): Promise<void> {
    const { ipB } = this.pair;
    // the owner's keys are made beside the collector's state (another folder, another process)
    const keys = run([...consoleCli(), 'keys', 'init', '--owner-keys', join(this.dir, 'owner')]);
    keys.catch(() => undefined); // awaited below; a failure before that must not leave it unhandled
    await run([...collectorCli(), 'pki', 'init', '--state-dir', this.colDir, '--ip', ipB]);
    const token = (JSON.parse(await run([...collectorCli(), 'token', 'create', '--state-dir', this.colDir, '--json'])) as { token: string }).token;
    await keys;
    writeFileSync(join(this.dir, 'collector.json'), JSON.stringify({ stateDir: this.colDir, listen: `${ipB}:8443`, ops: '127.0.0.1:9469', limits: { heartbeatSec: 1 } }));
    this.collector = netnsSpawn(this.pair.nsB, process.execPath, [...collectorCli(), 'run', '--config', join(this.dir, 'collector.json')]);
    this.collector.stderr!.setEncoding('utf8').on('data', (s: string) => { this.logs.collector += s; });
    await waitFor('the collector to listen', () => this.logs.collector.includes('collector listening'), 30_000);
    netnsSpawn(this.pair.nsB, process.execPath, ['-e', PEER_SERVER, ipB]);
    const [agentProgram, ...agentPre] = this.agentCommand();
    const enrolled = await netnsExec(this.pair.nsA, agentProgram, [...agentPre, 'enroll', '--collector', `https://${ipB}:8443`, '--token', token, '--state-dir', this.agentDir, '--json']);
    assert.equal(enrolled.code, 0, enrolled.stderr);
    this.agentId = (JSON.parse(enrolled.stdout) as { agentId: string }).agentId;
    writeFileSync(join(this.agentDir, 'anon.key'), readFileSync(join(this.dir, 'owner', 'anon.key')), { mode: 0o600 });
    writeFileSync(join(this.dir, 'agent.json'), JSON.stringify({ stateDir: this.agentDir, ...agentConfig }));
    this.agent = netnsSpawn(this.pair.nsA, agentProgram, [...agentPre, 'run', '--config', join(this.dir, 'agent.json')], { env: { ...process.env, MEERKAT_NODE: process.execPath } });
    this.agent.stderr!.setEncoding('utf8').on('data', (s: string) => { this.logs.agent += s; });
    await waitFor('the agent to connect', () => this.logs.agent.includes('connected to collector'), 30_000);
    if (this.shipped) {
      // the launcher exec'd node on the bundle with the service's settings (same pid)
      const cmdline = readFileSync(`/proc/${this.agent.pid}/cmdline`, 'utf8').split('\0');
      assert.ok(cmdline.some((a) => a.endsWith('agent-bundle/meerkat-agent.js')) && cmdline.includes('--v8-pool-size=1') && !cmdline.includes('--lite-mode'), cmdline.join(' '));
      assert.match(this.logs.agent, /"profile":"fast"/, 'the service says it runs in the fast profile');
      // and its status says so, for the operator and for scripts
      const env = { ...process.env, MEERKAT_NODE: process.execPath };
      const text = execFileSync(shippedLauncher, ['status', '--state-dir', this.agentDir], { encoding: 'utf8', env });
      assert.match(text, /^runtime: fast profile, node v\d+\.\d+\.\d+; memory: RSS \d+\.\d MB, V8 heap/m, text);
      const json = JSON.parse(execFileSync(shippedLauncher, ['status', '--state-dir', this.agentDir, '--json'], { encoding: 'utf8', env })) as { runtime: { profile: string } };
      assert.equal(json.runtime.profile, 'fast');
      assert.ok(readFileSync(`/proc/${this.agent.pid}/environ`, 'utf8').split('\0').includes('MALLOC_ARENA_MAX=1'));
    }
  }

  startTraffic(responseBytes: number): void {
    this.traffic = netnsSpawn(this.pair.nsA, process.execPath, ['-e', PEER_CLIENT, this.pair.ipB, String(responseBytes)]);
  }

  stopTraffic(): void {
    this.traffic?.kill('SIGKILL');
  }

  status(): AgentStatus {
    return JSON.parse(readFileSync(join(this.agentDir, 'status.json'), 'utf8')) as AgentStatus;
  }

  /** Black-holes the collector's port in its namespace (the path dies silently, as a lost network does). */
  async cut(on: boolean): Promise<void> {
    const script = on
      ? 'table inet mk_cut {\n chain in {\n type filter hook input priority -10;\n tcp dport 8443 drop\n }\n}\n'
      : 'delete table inet mk_cut';
    const r = await netnsExec(this.pair.nsB, 'nft', ['-f', '-'], { input: script });
    assert.equal(r.code, 0, r.stderr);
  }

  async stopAgent(): Promise<void> {
    this.agent!.kill('SIGINT');
    assert.equal(await exited(this.agent!), 0, this.logs.agent.slice(-2000));
  }

  stored(): { packets: number; dumps: number; uniq: number } {
    const db = new Database(this.db, { readonly: true });
    try {
      return db.prepare('SELECT COALESCE(SUM(packet_count),0) AS packets, COUNT(*) AS dumps, COUNT(DISTINCT sequence) AS uniq FROM dumps WHERE agent_id = ?').get(this.agentId) as { packets: number; dumps: number; uniq: number };
    } finally {
      db.close();
    }
  }

  async close(): Promise<void> {
    for (const p of [this.traffic, this.agent, this.collector]) if (p && p.exitCode === null) p.kill('SIGKILL');
    destroyNetnsPair(this.pair);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('system: meerkat-agent run -> meerkat-collector run across namespaces', function () {
  this.timeout(180_000);
  before(function () {
    if (!netnsAvailable()) skipBecause(this, 'needs root and iproute2 network namespaces (CI runs as root)');
  });

  // the shipped agent (bundle through its launcher) when built, so the artifact installers
  // carry is the one proven end to end; the compiled modules in a source-only run
  it('network to the collector cut for several dump periods: everything arrives once afterwards', async function () {
    const rig = new Rig(existsSync(shippedLauncher) && !import.meta.url.endsWith('.ts'));
    try {
      await rig.start({ dump: { maxSeconds: 1 }, capture: { interfaces: 'any' } });
      rig.startTraffic(300);
      await sleep(3000);
      await rig.cut(true);
      await sleep(6000); // six dump periods with no way to the collector
      const during = rig.status();
      assert.ok(during.spool.files >= 3, `dumps wait in the spool while the network is cut (${during.spool.files})`);
      await rig.cut(false);
      await waitFor('the spool to drain after the network came back', () => rig.status().spool.files === 0 && rig.status().shipper.connected, 60_000);
      rig.stopTraffic();
      await sleep(1500);
      await rig.stopAgent();
      const st = rig.status();
      const stored = rig.stored();
      assert.equal(st.spool.files, 0, 'nothing left behind');
      assert.equal(st.spool.droppedPackets, 0);
      assert.ok(st.capture.packetsKept > 500, `captured real traffic (${st.capture.packetsKept} packets)`);
      assert.equal(stored.packets, st.capture.packetsKept, 'packets kept by the agent == packets stored by the collector');
      assert.equal(stored.dumps, stored.uniq, 'no dump stored twice');
      assert.equal(stored.dumps, st.capture.dumps);
    } finally {
      await rig.close();
    }
  });

  it('spool filled past its limit while cut off: the loss is counted and reported, nothing else is lost', async function () {
    const rig = new Rig();
    try {
      // 1 MiB spool, full payload: 20 KB of random bytes per response fills it in seconds
      await rig.start({ dump: { maxSeconds: 1, snapLen: 65535 }, spool: { maxBytes: 1 << 20 }, capture: { interfaces: 'any' } });
      await rig.cut(true);
      rig.startTraffic(20_000);
      await waitFor('the spool to drop its oldest dumps', () => rig.status().spool.droppedDumps > 0, 60_000);
      rig.stopTraffic();
      await sleep(1500);
      await rig.cut(false);
      await waitFor('the spool to drain', () => rig.status().spool.files === 0 && rig.status().shipper.connected, 60_000);
      await rig.stopAgent();
      const st = rig.status();
      const stored = rig.stored();
      assert.ok(st.spool.droppedPackets > 0);
      assert.equal(stored.packets + st.spool.droppedPackets, st.capture.packetsKept, 'stored + reported dropped == kept');
      assert.equal(stored.dumps + st.spool.droppedDumps, st.capture.dumps);
      assert.equal(stored.dumps, stored.uniq);
    } finally {
      await rig.close();
    }
  });
});
