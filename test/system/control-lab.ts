// The whole remote-control path as real processes in network namespaces, for the end-to-end
// tests: the collector (`meerkat-collector run`, or the rogue fixture) in "collector", the agent
// (`meerkat-agent run`, under its own UTS namespace with a unique host name) in "host", traffic
// servers in "peer1"/"peer2", and the console (`meerkat ...`) run in "collector" against the
// operators' API on that namespace's loopback. Owner keys, PKI, operator certificate and signing key
// are created with the real CLIs.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, copyFileSync, chmodSync, createWriteStream, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { agentProgramArgs, collectorProgramArgs, nodeScriptArgs } from '../helpers/node-script.js';
import { createNetnsLab, type NetnsLab, type Role } from './netns-lab.js';
import { decodeDump, type DumpHeader } from '../../shared/dump/index.js';
import { RecordFlag, type PacketRecord } from '../../shared/packet/packet-record.js';

const here = import.meta.url;
export const CLI = {
  meerkat: nodeScriptArgs('../../console/cli', here),
  agent: agentProgramArgs(),
  collector: collectorProgramArgs(),
  probe: nodeScriptArgs('./fixtures/net-probe', here),
  rogue: nodeScriptArgs('./fixtures/rogue-collector', here),
  adminSession: nodeScriptArgs('./fixtures/admin-session', here),
};

/** the operators' API as the console in the collector namespace reaches it (collector.json's `api`) */
const API = 'https://127.0.0.1:9470';

export const TCP_PORT = 7000;
export const UDP_PORT = 7001;

export interface RunResult { code: number | null; stdout: string; stderr: string }

function waitLine(child: ChildProcess, pred: (line: string) => boolean, timeoutMs: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const t = setTimeout(() => { rl.close(); reject(new Error(`${what}: no expected output within ${timeoutMs} ms`)); }, timeoutMs);
    rl.on('line', (l) => {
      if (pred(l)) { clearTimeout(t); rl.close(); resolve(l); }
    });
    child.once('exit', (code) => { clearTimeout(t); reject(new Error(`${what} exited (${code}) before it was ready`)); });
  });
}

/** One JSON request at a time to a JSON-lines fixture: a net-probe client, an admin session. */
export class ProbeClient {
  private lines: string[] = [];
  private waiters: { answer: (l: string) => void; fail: (e: Error) => void }[] = [];
  private ended: Error | null = null;
  constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      if (l === 'ready') return;
      const w = this.waiters.shift();
      if (w) w.answer(l);
      else this.lines.push(l);
    });
    // a request to a fixture that died fails instead of waiting for the test's timeout
    child.once('exit', (code, signal) => {
      this.ended = new Error(`${child.spawnargs.join(' ')} exited (${code ?? signal})`);
      for (const w of this.waiters.splice(0)) w.fail(this.ended);
    });
  }

  request<T = { ok: boolean; error?: string; bytes?: number; seconds?: number; ms?: number }>(req: Record<string, unknown>): Promise<T> {
    return new Promise((resolve, reject) => {
      if (this.ended) return reject(this.ended);
      this.waiters.push({ answer: (l) => resolve(JSON.parse(l) as T), fail: reject });
      this.child.stdin!.write(JSON.stringify(req) + '\n');
    });
  }
}

export interface StoredDump { seq: number; header: DumpHeader; records: { src: string; dst: string; srcAnon: boolean; dstAnon: boolean; payloadLen: number; kept: number; sport: number; dport: number; tsUs: number }[] }

export class ControlLab {
  readonly lab: NetnsLab;
  readonly root: string;
  readonly pki: string;
  readonly collState: string;
  readonly agentState: string;
  readonly owner: string;
  readonly operator: string;
  readonly hostname = `mkc-host-${randomBytes(4).toString('hex')}`;
  readonly collectorCfg: string;
  readonly agentCfg: string;
  agentId = '';
  collector: ChildProcess | null = null;
  collectorKind: 'cli' | 'rogue' | null = null;
  agent: ChildProcess | null = null;
  probe!: ProbeClient;
  /** the lab's own look at the API (admin-session fixture), for polling without a CLI start per look */
  private session: ProbeClient | null = null;
  private servers: ChildProcess[] = [];
  private logs: WriteStream[] = [];
  readonly collectorLog: string;
  readonly agentLog: string;

