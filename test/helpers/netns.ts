// Test helper: two network namespaces joined by a veth pair, with addresses from
// 10.213.0.0/16 and fd00:213::/32 that exist only inside those namespaces. Names carry the
// creating process id and a counter, so parallel and aborted runs never collide, and pairs
// left behind by a process that died (SIGKILL) are swept on the next use. Pairs are always
// removed: in `finally`, and on process exit / SIGINT / SIGTERM for anything still alive.
// Requires root (CAP_NET_ADMIN) and iproute2.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface NetnsPair {
  nsA: string;
  nsB: string;
  /** veth end inside nsA / nsB */
  ifA: string;
  ifB: string;
  ipA: string;
  ipB: string;
  prefixLen: number;
  /** subnet-directed broadcast of the IPv4 subnet */
  broadcast: string;
  ip6A: string;
  ip6B: string;
  macA: string;
  macB: string;
}

const NAME_PREFIX = 'mkt';
const live = new Map<string, { pair: NetnsPair; children: Set<ChildProcess> }>();
let counter = 0;
let hooksInstalled = false;

/** Runs iproute2's `ip` (throws with its stderr on failure). */
export function runIp(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
const ip = runIp;

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes namespaces named `PREFIX-PID-N-ROLE` (the scheme of every namespace helper in the
 * tests) whose creating process no longer exists: what a SIGKILLed run left behind.
 */
export function sweepStaleNamespaces(prefix: string = NAME_PREFIX, rolePattern = '[ab]'): void {
  let names: string[];
  try {
    names = ip(['netns', 'list']).split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter(Boolean);
  } catch {
    return;
  }
  const re = new RegExp(`^${prefix}-(\\d+)-\\d+-${rolePattern}$`);
  for (const n of names) {
    const m = re.exec(n);
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) {
      try { ip(['netns', 'del', n]); } catch { /* already gone */ }
    }
  }
}

/** Whether namespaces can be created here (root, iproute2 present). */
export function netnsAvailable(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  try {
    ip(['netns', 'list']);
    return true;
  } catch {
    return false;
  }
}

/** Runs cleanup when the process exits or gets SIGINT/SIGTERM (then dies of that signal). */
export function cleanupOnExit(cleanup: () => void): void {
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      cleanup();
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  cleanupOnExit(destroyAllNetnsPairs);
}

