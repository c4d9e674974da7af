// Test helper: a small star of network namespaces - one hub joined by its own veth pair to each
// spoke. The remote-control tests use the default star: "host" (the agent) joined to
// "collector", "peer1" and "peer2" (10.213.X.0/24 for the collector and peer1 links, 10.214.Y.0/24
// for peer2, declared external to the agent). The organisation tests use a star with the
// collector at the hub and one agent host per organisation as spokes. Addresses are private and
// exist only inside these namespaces. Names carry the creating pid; namespaces of dead creators
// are swept on the next use; all of them go on destroy(), at process exit and on SIGINT/SIGTERM.
// Root and iproute2 required.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cleanupOnExit, runIp as ip, sweepStaleNamespaces } from '../helpers/netns.js';

export interface LabLink {
  /** interface inside the hub / inside the spoke */
  hostIf: string;
  farIf: string;
  /** the hub's address on this link / the spoke's */
  hostIp: string;
  farIp: string;
}

export interface StarLab<R extends string> {
  ns: Record<R, string>;
  /** the link of each spoke */
  links: Record<string, LabLink>;
  spawn(role: R, cmd: string, args: readonly string[], opts?: SpawnOptions): ChildProcess;
  exec(role: R, cmd: string, args: readonly string[], opts?: { timeoutMs?: number; input?: string }): Promise<{ code: number | null; stdout: string; stderr: string }>;
  destroy(): void;
}

const ROLES = ['host', 'collector', 'peer1', 'peer2'] as const;
export type Role = (typeof ROLES)[number];

export interface NetnsLab extends StarLab<Role> {
  collector: LabLink;
  peer1: LabLink;
  peer2: LabLink;
}

const liveLabs = new Set<StarLab<string>>();
let hooks = false;
let counter = 0;

function installHooks(): void {
  if (hooks) return;
  hooks = true;
  cleanupOnExit(() => { for (const l of [...liveLabs]) l.destroy(); });
}

export interface StarOptions<R extends string> {
  /** namespace name prefix (3 letters; the sweep of stale namespaces goes by it) */
  prefix: string;
  hub: R;
  /** each spoke with the /24 its link is on (hub .1, spoke .2) */
  spokes: ReadonlyArray<{ role: R; net: string }>;
}

/** Creates the namespaces and links of a star (synchronously); destroy() removes them. */
export function createStarLab<R extends string>(o: StarOptions<R>): StarLab<R> {
  installHooks();
  const roles = [o.hub, ...o.spokes.map((s) => s.role)];
  sweepStaleNamespaces(o.prefix, `(${roles.join('|')})`);
  const n = counter++;
  const tag = `${o.prefix}-${process.pid}-${n}`;
  const short = `${process.pid.toString(36)}${n.toString(36)}`;
  const ns = Object.fromEntries(roles.map((r) => [r, `${tag}-${r}`])) as Record<R, string>;
  const links: Record<string, LabLink> = {};
  o.spokes.forEach((s, i) => {
    links[s.role] = { hostIf: `${o.prefix}${short}h${i}`.slice(0, 15), farIf: `${o.prefix}${short}f${i}`.slice(0, 15), hostIp: `${s.net}.1`, farIp: `${s.net}.2` };
  });
  const children = new Set<ChildProcess>();
  const lab: StarLab<R> = {
    ns,
    links,
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
      for (const name of Object.values(ns) as string[]) {
        try { ip(['netns', 'del', name]); } catch { /* not created */ }
      }
      liveLabs.delete(lab as StarLab<string>);
    },
  };
  liveLabs.add(lab as StarLab<string>);
  try {
    for (const r of roles) {
      ip(['netns', 'add', ns[r]]);
      ip(['-n', ns[r], 'link', 'set', 'lo', 'up']);
    }
    for (const s of o.spokes) {
      const l = links[s.role]!;
      ip(['link', 'add', l.hostIf, 'netns', ns[o.hub], 'type', 'veth', 'peer', 'name', l.farIf, 'netns', ns[s.role]]);
      ip(['-n', ns[o.hub], 'addr', 'add', `${l.hostIp}/24`, 'dev', l.hostIf]);
      ip(['-n', ns[s.role], 'addr', 'add', `${l.farIp}/24`, 'dev', l.farIf]);
      ip(['-n', ns[o.hub], 'link', 'set', l.hostIf, 'up']);
      ip(['-n', ns[s.role], 'link', 'set', l.farIf, 'up']);
    }
  } catch (e) {
    lab.destroy();
    throw e;
  }
  return lab;
}

/** The remote-control star: the agent's "host" at the hub. */
export function createNetnsLab(): NetnsLab {
  const o = (): number => 1 + (randomBytes(1)[0]! % 250);
  let a = o();
  let b = o();
  while (b === a) b = o();
  const c = o();
  const star = createStarLab<Role>({ prefix: 'mkc', hub: 'host', spokes: [{ role: 'collector', net: `10.213.${a}` }, { role: 'peer1', net: `10.213.${b}` }, { role: 'peer2', net: `10.214.${c}` }] });
  return { ...star, collector: star.links.collector!, peer1: star.links.peer1!, peer2: star.links.peer2! };
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
