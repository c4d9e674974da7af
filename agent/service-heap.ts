// V8 heap settings for the long-running agent service (`meerkat-agent run`), applied from
// inside the process so they hold however it is started: a service unit, the installed bin,
// or `node dist/agent/cli.js run` as the tests and the demo start it.
//
// The young generation is the one that matters: V8 doubles its two semi-spaces (1 -> 2 -> ...
// -> 16 MiB each) whenever much of what is allocated survives a scavenge, which the capture
// pipeline does all the time, and rarely gives the memory back. Left alone it was the largest
// single part of the agent's private memory (~30 MB of ~50; docs/agent-memory.md). The
// semi-space size can only be set at start-up (--max-semi-space-size), but whether to grow is
// decided at each scavenge from --semi-space-growth-factor, which can be changed at run time.
//
// Two phases: growth is off from the first line of `run` through module loading and the
// pipeline warm-up (long synchronous bursts), so the semi-spaces stay at V8's starting 1 MiB;
// once the service runs, they may grow to the cap, steered after every GC.
import type { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/**
 * Steady-state semi-space cap in MiB. At 1 MiB the pipeline lost ~25 % of its throughput in
 * allocation-heavy (replay) runs; 2 MiB costs a few percent and ~2 MB more than 1 MiB; each
 * doubling beyond adds ~4 MB resident.
 */
const SERVICE_MAX_SEMI_SPACE_MB = 2;

const MIB = 1024 * 1024;
const OPERATOR_FLAG = /(^|\s)--(max|min)-semi-space-size(=|\s|$)|(^|\s)--semi-space-growth-factor(=|\s|$)/;

export interface ServiceHeapSettings {
  /** the steady-state cap, or null when the operator sized the young generation themselves */
  maxSemiSpaceMb: number | null;
}

let held = false;
let observer: PerformanceObserver | undefined;

/** Bytes of one semi-space now (V8 reports new_space as both semi-spaces together). */
function semiSpaceBytes(): number {
  const s = getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
  return s ? s.space_size / 2 : 0;
}

function setGrowth(on: boolean): void {
  setFlagsFromString(`--semi-space-growth-factor=${on ? 2 : 1}`);
}

/** The node flags this process was started with (command line and NODE_OPTIONS). */
function startFlags(): string {
  return [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
}

/**
 * Phase 1, first thing in `run`: no young-generation growth while the agent loads and warms
 * up. A young-generation flag given to node (command line or NODE_OPTIONS) wins: then
 * nothing is changed, now or in phase 2.
 */
export function holdYoungGeneration(nodeFlags = startFlags()): boolean {
  if (OPERATOR_FLAG.test(nodeFlags)) return false;
  setGrowth(false);
  held = true;
  return true;
}

/**
 * Phase 2, once the service runs: the semi-spaces may grow up to the cap. Growth is decided
 * at a scavenge and steered here after each GC, between event-loop turns, so one synchronous
 * stretch that allocates several MB with much surviving can still push them one step over
 * (V8 shrinks them again when allocation slows down, and they grow back to the cap only).
 */
export function capYoungGeneration(maxSemiSpaceMb = SERVICE_MAX_SEMI_SPACE_MB): ServiceHeapSettings {
  if (!held) return { maxSemiSpaceMb: null };
  const cap = maxSemiSpaceMb * MIB;
  let growing = false;
  const steer = (): void => {
    const grow = semiSpaceBytes() < cap;
    if (grow === growing) return;
    growing = grow;
    setGrowth(grow);
  };
  // perf_hooks is loaded here, not at start-up: growth stays held until the observer is in
  // place, so the cap is never passed unobserved
  void import('node:perf_hooks').then(({ PerformanceObserver: Observer }) => {
    observer?.disconnect();
    observer = new Observer(steer);
    observer.observe({ entryTypes: ['gc'] });
    steer();
  });
  return { maxSemiSpaceMb };
}