function randomMac(): string {
  const b = randomBytes(6);
  b[0] = 0x02; // locally administered, unicast
  b[1] = 0x5a;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Creates a pair (synchronously). Prefer withNetnsPair, which always removes it. */
export function createNetnsPair(): NetnsPair {
  installHooks();
  sweepStaleNamespaces();
  const n = counter++;
  const tag = `${NAME_PREFIX}-${process.pid}-${n}`;
  const short = `${process.pid.toString(36)}${n.toString(36)}`;
  const oct = 1 + randomBytes(1)[0]! % 250;
  const hex = randomBytes(2).toString('hex');
  const pair: NetnsPair = {
    nsA: `${tag}-a`,
    nsB: `${tag}-b`,
    ifA: `mkv${short}a`.slice(0, 15),
    ifB: `mkv${short}b`.slice(0, 15),
    ipA: `10.213.${oct}.1`,
    ipB: `10.213.${oct}.2`,
    prefixLen: 24,
    broadcast: `10.213.${oct}.255`,
    ip6A: `fd00:213:${hex}::1`,
    ip6B: `fd00:213:${hex}::2`,
    macA: randomMac(),
    macB: randomMac(),
  };
  live.set(tag, { pair, children: new Set() });
  try {
    ip(['netns', 'add', pair.nsA]);
    ip(['netns', 'add', pair.nsB]);
    // created directly inside the namespaces: no name ever exists in the host namespace
    ip(['link', 'add', pair.ifA, 'netns', pair.nsA, 'address', pair.macA, 'type', 'veth', 'peer', 'name', pair.ifB, 'netns', pair.nsB, 'address', pair.macB]);
    for (const [ns, dev, v4, v6] of [[pair.nsA, pair.ifA, pair.ipA, pair.ip6A], [pair.nsB, pair.ifB, pair.ipB, pair.ip6B]] as const) {
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      ip(['-n', ns, 'addr', 'add', `${v4}/${pair.prefixLen}`, 'broadcast', pair.broadcast, 'dev', dev]);
      ip(['-n', ns, 'addr', 'add', `${v6}/64`, 'dev', dev, 'nodad']);
      ip(['-n', ns, 'link', 'set', dev, 'up']);
    }
  } catch (e) {
    destroyNetnsPair(pair);
    throw e;
  }
  return pair;
}

export interface ExtraLink {
  ifA: string;
  ifB: string;
  ipA: string;
  ipB: string;
}

let linkCounter = 0;

/** Adds another veth link between the pair's namespaces (a second network, e.g. a VPN coming up). */
export function addVethLink(pair: NetnsPair): ExtraLink {
  const n = linkCounter++;
  const short = `${process.pid.toString(36)}${n.toString(36)}`;
  const oct = 1 + randomBytes(1)[0]! % 250;
  const link: ExtraLink = { ifA: `mkx${short}a`.slice(0, 15), ifB: `mkx${short}b`.slice(0, 15), ipA: `10.213.${oct}.65`, ipB: `10.213.${oct}.66` };
  ip(['link', 'add', link.ifA, 'netns', pair.nsA, 'type', 'veth', 'peer', 'name', link.ifB, 'netns', pair.nsB]);
  for (const [ns, dev, v4] of [[pair.nsA, link.ifA, link.ipA], [pair.nsB, link.ifB, link.ipB]] as const) {
    ip(['-n', ns, 'addr', 'add', `${v4}/26`, 'dev', dev]);
    ip(['-n', ns, 'link', 'set', dev, 'up']);
  }
  return link;
}

/** Deletes an extra link (both ends go). */
export function removeVethLink(pair: NetnsPair, link: ExtraLink): void {
  ip(['-n', pair.nsA, 'link', 'del', link.ifA]);
}

/** Kills the pair's tracked processes and deletes both namespaces (the veth goes with them). */
export function destroyNetnsPair(pair: NetnsPair): void {
  const tag = pair.nsA.slice(0, -2);
  const entry = live.get(tag);
  if (entry) {
    for (const c of entry.children) {
      if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
        try { process.kill(c.pid, 'SIGKILL'); } catch { /* already gone */ }
      }
    }
  }
  for (const ns of [pair.nsA, pair.nsB]) {
    try { ip(['netns', 'del', ns]); } catch { /* not created or already removed */ }
  }
  live.delete(tag);
}

export function destroyAllNetnsPairs(): void {
  for (const { pair } of [...live.values()]) destroyNetnsPair(pair);
}

/** Runs fn with a fresh pair and removes the pair afterwards, whatever happens. */
export async function withNetnsPair<T>(fn: (pair: NetnsPair) => Promise<T>): Promise<T> {
  const pair = createNetnsPair();
  try {
    return await fn(pair);
  } finally {
    destroyNetnsPair(pair);
  }
}

/** Starts `cmd args` inside namespace ns (tracked: killed when the pair is destroyed). */
export function netnsSpawn(ns: string, cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
  const entry = live.get(ns.slice(0, -2));
  if (entry) {
    entry.children.add(child);
    child.once('exit', () => entry.children.delete(child));
  }
  return child;
}

export interface NetnsExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `cmd args` inside ns to completion; rejects on timeout (the process is killed). */
export function netnsExec(ns: string, cmd: string, args: readonly string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<NetnsExecResult> {
  return new Promise((resolve, reject) => {
    const child = netnsSpawn(ns, cmd, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.stderr!.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out after ${opts.timeoutMs ?? 30000} ms: ip netns exec ${ns} ${cmd} ${args.join(' ')}\n${stderr}`));
    }, opts.timeoutMs ?? 30000);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => { /* the command may exit without reading its input (EPIPE) */ });
      child.stdin!.end(opts.input);
    }
  });
}
