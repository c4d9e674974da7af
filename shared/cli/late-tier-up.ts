// The V8 setting the batch commands (`meerkat-collector import`, `meerkat-agent replay`) change
// once they are warm: a later tier-up for the code that becomes hot only after that. Their
// per-packet code (reader, decoder, flow engine or dump writer) is hot within the first tens of
// thousands of packets and is optimized then; the code that runs a few times per flow or
// application record (the analyzers, the metadata extractor, flow records) is run often enough
// that V8 optimizes it too, seldom enough that the optimized code does not win back its
// compilation in one run (docs/benchmarks.md, "Where the rest of `import` goes": the compiler is
// half of what the analyzers and the extraction cost). After LATE_TIER_UP_PACKETS the interrupt
// budget (the bytecode a function runs between V8's tier-up checks) is raised, so that such code
// stays in baseline code longer. Set at run time with node:v8's setFlagsFromString, as replay's
// other setting is (agent/commands/replay-v8-flags.ts: a V8 flag on node's command line costs
// node's code cache). MEERKAT_LATE_TIER_UP=off keeps V8's default, for comparisons.

/** Something to do once a batch command has read `packets` packets in all. */
export interface Milestone {
  packets: number;
  run: () => void;
}

/** packets read before the change: the per-packet code is optimized by then (at 20,000 an import cost +2.6 %) */
export const LATE_TIER_UP_PACKETS = 200_000;
/** 15 x V8's default (67,584 on node 20): 0.5 M, 1 M and 2 M measured alike on import, 16 M cost +6 % */
export const LATE_TIER_UP_FLAGS = '--interrupt-budget=1000000';

/** node options under which the setting stays off: no optimizing JIT, or the caller chose the tier-up itself */
const KEEP_AS_STARTED = ['--jitless', '--lite-mode', '--no-opt', '--max-opt', '--interrupt-budget'];

/**
 * The milestone that applies LATE_TIER_UP_FLAGS through `set` once LATE_TIER_UP_PACKETS packets
 * are read; undefined when the process was started with one of KEEP_AS_STARTED (with or without
 * a value), or env has MEERKAT_LATE_TIER_UP=off.
 */
export function lateTierUp(execArgv: readonly string[], env: NodeJS.ProcessEnv, set: (flags: string) => void): Milestone | undefined {
  if (env.MEERKAT_LATE_TIER_UP === 'off') return undefined;
  const started = execArgv.map((a) => a.replace(/_/g, '-').split('=')[0]!);
  if (started.some((a) => KEEP_AS_STARTED.includes(a))) return undefined;
  return { packets: LATE_TIER_UP_PACKETS, run: () => set(LATE_TIER_UP_FLAGS) };
}

/** A function to hand the packets read so far, now and then: runs `m` once, when they first reach m.packets. */
export function milestoneCheck(m: Milestone | undefined): (packets: number) => void {
  if (m === undefined) return () => {};
  let due = true;
  return (packets) => {
    if (due && packets >= m.packets) {
      due = false;
      m.run();
    }
  };
}
