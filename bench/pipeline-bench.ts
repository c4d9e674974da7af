// The agent's replay pipeline on the bench capture (read + decode + exclude + anonymize +
// encode + compress + write), alone: the run.ts figure without the rest of the bench, with
// repeated runs so a noisy shared machine can be judged by its spread.
// Metadata extraction is on, as the agent ships it (app-meta-bench.ts compares it with off).
// Runnable alone: node dist/bench/pipeline-bench.js [--runs=N] [--packets=N] [--profile-only] [--no-metadata]
//   --profile-only: one run, no key setup noise in the figure (for --cpu-prof / callgrind)
//   --no-metadata: the pipeline without metadata extraction
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cpuSeconds } from './report.js';
import { makeBenchCapture } from './make-capture.js';
import { initOwnerKeys } from '../shared/keys/owner-keys.js';
import { replayFiles } from '../agent/pipeline/replay-files.js';
import { repoRoot } from '../shared/util/repo-paths.js';

export interface PipelineBenchResult {
  packets: number;
  /** packets/s per core of each run */
  packetsPerCpuSec: number[];
  /** dump bytes per kept packet (header-only) */
  bytesPerPacket: number;
}

/** Replays `captureFile` `runs` times into throw-away dump directories. */
export async function benchReplayPipeline(captureFile: string, runs = 1, metadata = true): Promise<PipelineBenchResult> {
  const keyDir = mkdtempSync(join(tmpdir(), 'meerkat-bench-key-'));
  const rates: number[] = [];
  let packets = 0;
  let bytesPerPacket = 0;
  try {
    initOwnerKeys(join(keyDir, 'owner'));
    const keyFile = join(keyDir, 'owner', 'anon.key');
    for (let i = 0; i < runs; i++) {
      const dumpDir = mkdtempSync(join(tmpdir(), 'meerkat-bench-dumps-'));
      try {
        const rep = await cpuSeconds(() => replayFiles([captureFile], { outDir: dumpDir, anonymize: 'internal', keyFile, packetsPerDump: 20_000, snapLen: 0, metadata }));
        const kept = rep.result.dumps.reduce((a, d) => a + d.packets, 0);
        const bytes = rep.result.dumps.reduce((a, d) => a + d.bytes, 0);
        packets = rep.result.stats.packetsSeen;
        rates.push(packets / rep.cpu);
        bytesPerPacket = bytes / kept;
      } finally {
        rmSync(dumpDir, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(keyDir, { recursive: true, force: true });
  }
  return { packets, packetsPerCpuSec: rates, bytesPerPacket };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name: string, dflt: number): number => {
    const a = process.argv.find((s) => s.startsWith(`--${name}=`));
    return a ? Number(a.slice(name.length + 3)) : dflt;
  };
  const outDir = join(repoRoot(), 'bench', 'out');
  mkdirSync(outDir, { recursive: true });
  const cap = makeBenchCapture(outDir, arg('packets', 2_000_000));
  const r = await benchReplayPipeline(cap.file, process.argv.includes('--profile-only') ? 1 : arg('runs', 5), !process.argv.includes('--no-metadata'));
  const sorted = [...r.packetsPerCpuSec].sort((a, b) => a - b);
  const m = (x: number): string => (x / 1e6).toFixed(3);
  console.log(`${cap.file}: ${r.packets} packets`);
  console.log(`  replay pipeline: runs ${r.packetsPerCpuSec.map(m).join(' ')} M packets/s per core; median ${m(sorted[sorted.length >> 1]!)}, best ${m(sorted[sorted.length - 1]!)}`);
  console.log(`  dump size, header-only: ${r.bytesPerPacket.toFixed(3)} bytes/packet`);
}
