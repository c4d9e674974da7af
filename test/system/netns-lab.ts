// Test helper: a small star of network namespaces for the remote-control tests - "host" (the
// agent) joined by its own veth pair to each of "collector", "peer1" and "peer2". Addresses are
// private and exist only inside these namespaces: 10.213.X.0/24 for the collector and peer1
// links, 10.214.Y.0/24 for peer2 (declared external to the agent, so it appears in the clear).
// Names carry the creating pid; namespaces of dead creators are swept on the next use; all of
// them go on destroy(), at process exit and on SIGINT/SIGTERM. Root and iproute2 required.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cleanupOnExit, runIp as ip, sweepStaleNamespaces } from '../helpers/netns.js';

const PREFIX = 'mkc';
const ROLES = ['host', 'collector', 'peer1', 'peer2'] as const;
export type Role = (typeof ROLES)[number];

export interface LabLink {
  /** interface inside host / inside the other namespace */
  hostIf: string;
  farIf: string;
  hostIp: string;
  farIp: string;
}

export interface NetnsLab {
  ns: Record<Role, string>;
  collector: LabLink;
  peer1: LabLink;
  peer2: LabLink;
  spawn(role: Role, cmd: string, args: readonly string[], opts?: SpawnOptions): ChildProcess;
  exec(role: Role, cmd: string, args: readonly string[], opts?: { timeoutMs?: number; input?: string }): Promise<{ code: number | null; stdout: string; stderr: string }>;
  destroy(): void;
}

const liveLabs = new Set<NetnsLab>();
let hooks = false;
let counter = 0;

function sweep(): void {
  sweepStaleNamespaces(PREFIX, `(${ROLES.join('|')})`);
}

function installHooks(): void {
  if (hooks) return;
  hooks = true;
  cleanupOnExit(() => { for (const l of [...liveLabs]) l.destroy(); });
}

export function createNetnsLab(): NetnsLab {
  installHooks();
  sweep();
  const n = counter++;
  const tag = `${PREFIX}-${process.pid}-${n}`;
  const short = `${process.pid.toString(36)}${n.toString(36)}`;
  const ns = Object.fromEntries(ROLES.map((r) => [r, `${tag}-${r}`])) as Record<Role, string>;
  const o = (): number => 1 + (randomBytes(1)[0]! % 250);
  let a = o();
  let b = o();
  while (b === a) b = o();
  const c = o();
  const link = (i: number, net: string): LabLink => ({ hostIf: `mkc${short}h${i}`.slice(0, 15), farIf: `mkc${short}f${i}`.slice(0, 15), hostIp: `${net}.1`, farIp: `${net}.2` });
  const children = new Set<ChildProcess>();
  const lab: NetnsLab = {
    ns,
    collector: link(0, `10.213.${a}`),
    peer1: link(1, `10.213.${b}`),
    peer2: link(2, `10.214.${c}`),
    spawn(role, cmd, args, opts = {}) {
      const child = spawn('ip', ['netns', 'exec', ns[role], cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    exec(role, cmd, args, opts = {}) {
      return new Promise((resolve, reject) => {
        const child = lab.spawn(role, cmd, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout!.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
        child.stderr!.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`timed out: ip netns exec ${ns[role]} ${cmd} ${args.join(' ')}\n${stderr}`));
        }, opts.timeoutMs ?? 60_000);
        child.on('error', (e) => { clearTimeout(timer); reject(e); });
        child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
        if (opts.input !== undefined) {
          child.stdin!.on('error', () => undefined);
          child.stdin!.end(opts.input);
        }
      });
    },
    destroy() {
      for (const ch of children) {
        if (ch.exitCode === null && ch.signalCode === null && ch.pid !== undefined) {
          try { process.kill(ch.pid, 'SIGKILL'); } catch { /* gone */ }
        }
      }
      for (const name of Object.values(ns)) {
        try { ip(['netns', 'del', name]); } catch { /* not created */ }
      }
      liveLabs.delete(lab);
    },
  };
  liveLabs.add(lab);
  try {
    for (const r of ROLES) {
      ip(['netns', 'add', ns[r]]);
      ip(['-n', ns[r], 'link', 'set', 'lo', 'up']);
    }
    for (const [role, l] of [['collector', lab.collector], ['peer1', lab.peer1], ['peer2', lab.peer2]] as const) {
      ip(['link', 'add', l.hostIf, 'netns', ns.host, 'type', 'veth', 'peer', 'name', l.farIf, 'netns', ns[role]]);
      ip(['-n', ns.host, 'addr', 'add', `${l.hostIp}/24`, 'dev', l.hostIf]);
      ip(['-n', ns[role], 'addr', 'add', `${l.farIp}/24`, 'dev', l.farIf]);
      ip(['-n', ns.host, 'link', 'set', l.hostIf, 'up']);
      ip(['-n', ns[role], 'link', 'set', l.farIf, 'up']);
    }
  } catch (e) {
    lab.destroy();
    throw e;
  }
  return lab;
}

export function labAvailable(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  try {
    ip(['netns', 'list']);
    execFileSync('nft', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
