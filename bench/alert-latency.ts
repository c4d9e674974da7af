// Near-real-time alert latency, end to end with the real programs across network namespaces:
// `meerkat-collector run` (threat-intel feed listing N addresses of the peer namespace) and
// `meerkat-agent run` (default 120 s dumps). Each sample opens one TCP connection from the
// agent's namespace to a different listed address; latency = the alert row's creation time
// in the collector database (collector wall clock, same machine) minus the client's send time.
// Path measured: capture -> watchlist hit -> early dump -> spool -> mTLS upload -> commit ->
// per-packet threat check -> alert stored. Also exports the rig the responses test uses.
// benchDomainAlertLatency: the same for DNS lookups of listed domain names: capture ->
// metadata extraction -> watchlist name hit -> early dump -> upload -> per-record metadata
// check -> alert stored.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { createNetnsPair, destroyNetnsPair, netnsAvailable, netnsExec, netnsSpawn, type NetnsPair } from '../test/helpers/netns.js';
import { pinResponseKey } from '../agent/watchlist/response-keys.js';

function scriptArgs(relative: string): string[] {
  const ts = import.meta.url.endsWith('.ts');
  const file = fileURLToPath(new URL(`${relative}.${ts ? 'ts' : 'js'}`, import.meta.url));
  return ts ? ['--import', 'tsx', file] : [file];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (cond()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function run(args: string[]): string {
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** HTTP server on every address of the peer namespace: answers with N random bytes. */
const PEER_SERVER = `require('http').createServer((q,s)=>s.end(require('crypto').randomBytes(+(q.url.slice(1))||200))).listen(8080,'0.0.0.0');`;
/** Client: one line "ADDR BYTES" on stdin -> prints "ADDR SENDMS" and makes one request. */
const CLIENT = `const http=require('http');require('readline').createInterface({input:process.stdin}).on('line',l=>{const [h,n]=l.trim().split(' ');` +
  `const t=Date.now();http.get({host:h,port:8080,path:'/'+(n||'200'),agent:false},r=>r.resume()).on('error',()=>{});process.stdout.write(h+' '+t+'\\n');});`;

/** DNS client: one name per line on stdin -> prints "NAME SENDMS" and sends one A query to the resolver address (argv). */
const DNS_CLIENT = `const r=new (require('dns').Resolver)({timeout:300,tries:1});r.setServers([process.argv[1]]);require('readline').createInterface({input:process.stdin})` +
  `.on('line',l=>{const n=l.trim();const t=Date.now();r.resolve4(n,()=>{});process.stdout.write(n+' '+t+'\\n');});`;

export interface RigOptions {
  /** listed addresses added to the peer namespace */
  listed: number;
  /** listed domain names (n0.evil-nrt.example, ...) in the same feed */
  domains?: number;
  /** unlisted addresses added to the peer namespace (controls) */
  unlisted?: number;
  /** collector "responses" config */
  responses?: unknown[];
  /** kinds the agent authorises the collector's response key for (none: not pinned) */
  authorise?: string[];
  agentConfig?: Record<string, unknown>;
}

export class LatencyRig {
  dir = mkdtempSync(join(tmpdir(), 'meerkat-nrt-'));
  pair: NetnsPair = createNetnsPair();
  procs: ChildProcess[] = [];
  client?: ChildProcess;
  agent?: ChildProcess;
  agentId = '';
  logs = { collector: '', agent: '' };
  listed: string[] = [];
  unlisted: string[] = [];
  listedNames: string[] = [];
  dnsClient?: ChildProcess;
  private sent = new Map<string, number[]>();

  get colDir(): string { return join(this.dir, 'collector'); }
  get agentDir(): string { return join(this.dir, 'agent'); }
  /** the default organisation's database (the one organisation of this rig) */
  get db(): string { return join(this.colDir, 'orgs', 'default', 'meerkat.db'); }

  async start(o: RigOptions): Promise<void> {
    const { ipB, nsA, nsB, ifB } = this.pair;
    const net = ipB.split('.').slice(0, 3).join('.');
    for (let i = 0; i < o.listed + (o.unlisted ?? 0); i++) {
      const a = `${net}.${10 + i}`;
      (i < o.listed ? this.listed : this.unlisted).push(a);
      const r = await netnsExec(nsB, 'ip', ['addr', 'add', `${a}/24`, 'dev', ifB]);
      if (r.code !== 0) throw new Error(r.stderr);
    }
    const consoleCli = scriptArgs('../console/cli');
    const collectorCli = scriptArgs('../collector/cli');
    run([...consoleCli, 'keys', 'init', '--owner-keys', join(this.dir, 'owner')]);
    run([...collectorCli, 'pki', 'init', '--state-dir', this.colDir, '--ip', ipB]);
    const token = (JSON.parse(run([...collectorCli, 'token', 'create', '--state-dir', this.colDir, '--json'])) as { token: string }).token;
    const feed = join(this.dir, 'blacklist.txt');
    for (let i = 0; i < (o.domains ?? 0); i++) this.listedNames.push(`n${i}.evil-nrt.example`);
    writeFileSync(feed, '# test blacklist\n' + [...this.listed, ...this.listedNames].join('\n') + '\n');
    writeFileSync(join(this.dir, 'collector.json'), JSON.stringify({
      stateDir: this.colDir, listen: `${ipB}:8443`, ops: '127.0.0.1:9469', limits: { heartbeatSec: 1 },
      analyzers: [{ builtin: 'threat-intel', config: { feeds: [{ name: 'nrt-list', path: feed, severity: 'high' }] } }],
      ...(o.responses ? { responses: o.responses } : {}),
    }));
    const col = netnsSpawn(nsB, process.execPath, [...scriptArgs('../collector/cli'), 'run', '--config', join(this.dir, 'collector.json')]);
    this.procs.push(col);
    col.stderr!.setEncoding('utf8').on('data', (s: string) => { this.logs.collector += s; });
    await waitFor('the collector to listen', () => this.logs.collector.includes('collector listening'), 60_000);
    this.procs.push(netnsSpawn(nsB, process.execPath, ['-e', PEER_SERVER]));
    const agentCli = scriptArgs('../agent/cli');
    const enrolled = await netnsExec(nsA, process.execPath, [...agentCli, 'enroll', '--collector', `https://${ipB}:8443`, '--token', token, '--state-dir', this.agentDir, '--json']);
    if (enrolled.code !== 0) throw new Error(enrolled.stderr);
    this.agentId = (JSON.parse(enrolled.stdout) as { agentId: string }).agentId;
    writeFileSync(join(this.agentDir, 'anon.key'), readFileSync(join(this.dir, 'owner', 'anon.key')), { mode: 0o600 });
    if (o.authorise) pinResponseKey(this.agentDir, join(this.colDir, 'orgs', 'default', 'response-key', 'op.pub'), o.authorise);
    // 10.213.0.0/16 is the test network; declaring only 192.168/16 internal keeps the peers in the clear
    writeFileSync(join(this.dir, 'agent.json'), JSON.stringify({
      stateDir: this.agentDir, capture: { interfaces: 'any' }, anonymize: { policy: 'internal', internalPrefixes: ['192.168.0.0/16'] }, ...o.agentConfig,
    }));
    this.agent = netnsSpawn(nsA, process.execPath, [...agentCli, 'run', '--config', join(this.dir, 'agent.json')]);
    this.procs.push(this.agent);
    this.agent.stderr!.setEncoding('utf8').on('data', (s: string) => { this.logs.agent += s; });
    await waitFor('the agent to install the watchlist', () => this.logs.agent.includes('watchlist installed'), 60_000);
    this.client = netnsSpawn(nsA, process.execPath, ['-e', CLIENT]);
    this.procs.push(this.client);
    const record = (l: string): void => {
      const [h, t] = l.split(' ');
      if (h && t) this.sent.set(h, [...(this.sent.get(h) ?? []), Number(t)]);
    };
    createInterface({ input: this.client.stdout! }).on('line', record);
    if (this.listedNames.length > 0) {
      // queries go to an address of the peer namespace where nothing answers: the query packet is what counts
      this.dnsClient = netnsSpawn(nsA, process.execPath, ['-e', DNS_CLIENT, ipB]);
      this.procs.push(this.dnsClient);
      createInterface({ input: this.dnsClient.stdout! }).on('line', record);
    }
  }

  /** One DNS query for name from the agent's namespace; resolves with its send time (ms). */
  async lookup(name: string): Promise<number> {
    const before = this.sent.get(name)?.length ?? 0;
    this.dnsClient!.stdin!.write(`${name}\n`);
    await waitFor('the DNS client to send', () => (this.sent.get(name)?.length ?? 0) > before, 10_000);
    return this.sent.get(name)![before]!;
  }

  /** One request from the agent's namespace; resolves with the client's send time (ms). */
  async request(addr: string, responseBytes = 200): Promise<number> {
    const before = this.sent.get(addr)?.length ?? 0;
    this.client!.stdin!.write(`${addr} ${responseBytes}\n`);
    await waitFor('the client to send', () => (this.sent.get(addr)?.length ?? 0) > before, 10_000);
    return this.sent.get(addr)![before]!;
  }

  query<T>(sql: string, ...args: unknown[]): T[] {
    const db = new Database(this.db, { readonly: true, fileMustExist: true });
    try {
      return db.prepare(sql).all(...args) as T[];
    } finally {
      db.close();
    }
  }

  /** created_us of the threat-intel alert for a peer, or null. */
  alertCreatedUs(peer: string): number | null {
    const r = this.query<{ created_us: number }>(`SELECT created_us FROM alerts WHERE category = 'threat-intel' AND peer = ? ORDER BY id LIMIT 1`, peer);
    return r[0]?.created_us ?? null;
  }

  async stopAgent(): Promise<void> {
    const a = this.agent!;
    if (a.exitCode !== null) return;
    const done = new Promise((r) => a.once('exit', r));
    a.kill('SIGINT');
    await done;
  }

  close(): void {
    for (const p of this.procs) if (p.exitCode === null) p.kill('SIGKILL');
    destroyNetnsPair(this.pair);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i]!;
}

export interface AlertLatencyOptions {
  /** connections (each to its own listed address); default 10 */
  samples?: number;
  /** pause between connections, ms (default 1500: the agent's early-flush limit is 1/s) */
  spacingMs?: number;
  /** give up on one alert after this long (default 30 s; counted as this value) */
  timeoutMs?: number;
  log?: (s: string) => void;
}

/** Needs root (network namespaces); throws when they are not available. */
export async function benchAlertLatency(opts: AlertLatencyOptions = {}): Promise<{ p50Ms: number; p95Ms: number; samples: number; maxMs: number; missed: number }> {
  if (!netnsAvailable()) throw new Error('alert latency bench needs root and iproute2 (network namespaces)');
  const n = opts.samples ?? 10;
  const rig = new LatencyRig();
  try {
    await rig.start({ listed: n });
    await sleep(1000);
    return await measureAlerts(rig, rig.listed, (addr) => rig.request(addr), opts);
  } finally {
    rig.close();
  }
}

/** Sends to each target in turn and times send -> alert row (a miss counts as the timeout). */
async function measureAlerts(rig: LatencyRig, targets: readonly string[], send: (t: string) => Promise<number>, opts: AlertLatencyOptions): Promise<{ p50Ms: number; p95Ms: number; samples: number; maxMs: number; missed: number }> {
  const lat: number[] = [];
  let missed = 0;
  for (const t of targets) {
    const sentMs = await send(t);
    const timeout = opts.timeoutMs ?? 30_000;
    let created: number | null = null;
    const until = Date.now() + timeout;
    while (Date.now() < until && (created = rig.alertCreatedUs(t)) === null) await sleep(50);
    if (created === null) { missed++; lat.push(timeout); } else lat.push(created / 1000 - sentMs);
    opts.log?.(`  ${t}: ${created === null ? 'no alert' : `${(created / 1000 - sentMs).toFixed(0)} ms`}`);
    await sleep(opts.spacingMs ?? 1500);
  }
  const sorted = [...lat].sort((a, b) => a - b);
  return { p50Ms: percentile(sorted, 0.5), p95Ms: percentile(sorted, 0.95), maxMs: sorted[sorted.length - 1] ?? NaN, samples: lat.length, missed };
}

/** The same for DNS lookups of listed names (each sample a different name). Needs root. */
export async function benchDomainAlertLatency(opts: AlertLatencyOptions = {}): Promise<{ p50Ms: number; p95Ms: number; samples: number; maxMs: number; missed: number }> {
  if (!netnsAvailable()) throw new Error('alert latency bench needs root and iproute2 (network namespaces)');
  const n = opts.samples ?? 10;
  const rig = new LatencyRig();
  try {
    await rig.start({ listed: 0, domains: n });
    await sleep(1000);
    return await measureAlerts(rig, rig.listedNames, (name) => rig.lookup(name), opts);
  } finally {
    rig.close();
  }
}

// `npx tsx bench/alert-latency.ts [samples] [domains]`
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const samples = Number(process.argv[2] ?? 10);
  (process.argv[3] === 'domains' ? benchDomainAlertLatency : benchAlertLatency)({ samples, log: (s) => process.stderr.write(s + '\n') }).then((r) => {
    process.stdout.write(`alert latency (packet sent -> alert stored): p50 ${r.p50Ms.toFixed(0)} ms, p95 ${r.p95Ms.toFixed(0)} ms, max ${r.maxMs.toFixed(0)} ms over ${r.samples} samples (${r.missed} missed); target p95 < 5000 ms\n`);
  }, (e: unknown) => { process.stderr.write(String(e) + '\n'); process.exitCode = 1; });
}
