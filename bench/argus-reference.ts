// Times Debian's argus on a capture in the same run as our own figures, so the
// printed ratio compares like with like on this machine.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { timeProcess, type ProcessTiming } from './whole-process.js';

export type ArgusTiming = ProcessTiming;

/** `argus -r FILE -w OUT` (bidirectional 5-tuple flows), best of `runs`, as a whole process. */
export function timeArgus(capture: string, runs = 2): ArgusTiming | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'meerkat-argus-'));
  try {
    const conf = join(dir, 'argus.conf');
    writeFileSync(conf, 'ARGUS_FLOW_TYPE="Bidirectional"\nARGUS_FLOW_KEY="CLASSIC_5_TUPLE"\n');
    const out = join(dir, 'out.argus');
    return timeProcess(['argus', '-F', conf, '-r', capture, '-w', out], { runs, before: () => rmSync(out, { force: true }) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