  constructor() {
    this.lab = createNetnsLab();
    this.root = mkdtempSync(join(tmpdir(), 'meerkat-control-'));
    this.pki = join(this.root, 'collector', 'pki');
    this.collState = join(this.root, 'collector');
    this.agentState = join(this.root, 'agent');
    this.owner = join(this.root, 'owner');
    this.operator = join(this.root, 'operator');
    this.collectorLog = join(this.root, 'collector.log');
    this.agentLog = join(this.root, 'agent.log');
    this.collectorCfg = join(this.root, 'collector.json');
    this.agentCfg = join(this.root, 'agent.json');
    writeFileSync(this.collectorCfg, JSON.stringify({
      stateDir: this.collState,
      listen: `${this.lab.collector.farIp}:8443`,
      ops: '127.0.0.1:9469',
      limits: { heartbeatSec: 1 }, // a new heartbeat (what the tests wait for) within a second
      api: '127.0.0.1:9470',
      logLevel: 'info',
    }));
    writeFileSync(this.agentCfg, JSON.stringify({
      stateDir: this.agentState,
      logLevel: 'info',
      capture: { interfaces: 'any' },
      // peer2's network (10.214/16) is "external": its addresses travel in the clear
      anonymize: { policy: 'internal', internalPrefixes: ['10.213.0.0/16'] },
      dump: { packetsPerDump: 20000, maxSeconds: 1, snapLen: 0 },
    }));
  }

  /** `meerkat ...` in the collector namespace, with this lab's operator and owner directories. */
  meerkat(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return this.lab.exec('collector', process.execPath, [...CLI.meerkat, ...args], opts);
  }

  /** `meerkat-collector ...` in the collector namespace, for this lab's collector (its state directory). */
  collectorCmd(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return this.lab.exec('collector', process.execPath, [...CLI.collector, ...args, '--state-dir', this.collState], opts);
  }

  /** `meerkat ...` for a remote command, adding --operator-dir. */
  remote(args: string[], timeoutMs = 60_000): Promise<RunResult> {
    return this.meerkat([...args, '--operator-dir', this.operator], { timeoutMs });
  }

