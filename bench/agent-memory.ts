// Agent memory while capturing, measured on the real service: `meerkat-collector run` in one
// network namespace, `meerkat-agent run` (enrolled with a token, default config, started as
// it ships: the bundle through its launcher, installer/linux/meerkat-agent) capturing in the
// other, while the collector's side
// sends UDP to the agent at a steady rate. The agent's /proc status is sampled every 50 ms;
// reported: the peak RSS while capturing and its split (private/anonymous, of which the V8
// heap; file-backed: the node binary, libraries, the capture ring), the lifetime high-water
// mark, PSS and private memory (smaps_rollup) idle and at the end, the minor page faults during
// the traffic (the pages the service's working-set trim unmapped come back by them), and what
// was captured, so a low figure cannot come from a capture that fell behind.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetnsPair, destroyNetnsPair, netnsAvailable, netnsExec, netnsSpawn, type NetnsPair } from '../test/helpers/netns.js';
import { nodeScriptArgs, shippedAgentLauncher } from '../test/helpers/node-script.js';
import { repoRoot } from '../shared/util/repo-paths.js';

const MB = 1024 * 1024;

export interface MemorySplit {
  rssMb: number;
  /** private memory: V8 heap, malloc, thread stacks */
  anonMb: number;
  /** file-backed pages (node binary, shared libraries) and mapped sockets (the capture ring) */
  fileMb: number;
}

/** What the process really takes, beside RSS (/proc/PID/smaps_rollup). */
export interface MemoryShare {
  /** proportional set size: each resident page divided by the number of processes mapping it */
  pssMb: number;
  /** Private_Clean + Private_Dirty: resident pages no other process maps */
  privateMb: number;
}

export interface AgentMemoryOptions {
  /** seconds of traffic (default 10) */
  seconds?: number;
  /** packets per second sent to the agent (default 20,000) */
  rate?: number;
  /** UDP payload bytes per datagram (default 32; 1400 is a download's full-size packets) */
  payloadBytes?: number;
  /**
   * which agent: 'shipped' (default): the bundle through its launcher, as installed;
   * 'modules': `node dist/agent/cli.js`, the compiled modules unbundled and no launcher settings
   */
  agent?: 'shipped' | 'modules';
  /** node flags for experiments: replace the launcher's (shipped) or come before the script (modules) */
  nodeArgs?: string[];
  /** extra environment for the agent, e.g. MEERKAT_AGENT_PROFILE=fast for the launcher's other profile */
  env?: Record<string, string>;
  /** merged into the agent's config file */
  agentConfig?: Record<string, unknown>;
  log?: (s: string) => void;
  /**
   * Called with the agent's pid when the traffic starts (e.g. to attach a profiler for the
   * traffic's seconds); the traffic is sent meanwhile and awaited with it.
   */
  whileCapturing?: (pid: number, seconds: number) => Promise<void>;
  /** stop the agent with SIGTERM and wait for it to exit before the rig is removed (a profiler then writes its file) */
  stopGracefully?: boolean;
}

