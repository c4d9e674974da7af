// Test helper: runs a systemd unit's ExecStart the way systemd would, on a machine without
// systemd as PID 1: as the unit's User/Group, with its capability bounding set and ambient
// capabilities, no-new-privileges and its UMask, its EnvironmentFile when present, through
// setpriv (util-linux). Parses only what the Meerkat units use, and refuses a unit that uses
// something else this helper would silently drop.
import { existsSync, readFileSync } from 'node:fs';

export interface ServiceUnit {
  user: string;
  group: string;
  execStart: string[];
  ambient: string[];
  bounding: string[];
  noNewPrivileges: boolean;
  umask: string;
  environmentFiles: string[];
}

/** the [Service] section's settings that decide how the process starts */
export function parseServiceUnit(text: string): ServiceUnit {
  const service = /\[Service\]([\s\S]*?)(\n\[|$)/.exec(text)?.[1] ?? '';
  const values = new Map<string, string[]>();
  for (const raw of service.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    values.set(key, [...(values.get(key) ?? []), line.slice(eq + 1)]);
  }
  const one = (k: string): string | undefined => values.get(k)?.at(-1);
  const exec = one('ExecStart');
  if (!exec || !one('User')) throw new Error('unit has no ExecStart or User');
  if (/["'$%]/.test(exec)) throw new Error(`ExecStart needs quoting or specifiers this helper does not expand: ${exec}`);
  const caps = (k: string): string[] => (one(k) ?? '').split(/\s+/).filter(Boolean).map((c) => c.replace(/^CAP_/, '').toLowerCase());
  return {
    user: one('User')!,
    group: one('Group') ?? one('User')!,
    execStart: exec.split(/\s+/),
    ambient: caps('AmbientCapabilities'),
    bounding: caps('CapabilityBoundingSet'),
    noNewPrivileges: one('NoNewPrivileges') === 'yes',
    umask: one('UMask') ?? '0022',
    environmentFiles: values.get('EnvironmentFile') ?? [],
  };
}

/** [program, ...args] that start the unit's ExecStart as systemd would (run it with sh). */
export function unitCommand(u: ServiceUnit): string[] {
  const plus = (cs: string[]): string => cs.map((c) => `+${c}`).join(',');
  const setpriv = [
    'setpriv', `--reuid=${u.user}`, `--regid=${u.group}`, '--init-groups',
    ...(u.ambient.length ? [`--inh-caps=${plus(u.ambient)}`, `--ambient-caps=${plus(u.ambient)}`] : []),
    `--bounding-set=-all${u.bounding.length ? `,${plus(u.bounding)}` : ''}`,
    ...(u.noNewPrivileges ? ['--no-new-privs'] : []),
    '--', ...u.execStart,
  ];
  // EnvironmentFile=-path: optional; variables exported before the switch of user
  const envFiles = u.environmentFiles.map((f) => f.replace(/^-/, '')).filter((f) => existsSync(f));
  const sourceEnv = envFiles.map((f) => `set -a; . '${f}'; set +a; `).join('');
  return ['sh', '-c', `umask ${u.umask}; ${sourceEnv}exec "$@"`, 'unit', ...setpriv];
}

export function loadServiceUnit(file: string): ServiceUnit {
  return parseServiceUnit(readFileSync(file, 'utf8'));
}

/** The capability sets of a running process, from /proc/PID/status (hex masks). */
export function processCapabilities(pid: number): { uid: number; eff: bigint; amb: bigint; bnd: bigint; noNewPrivs: boolean } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (k: string): string => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(s)?.[1] ?? '';
  return {
    uid: Number(field('Uid').split(/\s+/)[0]),
    eff: BigInt(`0x${field('CapEff')}`),
    amb: BigInt(`0x${field('CapAmb')}`),
    bnd: BigInt(`0x${field('CapBnd')}`),
    noNewPrivs: field('NoNewPrivs') === '1',
  };
}

/** CAP_NET_ADMIN (12) and CAP_NET_RAW (13) */
export const NET_ADMIN_AND_RAW = (1n << 12n) | (1n << 13n);