  async remoteJson<T>(args: string[], timeoutMs = 60_000): Promise<{ code: number | null; json: T; stderr: string }> {
    const r = await this.remote([...args, '--json'], timeoutMs);
    let json: T;
    try {
      json = JSON.parse(r.stdout) as T;
    } catch {
      throw new Error(`meerkat ${args.join(' ')}: not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
    }
    return { code: r.code, json, stderr: r.stderr };
  }

  /** A listing's JSON lines (`meerkat agents|commands|audit --json`), one object each. */
  async remoteList<T>(args: string[], timeoutMs = 60_000): Promise<{ code: number | null; json: T[]; stderr: string }> {
    const r = await this.remote([...args, '--json'], timeoutMs);
    let json: T[];
    try {
      json = r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T);
    } catch {
      throw new Error(`meerkat ${args.join(' ')}: not JSON lines (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
    }
    return { code: r.code, json, stderr: r.stderr };
  }

  /**
   * The collector's PKI, the owner's keys, the operator alice (a user of the default organisation
   * with her certificate and signing key); the collector is not started.
   */
  async initState(): Promise<void> {
    // the collector's state changes one command at a time; the owner's and the operator's keys
    // are made beside them (other folders, other processes: the set-up waits less for node starts)
    const keys = Promise.all([
      this.meerkat(['keys', 'init', '--owner-keys', this.owner]).then((r) => must(r, 'keys init')),
      this.meerkat(['keys', 'operator-init', '--operator-dir', this.operator, '--name', 'alice']).then((r) => must(r, 'keys operator-init')),
    ]);
    keys.catch(() => undefined); // awaited below; a failure before that must not leave it unhandled
    must(await this.collectorCmd(['pki', 'init', '--ip', this.lab.collector.farIp]), 'pki init');
    // the operator is a user of the collector with a role in the default organisation, and gets a certificate naming them
    must(await this.collectorCmd(['user', 'add', 'alice', '--org', 'default', '--role', 'admin', '--cert-out', this.operator]), 'user add');
    await keys;
  }

  /** PKI, owner keys, operator credentials, enrollment of the agent, pinned operator key. */
  async setUp(): Promise<void> {
    await this.initState();
    const tok = must(await this.collectorCmd(['token', 'create']), 'token create').stdout.trim();
    await this.startCollector('cli');
    const enroll = must(await this.lab.exec('host', process.execPath, [...CLI.agent, 'enroll', '--collector', `https://${this.lab.collector.farIp}:8443`, '--token', tok, '--state-dir', this.agentState, '--json']), 'agent enroll');
    this.agentId = (JSON.parse(enroll.stdout) as { agentId: string }).agentId;
    // what the installer puts beside the identity: the owner's anon.key and box.pub, the pinned operator key
    copyFileSync(join(this.owner, 'anon.key'), join(this.agentState, 'anon.key'));
    chmodSync(join(this.agentState, 'anon.key'), 0o600);
    copyFileSync(join(this.owner, 'box.pub'), join(this.agentState, 'box.pub'));
    chmodSync(join(this.agentState, 'box.pub'), 0o644);
    const pinned = this.lab.exec('host', process.execPath, [...CLI.agent, 'operator-key', 'add', join(this.operator, 'op.pub'), '--state-dir', this.agentState]);
    await Promise.all([['peer1', this.lab.peer1.farIp], ['peer2', this.lab.peer2.farIp]].map(([role, ip]) => {
      const s = this.lab.spawn(role as Role, process.execPath, [...CLI.probe, 'serve', ip!, String(TCP_PORT), String(UDP_PORT)]);
      this.servers.push(s);
      return waitLine(s, (l) => l === 'ready', 20_000, `probe server in ${role}`);
    }));
    must(await pinned, 'operator-key add');
    const c = this.lab.spawn('host', process.execPath, [...CLI.probe, 'client']);
    this.servers.push(c);
    this.probe = new ProbeClient(c);
    await this.startAgent();
  }

  private logTo(child: ChildProcess, file: string): void {
    const out = createWriteStream(file, { flags: 'a' });
    this.logs.push(out);
    child.stderr!.pipe(out, { end: false });
  }

  async startCollector(kind: 'cli' | 'rogue'): Promise<void> {
    const args = kind === 'cli' ? [...CLI.collector, 'run', '--config', this.collectorCfg] : [...CLI.rogue, this.collectorCfg];
    const p = this.lab.spawn('collector', process.execPath, args, { env: { ...process.env, MEERKAT_LOG_LEVEL: 'info' } });
    this.logTo(p, this.collectorLog);
    this.collector = p;
    this.collectorKind = kind;
    if (kind === 'rogue') await waitLine(p, (l) => l === 'ready', 30_000, 'rogue collector');
    else p.stdout!.resume();
    // the operators' API answers once both ports are up
    const end = Date.now() + 30_000;
    for (;;) {
      const r = await this.apiGet('/v1/orgs/default/agents');
      if (r.status === 200) return;
      if (p.exitCode !== null) throw new Error(`collector exited ${p.exitCode}: ${readFileSync(this.collectorLog, 'utf8').slice(-2000)}`);
      if (Date.now() > end) throw new Error(`collector API not up: ${JSON.stringify(r)}`);
      await sleep(100);
    }
  }

  /**
   * A raw request to the operators' API as this lab's operator (bypassing the console's checks),
   * through one long-lived client in the collector namespace (admin-session fixture, started on
   * first use; it outlives collector restarts). Status 0: the API could not be reached.
   */
  api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body?: T; command?: T; error?: string; message?: string }> {
    if (!this.session) {
      const s = this.lab.spawn('collector', process.execPath, [...CLI.adminSession, this.operator, API]);
      this.servers.push(s);
      this.session = new ProbeClient(s);
    }
    return this.session.request({ method, path, ...(body === undefined ? {} : { body }) });
  }

  apiGet<T>(path: string): Promise<{ status: number; body?: T; error?: string; message?: string }> {
    return this.api<T>('GET', path);
  }

  /** Sends a raw command through the rogue collector's back door. */
  async inject(id: string, command: unknown, agentId = this.agentId): Promise<boolean> {
    if (this.collectorKind !== 'rogue' || !this.collector) throw new Error('inject needs the rogue collector');
    const p = this.collector;
    const line = waitLine(p, (l) => l.startsWith('{"sent"'), 10_000, 'inject');
    p.stdin!.write(JSON.stringify({ agentId, id, command }) + '\n');
    return (JSON.parse(await line) as { sent: boolean }).sent;
  }

  async stopCollector(): Promise<void> {
    const p = this.collector;
    if (!p) return;
    this.collector = null;
    await stopChild(p);
  }

  async startAgent(): Promise<void> {
    const script = `hostname ${this.hostname} && exec "$0" "$@"`;
    const p = this.lab.spawn('host', 'unshare', ['--uts', 'sh', '-c', script, process.execPath, ...CLI.agent, 'run', '--config', this.agentCfg], { env: { ...process.env, MEERKAT_LOG_LEVEL: 'info' } });
    this.logTo(p, this.agentLog);
    p.stdout!.resume();
    this.agent = p;
    await this.waitOnline();
  }

  async stopAgent(): Promise<void> {
    const p = this.agent;
    if (!p) return;
    this.agent = null;
    await stopChild(p);
  }

  /** Until the collector lists the agent online with a heartbeat newer than `sinceMs`. */
  async waitOnline(sinceMs = Date.now(), timeoutMs = 40_000): Promise<AgentEntry> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const a = await this.agentEntry();
      if (a?.online && a.health && a.lastSeen && Date.parse(a.lastSeen) >= sinceMs && typeof a.health.uptimeSec === 'number') {
        const hb = await this.nextHeartbeat(sinceMs);
        return hb;
      }
      if (this.agent && this.agent.exitCode !== null) throw new Error(`agent exited ${this.agent.exitCode}: ${readFileSync(this.agentLog, 'utf8').slice(-3000)}`);
      if (Date.now() > end) throw new Error(`agent not online within ${timeoutMs} ms: ${JSON.stringify(a)}\n${readFileSync(this.agentLog, 'utf8').slice(-3000)}`);
      await sleep(150);
    }
  }

  /** The agent as the operators' API lists it (GET /v1/orgs/default/agents, what `meerkat agents` shows). */
  async agentEntry(): Promise<AgentEntry | undefined> {
    const r = await this.apiGet<{ agents: AgentEntry[] }>('/v1/orgs/default/agents');
    if (r.status === 0) return undefined; // not reachable this moment (a collector restart): the callers look again
    if (r.status !== 200) throw new Error(`GET /v1/orgs/default/agents: ${JSON.stringify(r)}`);
    return r.body!.agents.find((a) => a.agentId === this.agentId);
  }

  /** A heartbeat sent after `sinceMs` (uptime tells heartbeats apart). */
  async nextHeartbeat(sinceMs: number, timeoutMs = 20_000): Promise<AgentEntry> {
    const end = Date.now() + timeoutMs;
    const firstUptime = (await this.agentEntry())?.health?.uptimeSec as number | undefined;
    for (;;) {
      const a = await this.agentEntry();
      const up = a?.health?.uptimeSec as number | undefined;
      if (a && up !== undefined && (firstUptime === undefined || up !== firstUptime) && Date.now() - sinceMs > 0) return a;
      if (Date.now() > end) throw new Error('no new heartbeat');
      await sleep(150);
    }
  }

  /** Dumps the collector has stored for the agent with sequence > after. */
  dumps(after = -1): StoredDump[] {
    const dir = join(this.collState, 'orgs', 'default', 'dumps', this.agentId);
    let files: string[] = [];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.mkd'));
    } catch {
      return [];
    }
    const out: StoredDump[] = [];
    for (const f of files.sort()) {
      const seq = Number(f.slice(0, -4));
      if (seq <= after) continue;
      const d = decodeDump(readFileSync(join(dir, f)));
      const records: StoredDump['records'] = [];
      d.forEach((r: PacketRecord) => {
        if (r.ipVersion !== 4) return;
        records.push({
          src: `${r.src[0]}.${r.src[1]}.${r.src[2]}.${r.src[3]}`, dst: `${r.dst[0]}.${r.dst[1]}.${r.dst[2]}.${r.dst[3]}`,
          srcAnon: (r.flags & RecordFlag.SrcAnon) !== 0, dstAnon: (r.flags & RecordFlag.DstAnon) !== 0,
          payloadLen: r.payloadLen, kept: r.payload.length, sport: r.sport, dport: r.dport, tsUs: r.tsUs,
        });
      });
      out.push({ seq, header: d.header, records });
    }
    return out;
  }

  lastDumpSeq(): number {
    const d = this.dumps();
    return d.length ? d[d.length - 1]!.seq : -1;
  }

  async nft(): Promise<string> {
    return (await this.lab.exec('host', 'nft', ['list', 'tables'])).stdout;
  }

  async destroy(): Promise<void> {
    await this.stopAgent().catch(() => undefined);
    await this.stopCollector().catch(() => undefined);
    for (const s of this.servers) s.kill('SIGKILL');
    for (const l of this.logs) l.end();
    this.lab.destroy();
    if (!process.env.MEERKAT_KEEP_TEST_DIRS) rmSync(this.root, { recursive: true, force: true });
  }

  spawnIn(role: Role, cmd: string, args: string[]): ChildProcess {
    return this.lab.spawn(role, cmd, args);
  }
}

export interface AgentEntry {
  agentId: string;
  online: boolean;
  lastSeen: string | null;
  version: string | null;
  health: Record<string, unknown> & {
    control?: { snapLen: number; dump: { packets: number; seconds: number }; capture: string; shipping: string; peerCapture: unknown[] };
    interdiction?: { mode: string; active: string[]; verified: boolean; unavailable?: string };
  } | null;
}

function must(r: RunResult, what: string): RunResult {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stdout}\n${r.stderr}`);
  return r;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function stopChild(p: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
    p.once('exit', () => { clearTimeout(t); resolve(); });
    p.kill('SIGTERM');
  });
}