export interface AgentMemoryResult {
  /** connected to the collector, warmed up, no traffic yet */
  idle: MemorySplit;
  /** the sample with the highest RSS while capturing */
  peak: MemorySplit;
  /** VmHWM at the end: the highest RSS over the process's life, start-up included */
  highWaterMb: number;
  /** at the end: after the traffic and the 2.5 s the ring takes to drain (steady state, not a peak) */
  end: MemorySplit;
  /** PSS and private memory when idle and at the end */
  idleShare: MemoryShare;
  endShare: MemoryShare;
  /** minor page faults of the agent while the traffic was sent */
  minorFaults: number;
  /** major page faults (read from disk) of the agent while the traffic was sent */
  majorFaults: number;
  /** the agent logged its working-set trim before the traffic started */
  trimmed: boolean;
  /** V8 heap committed / used, highest seen in the agent's status file (written every 2 s) */
  heapTotalMb: number;
  heapUsedMb: number;
  /** resident MB per kind of mapping (from /proc/PID/smaps) at the end of the traffic */
  mappings: Record<string, number>;
  packetsSent: number;
  packetsSeen: number;
  packetsPerSec: number;
  kernelDrops: number | null;
  /** the agent's CPU (percent of one core) while capturing */
  cpuPercent: number;
  /** the service's trim calls as it logged them: resident MB unmapped, MB kept mapped, duration */
  trims: { when: string; mb: number; keptMb: number; ms: number }[];
  /**
   * once a second while the traffic runs: seconds since it started, the kernel's drops so far
   * (the status file, rewritten every 2 s), the minor faults since the traffic started, RSS
   */
  timeline: { s: number; kernelDrops: number | null; maxRingWaitMs: number | null; minorFaults: number; rssMb: number }[];
  /** minor page faults in the first 2 s of traffic (the per-packet path faulting its pages in) */
  minorFaultsFirst2s: number;
  /**
   * the sender's catch-up bursts: the most datagrams it sent in one 1 ms tick, and the ticks
   * that caught up 10 ms or more (it was not scheduled meanwhile: the machine is overloaded)
   */
  senderMaxTick: number;
  senderCatchUps: number;
  /** the machine's 1-minute load average when the traffic started and when it ended */
  loadAverage: [number, number];
  /** the agent's retro ring at the end (agent status "retro"), when it was on */
  retro: { enabled: boolean; bytes?: number; bytesWritten?: number; packetsAdded?: number; segmentsShredded?: number; seconds?: number } | null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => boolean, timeoutMs: number, log: () => string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}\n${log().slice(-2000)}`);
    await sleep(100);
  }
}

function run(args: string[]): string {
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

function procStatus(pid: number): { split: MemorySplit; hwmMb: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0);
  return {
    split: { rssMb: kb('VmRSS') / 1024, anonMb: kb('RssAnon') / 1024, fileMb: (kb('RssFile') + kb('RssShmem')) / 1024 },
    hwmMb: kb('VmHWM') / 1024,
  };
}

function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime of a process in seconds. */
function cpuOf(pid: number): number {
  const f = statFields(pid);
  return (Number(f[11]) + Number(f[12])) / 100; // fields 14 and 15 of stat(5), clock ticks (USER_HZ = 100)
}

/** Minor and major page faults so far (fields 10 and 12 of stat(5)). */
function faultsOf(pid: number): { minor: number; major: number } {
  const f = statFields(pid);
  return { minor: Number(f[7]), major: Number(f[9]) };
}

/** PSS and private memory of a process, from /proc/PID/smaps_rollup. */
export function memoryShare(pid: number): MemoryShare {
  const s = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0);
  return { pssMb: kb('Pss') / 1024, privateMb: (kb('Private_Clean') + kb('Private_Dirty')) / 1024 };
}

/** Resident MB by kind of mapping, from /proc/PID/smaps. */
export function residentByMapping(pid: number, nodeBinary: string): Record<string, number> {
  const out: Record<string, number> = {};
  let kind = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      const path = head[1]!;
      kind = path === nodeBinary ? 'node binary'
        : path.endsWith('.node') ? 'native addons (.node)'
        : path.startsWith('socket:') ? 'capture ring (packet socket)' // libpcap maps its ring from the socket
        : /\.so(\.|$)/.test(path) ? 'shared libraries'
        : path === '' || path.startsWith('[anon') || path === '[heap]' ? 'anonymous (V8 heap, malloc)'
        : path.startsWith('[stack') ? 'stacks'
        : path.startsWith('[') ? 'kernel ([vdso] etc.)'
        : `other: ${path}`;
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && kind) out[kind] = (out[kind] ?? 0) + Number(rss[1]) / 1024;
  }
  return out;
}

class MemoryRig {
  readonly dir = mkdtempSync(join(tmpdir(), 'meerkat-agentmem-'));
  readonly pair: NetnsPair = createNetnsPair();
  readonly logs = { collector: '', agent: '' };
  agent?: ChildProcess;

  async start(o: AgentMemoryOptions): Promise<ChildProcess> {
    const { ipB, nsA, nsB } = this.pair;
    const consoleCli = nodeScriptArgs('../console/cli', import.meta.url);
    const collectorCli = nodeScriptArgs('../collector/cli', import.meta.url);
    const colDir = join(this.dir, 'collector');
    const agentDir = join(this.dir, 'agent');
    run([...consoleCli, 'keys', 'init', '--owner-keys', join(this.dir, 'owner')]);
    run([...collectorCli, 'pki', 'init', '--state-dir', colDir, '--ip', ipB]);
    const token = (JSON.parse(run([...collectorCli, 'token', 'create', '--state-dir', colDir, '--json'])) as { token: string }).token;
    writeFileSync(join(this.dir, 'collector.json'), JSON.stringify({ stateDir: colDir, listen: `${ipB}:8443`, ops: '127.0.0.1:9469' }));
    const col = netnsSpawn(nsB, process.execPath, [...nodeScriptArgs('../collector/cli', import.meta.url), 'run', '--config', join(this.dir, 'collector.json')]);
    col.stderr!.setEncoding('utf8').on('data', (s: string) => { this.logs.collector += s; });
    await waitFor('the collector to listen', () => this.logs.collector.includes('collector listening'), 60_000, () => this.logs.collector);
    // always compiled: from source, tsx's TypeScript loader would be measured with the agent
    const shipped = (o.agent ?? 'shipped') === 'shipped';
    const [cmd, ...pre]: string[] = shipped
      ? [shippedAgentLauncher()]
      : [process.execPath, ...(o.nodeArgs ?? []), join(repoRoot(), 'dist', 'agent', 'cli.js')];
    const env: NodeJS.ProcessEnv = { ...process.env, MEERKAT_NODE: process.execPath, ...o.env };
    if (shipped && o.nodeArgs) env.MEERKAT_NODE_FLAGS = o.nodeArgs.join(' ');
    const enrolled = await netnsExec(nsA, cmd!, [...pre, 'enroll', '--collector', `https://${ipB}:8443`, '--token', token, '--state-dir', agentDir, '--json']);
    if (enrolled.code !== 0) throw new Error(`enroll failed: ${enrolled.stderr}`);
    writeFileSync(join(agentDir, 'anon.key'), readFileSync(join(this.dir, 'owner', 'anon.key')), { mode: 0o600 });
    writeFileSync(join(this.dir, 'agent.json'), JSON.stringify({ stateDir: agentDir, ...o.agentConfig }));
    // the launcher execs node: the spawned pid is the agent's
    const agent = netnsSpawn(nsA, cmd!, [...pre, 'run', '--config', join(this.dir, 'agent.json')], { env });
    this.agent = agent;
    agent.stderr!.setEncoding('utf8').on('data', (s: string) => { this.logs.agent += s.length > 4096 ? s.slice(-4096) : s; });
    await waitFor('the agent to connect', () => this.logs.agent.includes('connected to collector'), 60_000, () => this.logs.agent);
    // the service trims its start-up pages 2 s after connecting (agent/service-trim.ts); the
    // idle figure is taken after it (or after 6 s when it is off or unavailable)
    const until = Date.now() + 6000;
    while (!this.trimmed() && Date.now() < until) await sleep(100);
    return agent;
  }

  trimmed(): boolean {
    return this.logs.agent.includes('working-set trim: start-up pages unmapped');
  }

  /** The trim calls the agent logged (pino JSON lines). */
  trims(): AgentMemoryResult['trims'] {
    const out: AgentMemoryResult['trims'] = [];
    for (const line of this.logs.agent.split('\n')) {
      if (!line.includes('working-set trim: start-up pages unmapped')) continue;
      try {
        const j = JSON.parse(line) as { when?: string; mb?: number; keptMb?: number; ms?: number };
        out.push({ when: j.when ?? '', mb: j.mb ?? 0, keptMb: j.keptMb ?? 0, ms: j.ms ?? -1 });
      } catch { /* a line cut by the log buffer */ }
    }
    return out;
  }

  status(): { capture: { packetsSeen: number; kernelDrops: number | null; capture?: { maxRingWaitMs?: number } }; memory?: { heapTotalBytes: number; heapUsedBytes: number }; retro?: AgentMemoryResult['retro'] } {
    return JSON.parse(readFileSync(join(this.dir, 'agent', 'status.json'), 'utf8')) as ReturnType<MemoryRig['status']>;
  }

  close(): void {
    destroyNetnsPair(this.pair); // kills the collector, the agent and the sender
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Needs root (network namespaces); throws when they are not available. */
export async function benchAgentMemory(opts: AgentMemoryOptions = {}): Promise<AgentMemoryResult> {
  if (!netnsAvailable()) throw new Error('agent memory bench needs root and iproute2 (network namespaces)');
  const seconds = opts.seconds ?? 10;
  const rate = opts.rate ?? 20_000;
  const rig = new MemoryRig();
  try {
    const agent = await rig.start(opts);
    const pid = agent.pid!;
    const nodeBinary = realpathSync(process.execPath);
    await sleep(2500); // settle: first heartbeat, status file written
    const idle = procStatus(pid).split;
    const idleShare = memoryShare(pid);
    const trimmed = rig.trimmed();
    const seen0 = rig.status().capture.packetsSeen;
    let peak: MemorySplit = { rssMb: 0, anonMb: 0, fileMb: 0 };
    let heapTotalMb = 0;
    let heapUsedMb = 0;
    const sampleHeap = (): void => {
      try {
        const m = rig.status().memory;
        if (m) {
          heapTotalMb = Math.max(heapTotalMb, m.heapTotalBytes / MB);
          heapUsedMb = Math.max(heapUsedMb, m.heapUsedBytes / MB);
        }
      } catch { /* being replaced */ }
    };
    const sampler = setInterval(() => {
      try {
        const s = procStatus(pid).split;
        if (s.rssMb > peak.rssMb) peak = s;
        sampleHeap();
      } catch { /* exited */ }
    }, 50);
    opts.log?.(`  sending ${rate} packets/s for ${seconds} s`);
    // the CPU figure is per second of sending (the sender's own clock, printed on exit), not
    // diluted by the idle seconds around it
    const cpu0 = cpuOf(pid);
    const faults0 = faultsOf(pid);
    const load0 = loadavg()[0]!;
    const t0 = Date.now();
    const timeline: AgentMemoryResult['timeline'] = [];
    let minorFaultsFirst2s = -1;
    const ticker = setInterval(() => {
      try {
        const s = Math.round((Date.now() - t0) / 1000);
        const minor = faultsOf(pid).minor - faults0.minor;
        if (s >= 2 && minorFaultsFirst2s < 0) minorFaultsFirst2s = minor;
        let drops: number | null = null;
        let wait: number | null = null;
        try {
          const c = rig.status().capture;
          drops = c.kernelDrops;
          wait = c.capture?.maxRingWaitMs ?? null;
        } catch { /* being replaced */ }
        timeline.push({ s, kernelDrops: drops, maxRingWaitMs: wait, minorFaults: minor, rssMb: Math.round(procStatus(pid).split.rssMb * 10) / 10 });
      } catch { /* exited */ }
    }, 1000);
    const sending = netnsExec(rig.pair.nsB, process.execPath, [...nodeScriptArgs('./agent-memory-child', import.meta.url), rig.pair.ipA, String(rate), String(seconds), '256', String(opts.payloadBytes ?? 32)], { timeoutMs: (seconds + 30) * 1000 });
    const [sender] = await Promise.all([sending, opts.whileCapturing?.(pid, seconds)]);
    const cpu = cpuOf(pid) - cpu0;
    const faults = faultsOf(pid);
    clearInterval(ticker);
    const load1 = loadavg()[0]!;
    if (sender.code !== 0) throw new Error(`traffic sender failed: ${sender.stderr}`);
    const sent = JSON.parse(sender.stdout) as { sent: number; seconds: number; maxTick?: number; catchUps?: number };
    await sleep(2500); // the ring drains, the status file catches up
    clearInterval(sampler);
    const mappings = residentByMapping(pid, nodeBinary);
    const st = rig.status();
    sampleHeap();
    const end = procStatus(pid);
    const endShare = memoryShare(pid);
    if (agent.exitCode !== null) throw new Error(`the agent exited (${agent.exitCode}): ${rig.logs.agent.slice(-2000)}`);
    const packetsSeen = st.capture.packetsSeen - seen0;
    return {
      idle,
      peak,
      highWaterMb: end.hwmMb,
      end: end.split,
      idleShare,
      endShare,
      minorFaults: faults.minor - faults0.minor,
      majorFaults: faults.major - faults0.major,
      trimmed,
      heapTotalMb,
      heapUsedMb,
      mappings,
      packetsSent: sent.sent,
      packetsSeen,
      packetsPerSec: packetsSeen / seconds,
      kernelDrops: st.capture.kernelDrops,
      cpuPercent: (cpu / sent.seconds) * 100,
      retro: st.retro ?? null,
      trims: rig.trims(),
      timeline,
      minorFaultsFirst2s,
      senderMaxTick: sent.maxTick ?? 0,
      senderCatchUps: sent.catchUps ?? 0,
      loadAverage: [Math.round(load0 * 100) / 100, Math.round(load1 * 100) / 100],
    };
  } finally {
    if (opts.stopGracefully && rig.agent && rig.agent.exitCode === null) {
      const agent = rig.agent;
      const exited = new Promise<void>((r) => agent.once('exit', () => r()));
      agent.kill('SIGTERM');
      await Promise.race([exited, sleep(15_000)]);
    }
    rig.close();
  }
}
