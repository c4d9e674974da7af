// Times Debian's argus on a capture in the same run as our own figures, so the
// printed ratio compares like with like on this machine.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { timeProcess, type ProcessTiming } from './whole-process.js';

export type ArgusTiming = ProcessTiming;

/**
 * argv of `argus -F CONF -r FILE -w OUT` (bidirectional 5-tuple flows), its configuration
 * written into `dir` and its output `dir`/out.argus (remove it before each run).
 */
export function argusCommand(capture: string, dir: string): { argv: string[]; out: string } {
  const conf = join(dir, 'argus.conf');
  writeFileSync(conf, 'ARGUS_FLOW_TYPE="Bidirectional"\nARGUS_FLOW_KEY="CLASSIC_5_TUPLE"\n');
  const out = join(dir, 'out.argus');
  return { argv: ['argus', '-F', conf, '-r', capture, '-w', out], out };
}

/** `argus -r FILE -w OUT` (bidirectional 5-tuple flows), best of `runs`, as a whole process. */
export function timeArgus(capture: string, runs = 2): ArgusTiming | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'meerkat-argus-'));
  try {
    const { argv, out } = argusCommand(capture, dir);
    return timeProcess(argv, { runs, before: () => rmSync(out, { force: true }) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
