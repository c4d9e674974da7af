// Progress of a long import on stderr (cli-progress), by bytes of input consumed.
// Shown only when stderr is a terminal, or when forced (option, or MEERKAT_PROGRESS=1
// as for the other commands; MEERKAT_PROGRESS=0 disables 'auto'); otherwise a no-op.
import { createRequire } from 'node:module';
import type CliProgress from 'cli-progress';
import { milestoneCheck, type Milestone } from '../../shared/cli/late-tier-up.js';

// loaded when a bar is shown: an import without one (a script, a pipe) does not pay for its 30 modules
const load = (): typeof CliProgress => createRequire(import.meta.url)('cli-progress') as typeof CliProgress;

export interface ProgressSink {
  start(totalBytes: number): void;
  /** bytes of input consumed so far, and the packets read so far */
  update(doneBytes: number, packets: number): void;
  stop(): void;
}

const NO_PROGRESS: ProgressSink = { start() {}, update() {}, stop() {} };

/** 'auto': only when stderr is a TTY (or MEERKAT_PROGRESS=1); true: always (even into a pipe); false: never. */
export function createProgress(mode: 'auto' | boolean, stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  const env = process.env.MEERKAT_PROGRESS;
  const show = mode === 'auto' ? env === '1' || (stream.isTTY === true && env !== '0') : mode;
  if (!show) return NO_PROGRESS;
  const cliProgress = load();
  const bar = new cliProgress.SingleBar({
    stream,
    noTTYOutput: true,
    hideCursor: stream.isTTY === true,
    format: 'import [{bar}] {percentage}% | {packets} packets | ETA {eta_formatted}',
    fps: 5,
  }, cliProgress.Presets.shades_classic);
  return {
    start(total) { bar.start(Math.max(1, total), 0, { packets: 0 }); },
    update(done, packets) { bar.update(done, { packets }); },
    stop() { bar.stop(); },
  };
}

/**
 * The sink that also runs `m` once, at the first update() counting m.packets or more: the import
 * updates its progress every few thousand frames, so the hot loop gets no test of its own.
 */
export function withMilestone(sink: ProgressSink, m: Milestone | undefined): ProgressSink {
  if (m === undefined) return sink;
  const check = milestoneCheck(m);
  return {
    start(total) { sink.start(total); },
    update(done, packets) {
      sink.update(done, packets);
      check(packets);
    },
    stop() { sink.stop(); },
  };
}
