// Times Debian's argus on a capture in the same run as our own figures, so the
// printed ratio compares like with like on this machine.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ArgusTiming {
  /** user + system CPU seconds of argus */
  cpuSeconds: number;
  wallSeconds: number;
}

/**
 * `argus -r FILE -w OUT`, best of `runs` (the first run also pays for reading the capture
 * into the page cache); CPU time read with bash's `times` (children's user/sys).
 */
export function timeArgus(capture: string, runs = 2): ArgusTiming | undefined {
  let best: ArgusTiming | undefined;
  for (let i = 0; i < runs; i++) {
    const t = timeArgusOnce(capture);
    if (t === undefined) return undefined;
    if (best === undefined || t.cpuSeconds < best.cpuSeconds) best = t;
  }
  return best;
}

function timeArgusOnce(capture: string): ArgusTiming | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'meerkat-argus-'));
  try {
    const conf = join(dir, 'argus.conf');
    const script = `printf 'ARGUS_FLOW_TYPE="Bidirectional"\\nARGUS_FLOW_KEY="CLASSIC_5_TUPLE"\\n' > '${conf}'; s=$(date +%s.%N); argus -F '${conf}' -r '${capture}' -w '${join(dir, 'out.argus')}' >/dev/null 2>&1 || exit 3; e=$(date +%s.%N); echo "wall $s $e"; times`;
    const r = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    if (r.status !== 0) return undefined;
    const lines = r.stdout.trim().split('\n');
    const wall = lines.find((l) => l.startsWith('wall'))!.split(' ');
    // `times` prints two lines: shell user/sys, then children user/sys, as 0m1.234s
    const child = lines[lines.length - 1]!.split(/\s+/);
    const secs = (t: string): number => {
      const m = /^(\d+)m([\d.]+)s$/.exec(t);
      return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
    };
    return { cpuSeconds: secs(child[0]!) + secs(child[1]!), wallSeconds: Number(wall[2]) - Number(wall[1]) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
