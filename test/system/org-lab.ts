// Two network owners on one collector, as real processes in network namespaces: the collector
// (`meerkat-collector run`) at the hub, and one endpoint per organisation - "acme" in hostA
// (10.215.X.0/24), "blue" in hostB (10.216.Y.0/24) - each running `meerkat-agent run` enrolled
// with its organisation's token, pseudonymizing its own network with its owner's key. A web
// server and a threat-listed address (10.217.Z.66, on the feed: an alert and an automatic
// response in each organisation) live in the collector's namespace. Organisations, users,
// tokens and certificates are made with the real CLIs: alice (admin of acme), bob (admin of
// blue), vic (viewer of blue), carol (collector administrator, no membership).
import { mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import { agentProgramArgs, collectorProgramArgs, nodeScriptArgs } from '../helpers/node-script.js';
import { createStarLab, type StarLab } from './netns-lab.js';
import { ProbeClient } from './control-lab.js';

const here = import.meta.url;
export const ORG_CLI = {
  meerkat: nodeScriptArgs('../../console/cli', here),
  agent: agentProgramArgs(),
  collector: collectorProgramArgs(),
  adminSession: nodeScriptArgs('./fixtures/admin-session', here),
  agentConnect: nodeScriptArgs('./fixtures/agent-connect', here),
};

export type OrgRole = 'collector' | 'hostA' | 'hostB';
export const API = 'https://127.0.0.1:9470';
const PEER_SERVER = `require('http').createServer((q,s)=>s.end('x'.repeat(+(q.url.slice(1))||200))).listen(8080,'0.0.0.0');`;
const CLIENT = `const [h,n]=process.argv.slice(1);let left=+n;const go=()=>{if(left--<=0)return;require('http').get({host:h,port:8080,path:'/300',agent:false},r=>{r.resume();r.on('end',()=>setTimeout(go,30));}).on('error',()=>setTimeout(go,30));};go();`;

export interface RunResult { code: number | null; stdout: string; stderr: string }

export interface OrgSide {
  id: string;
  role: 'hostA' | 'hostB';
  /** the collector's address on this organisation's link, and the agent's */
  collectorIp: string;
  agentIp: string;
  internal: string;
  owner: string;
  agentDir: string;
  agentId: string;
  token: string;
  agent: ChildProcess | null;
  log: string;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class OrgLab {
  readonly lab: StarLab<OrgRole>;
  readonly root = mkdtempSync(join(tmpdir(), 'meerkat-orgs-'));
  readonly state = join(this.root, 'collector');
  readonly pki = join(this.root, 'collector', 'pki');
  readonly threatIp: string;
  readonly acme: OrgSide;
  readonly blue: OrgSide;
  readonly collectorLog = join(this.root, 'collector.log');
  collector: ChildProcess | null = null;
  private readonly logs: WriteStream[] = [];
  private readonly procs: ChildProcess[] = [];
  /** each user's API client (admin-session fixture), started on first use */
  private readonly sessions = new Map<string, ProbeClient>();

  constructor() {
    const o = (): number => 1 + (randomBytes(1)[0]! % 250);
    const [a, b, c] = [o(), o(), o()];
    this.lab = createStarLab<OrgRole>({ prefix: 'mko', hub: 'collector', spokes: [{ role: 'hostA', net: `10.215.${a}` }, { role: 'hostB', net: `10.216.${b}` }] });
    this.threatIp = `10.217.${c}.66`;
    const side = (id: string, role: 'hostA' | 'hostB', internal: string): OrgSide => ({
      id, role, collectorIp: this.lab.links[role]!.hostIp, agentIp: this.lab.links[role]!.farIp, internal,
      owner: join(this.root, `owner-${id}`), agentDir: join(this.root, `agent-${id}`), agentId: '', token: '', agent: null, log: join(this.root, `agent-${id}.log`),
    });
    this.acme = side('acme', 'hostA', '10.215.0.0/16');
    this.blue = side('blue', 'hostB', '10.216.0.0/16');
  }

  opDir(user: string): string {
    return join(this.root, `op-${user}`);
  }

  orgDb(org: string): string {
    return join(this.state, 'orgs', org, 'meerkat.db');
  }

  private async must(r: Promise<RunResult>, what: string): Promise<RunResult> {
    const x = await r;
    if (x.code !== 0) throw new Error(`${what} failed (${x.code}): ${x.stdout}\n${x.stderr}`);
    return x;
  }

  /** `meerkat-collector ...` on the collector host. */
  collectorCli(args: string[], input?: string): Promise<RunResult> {
    return this.lab.exec('collector', process.execPath, [...ORG_CLI.collector, ...args, '--state-dir', this.state], input === undefined ? {} : { input });
  }

  /** `meerkat ...` as a user (their operator directory), against the collector's API. */
  meerkat(user: string, args: string[], timeoutMs = 60_000): Promise<RunResult> {
    return this.lab.exec('collector', process.execPath, [...ORG_CLI.meerkat, ...args, '--operator-dir', this.opDir(user), '--api', API], { timeoutMs });
  }

  /**
   * A raw API request as a user, bypassing the console's checks: GET, or POST/PUT with a JSON
   * body. Through the user's own long-lived client in the collector namespace (admin-session
   * fixture: a connection per request, no node start per request).
   */
  async api(user: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; error?: string; message?: string; body?: Record<string, unknown>; command?: Record<string, unknown> }> {
    let session = this.sessions.get(user);
    if (!session) {
      const p = this.lab.spawn('collector', process.execPath, [...ORG_CLI.adminSession, this.opDir(user), API]);
      this.procs.push(p);
      session = new ProbeClient(p);
      this.sessions.set(user, session);
    }
    const r = await session.request<{ status: number; error?: string; message?: string }>({ method, path, ...(method === 'POST' || method === 'PUT' ? { body: body ?? {} } : {}) });
    if (r.status === 0) throw new Error(`${method} ${path} as ${user}: ${r.message}`);
    return r;
  }

  /** A hand-made agent connection from an organisation's host (agent-connect fixture). */
  async connectAs(side: OrgSide, files: { cert: string; key: string; ca: string }, agentId: string, dump?: { file: string; seq: number }): Promise<{ result: string; refusal?: string; status?: number; answer?: { type: string; code?: string } }> {
    const r = await this.lab.exec(side.role, process.execPath, [...ORG_CLI.agentConnect, `${side.collectorIp}:8443`, files.cert, files.key, files.ca, agentId, ...(dump ? [dump.file, String(dump.seq)] : [])], { timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`agent-connect: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { result: string };
  }

  async setUp(): Promise<void> {
    const C = (args: string[]): Promise<RunResult> => this.must(this.collectorCli(args), `meerkat-collector ${args.slice(0, 3).join(' ')}`);
    const M = (args: string[]): Promise<RunResult> => this.must(this.lab.exec('collector', process.execPath, [...ORG_CLI.meerkat, ...args]), `meerkat ${args.slice(0, 2).join(' ')}`);
    // the collector's state changes one command at a time; the owners' and operators' keys are
    // made beside them (other folders, other processes: the set-up waits less for node starts)
    const ownerKeys = Promise.all([this.acme, this.blue].map((s) => M(['keys', 'init', '--owner-keys', s.owner])));
    const operatorKeys = Promise.all(['alice', 'bob', 'vic'].map((u) => M(['keys', 'operator-init', '--operator-dir', this.opDir(u), '--name', u])));
    for (const k of [ownerKeys, operatorKeys]) k.catch(() => undefined); // awaited below; a failure above must not leave them unhandled
    await C(['pki', 'init', '--ip', this.acme.collectorIp, '--ip', this.blue.collectorIp]);
    for (const s of [this.acme, this.blue]) {
      const r = JSON.parse((await C(['org', 'create', s.id, '--name', `${s.id} network`, '--token-uses', '3', '--ca-bits', '2048', '--json'])).stdout) as { token: { token: string } };
      s.token = r.token.token;
    }
    await C(['user', 'add', 'alice', '--org', 'acme', '--role', 'admin', '--cert-out', this.opDir('alice')]);
    await C(['user', 'add', 'bob', '--org', 'blue', '--role', 'admin', '--cert-out', this.opDir('bob')]);
    await C(['user', 'add', 'vic', '--org', 'blue', '--role', 'viewer', '--cert-out', this.opDir('vic')]);
    await C(['user', 'add', 'carol', '--collector-admin', '--cert-out', this.opDir('carol')]);
    await Promise.all([ownerKeys, operatorKeys]);
    const feed = join(this.root, 'feed.txt');
    writeFileSync(feed, `# the test's threat list\n${this.threatIp}\n`);
    const cfg = join(this.root, 'collector.json');
    writeFileSync(cfg, JSON.stringify({
      stateDir: this.state, listen: '0.0.0.0:8443', ops: '127.0.0.1:9469', api: '127.0.0.1:9470', logLevel: 'info',
      limits: { heartbeatSec: 1 },
      analyzers: [{ builtin: 'threat-intel', config: { feeds: [{ name: 'org-test', path: feed, severity: 'high' }] } }],
      responses: [{ category: 'threat-intel', command: { type: 'capture-full', forSec: 600 } }],
    }));
    const col = this.lab.spawn('collector', process.execPath, [...ORG_CLI.collector, 'run', '--config', cfg]);
    this.logTo(col, this.collectorLog);
    col.stdout!.resume();
    this.collector = col;
    await this.waitFor('the collector to listen', () => readFileSync(this.collectorLog, 'utf8').includes('collector listening'), 60_000);
    await this.must(this.lab.exec('collector', 'ip', ['addr', 'add', `${this.threatIp}/32`, 'dev', 'lo']), 'threat address');
    const srv = this.lab.spawn('collector', process.execPath, ['-e', PEER_SERVER]);
    this.procs.push(srv);
    // each organisation's endpoint in its own namespace, both at once
    await Promise.all([this.acme, this.blue].map(async (s) => {
      await this.must(this.lab.exec(s.role, 'ip', ['route', 'add', `${this.threatIp}/32`, 'via', s.collectorIp]), 'route');
      const enrolled = await this.must(this.lab.exec(s.role, process.execPath, [...ORG_CLI.agent, 'enroll', '--collector', `https://${s.collectorIp}:8443`, '--token', s.token, '--state-dir', s.agentDir, '--json']), `enroll ${s.id}`);
      s.agentId = (JSON.parse(enrolled.stdout) as { agentId: string }).agentId;
      writeFileSync(join(s.agentDir, 'anon.key'), readFileSync(join(s.owner, 'anon.key')), { mode: 0o600 });
      const op = s === this.acme ? 'alice' : 'bob';
      await this.must(this.lab.exec(s.role, process.execPath, [...ORG_CLI.agent, 'operator-key', 'add', join(this.opDir(op), 'op.pub'), '--state-dir', s.agentDir]), 'operator-key add');
      // each organisation's own response key, authorised on its own agents only
      await this.must(this.lab.exec(s.role, process.execPath, [...ORG_CLI.agent, 'response-key', 'add', join(this.state, 'orgs', s.id, 'response-key', 'op.pub'), '--allow', 'capture.peer', '--state-dir', s.agentDir]), 'response-key add');
      writeFileSync(join(this.root, `agent-${s.id}.json`), JSON.stringify({
        stateDir: s.agentDir, logLevel: 'info', capture: { interfaces: 'any' },
        anonymize: { policy: 'internal', internalPrefixes: [s.internal] },
        dump: { packetsPerDump: 20000, maxSeconds: 1, snapLen: 0 },
      }));
      await this.startAgent(s);
    }));
  }

  async startAgent(s: OrgSide): Promise<void> {
    const p = this.lab.spawn(s.role, process.execPath, [...ORG_CLI.agent, 'run', '--config', join(this.root, `agent-${s.id}.json`)]);
    this.logTo(p, s.log);
    p.stdout!.resume();
    s.agent = p;
    await this.waitFor(`agent ${s.id} connected`, () => readFileSync(s.log, 'utf8').includes('connected to collector'), 40_000);
  }

  /** n HTTP requests from the organisation's host to `host` (the collector side of its link, or the threat address). */
  async traffic(s: OrgSide, host: string, n: number): Promise<void> {
    const r = await this.lab.exec(s.role, process.execPath, ['-e', CLIENT, host, String(n)], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(r.stderr);
  }

  count(org: string, sql: string): number {
    const db = new Database(this.orgDb(org), { readonly: true, fileMustExist: true });
    try {
      return (db.prepare(sql).get() as { n: number }).n;
    } finally {
      db.close();
    }
  }

  async waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      try {
        if (await cond()) return;
      } catch { /* not yet */ }
      if (this.collector && this.collector.exitCode !== null) throw new Error(`collector exited ${this.collector.exitCode}: ${readFileSync(this.collectorLog, 'utf8').slice(-3000)}`);
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(250);
    }
  }

  private logTo(child: ChildProcess, file: string): void {
    writeFileSync(file, '', { flag: 'a' });
    const out = createWriteStream(file, { flags: 'a' });
    this.logs.push(out);
    child.stderr!.pipe(out, { end: false });
  }

  async destroy(): Promise<void> {
    for (const p of [this.acme.agent, this.blue.agent, this.collector, ...this.procs]) {
      if (p && p.exitCode === null) {
        p.kill('SIGTERM');
        await new Promise<void>((r) => { const t = setTimeout(() => { p.kill('SIGKILL'); r(); }, 10_000); p.once('exit', () => { clearTimeout(t); r(); }); });
      }
    }
    for (const l of this.logs) l.end();
    this.lab.destroy();
    if (!process.env.MEERKAT_KEEP_TEST_DIRS) rmSync(this.root, { recursive: true, force: true });
  }
}
