// Test helper: a small LAN of network namespaces - "host" (where interdiction rules are
// applied), "peer1", "peer2" and "collector" - each with one veth into a bridge that lives in a
// fifth "sw" namespace. Addresses come from 10.214.X.0/24 and fd00:214:X::/64 and exist only
// inside these namespaces. Names carry the creating pid; namespaces left by a dead process are
// swept on the next use, and everything is removed on destroy and on process exit / signals.
// Requires root and iproute2.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cleanupOnExit, runIp as ip, sweepStaleNamespaces } from '../../helpers/netns.js';

export const ROLES = ['host', 'peer1', 'peer2', 'collector'] as const;
export type Role = (typeof ROLES)[number];

export interface Lan {
  /** namespace name per role, plus the switch */
  ns: Record<Role | 'sw', string>;
  ip4: Record<Role, string>;
  ip6: Record<Role, string>;
  subnet4: string;
}

const PREFIX = 'mki';
const live = new Map<string, { lan: Lan; children: Set<ChildProcess> }>();
let counter = 0;
let hooked = false;

function sweepStale(): void {
  sweepStaleNamespaces(PREFIX, `\\w+`);
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  cleanupOnExit(() => { for (const { lan } of [...live.values()]) destroyLan(lan); });
}

export function createLan(): Lan {
  hook();
  sweepStale();
  const tag = `${PREFIX}-${process.pid}-${counter++}`;
  const oct = 1 + (randomBytes(1)[0]! % 250);
  const hex = randomBytes(2).toString('hex');
  const ns = { host: `${tag}-host`, peer1: `${tag}-peer1`, peer2: `${tag}-peer2`, collector: `${tag}-collector`, sw: `${tag}-sw` };
  const ip4 = {} as Record<Role, string>;
  const ip6 = {} as Record<Role, string>;
  ROLES.forEach((r, i) => {
    ip4[r] = `10.214.${oct}.${i + 1}`;
    ip6[r] = `fd00:214:${hex}::${i + 1}`;
  });
  const lan: Lan = { ns, ip4, ip6, subnet4: `10.214.${oct}.0/24` };
  live.set(tag, { lan, children: new Set() });
  try {
    for (const n of Object.values(ns)) ip(['netns', 'add', n]);
    ip(['-n', ns.sw, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', ns.sw, 'link', 'set', 'br0', 'up']);
    for (const r of ROLES) {
      // both ends are created inside their namespaces: no name ever appears in the root namespace
      ip(['link', 'add', 'eth0', 'netns', ns[r], 'type', 'veth', 'peer', 'name', `p-${r}`, 'netns', ns.sw]);
      ip(['-n', ns.sw, 'link', 'set', `p-${r}`, 'master', 'br0']);
      ip(['-n', ns.sw, 'link', 'set', `p-${r}`, 'up']);
      ip(['-n', ns[r], 'link', 'set', 'lo', 'up']);
      ip(['-n', ns[r], 'addr', 'add', `${ip4[r]}/24`, 'dev', 'eth0']);
      ip(['-n', ns[r], 'addr', 'add', `${ip6[r]}/64`, 'dev', 'eth0', 'nodad']);
      ip(['-n', ns[r], 'link', 'set', 'eth0', 'up']);
    }
  } catch (e) {
    destroyLan(lan);
    throw e;
  }
  return lan;
}

export function destroyLan(lan: Lan): void {
  const tag = lan.ns.host.slice(0, -'-host'.length);
  const entry = live.get(tag);
  for (const c of entry?.children ?? []) {
    if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
      try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }
  for (const n of Object.values(lan.ns)) {
    try { ip(['netns', 'del', n]); } catch { /* not created or already gone */ }
  }
  live.delete(tag);
}

/** Starts a process inside a namespace of the LAN (killed when the LAN is destroyed). */
export function lanSpawn(lan: Lan, role: Role, cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', lan.ns[role], cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
  const entry = live.get(lan.ns.host.slice(0, -'-host'.length));
  if (entry) {
    entry.children.add(child);
    child.once('exit', () => entry.children.delete(child));
  }
  return child;
}

/** Runs a command in a namespace to completion (synchronously); throws on a non-zero exit. */
export function lanExec(lan: Lan, role: Role, cmd: string, args: readonly string[], input?: string): string {
  return execFileSync('ip', ['netns', 'exec', lan.ns[role], cmd, ...args], { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}
