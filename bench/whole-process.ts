// Times a command as a whole process, start-up included: CPU seconds (user + system, of the
// process and its children, read with bash's `times`) and wall seconds. The bench compares
// Meerkat's CLIs with argus this way, in the same run, so start-up, module loading and the
// final database writes count as they do for a user.
import { spawnSync } from 'node:child_process';

export interface ProcessTiming {
  /** user + system CPU seconds of the command and its children */
  cpuSeconds: number;
  wallSeconds: number;
}

/** `times` prints 0m1.234s */
function seconds(t: string): number {
  const m = /^(\d+)m([\d.]+)s$/.exec(t);
  return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
}

/** One run of argv[0] with argv[1..] (no shell quoting involved); undefined when it fails. */
export function timeProcessOnce(argv: readonly string[], env?: NodeJS.ProcessEnv): ProcessTiming | undefined {
  // "$@" runs the command with its arguments as given; `times` then reports the children
  const script = 's=$(date +%s.%N); "$@" >/dev/null 2>&1 || exit 3; e=$(date +%s.%N); echo "wall $s $e"; times';
  const r = spawnSync('bash', ['-c', script, 'timed', ...argv], { encoding: 'utf8', env: env ?? process.env });
  if (r.status !== 0) return undefined;
  const lines = r.stdout.trim().split('\n');
  const wall = lines.find((l) => l.startsWith('wall'))!.split(' ');
  // two lines: the shell's own user/sys, then its children's
  const child = lines[lines.length - 1]!.split(/\s+/);
  return { cpuSeconds: seconds(child[0]!) + seconds(child[1]!), wallSeconds: Number(wall[2]) - Number(wall[1]) };
}

/**
 * Best of `runs` (the least disturbed by other work on a shared machine; the first run also
 * pays for reading the input into the page cache). `before` runs ahead of each run (e.g. to
 * remove the previous run's output).
 */
export function timeProcess(argv: readonly string[], opts: { runs?: number; before?: () => void; env?: NodeJS.ProcessEnv } = {}): ProcessTiming | undefined {
  let best: ProcessTiming | undefined;
  for (let i = 0; i < (opts.runs ?? 2); i++) {
    opts.before?.();
    const t = timeProcessOnce(argv, opts.env);
    if (t === undefined) return undefined;
    if (best === undefined || t.cpuSeconds < best.cpuSeconds) best = t;
  }
  return best;
}
