// The V8 settings `meerkat-agent replay` runs with, set inside the process once its modules are
// loaded instead of on node's command line. Why: any V8 flag on the command line changes V8's
// flag hash, and V8 then refuses node's own code cache and compiles every node built-in module
// the process loads from source: ~100 M instructions, a quarter of replay's start-up
// (docs/benchmarks.md, "meerkat-agent replay, sixth round").

/**
 * --no-lazy-feedback-allocation: a function records type feedback from its first call instead
 * of its ~8th, so the rare paths replay meets early (a dump's first timestamp, the first block
 * flush) have feedback when TurboFan compiles the hot functions, which then do not deoptimize
 * later (docs/benchmarks.md, third round). Set at run time it acts on the functions first
 * called after it: the per-packet ones are.
 */
export const REPLAY_V8_FLAGS = '--no-lazy-feedback-allocation';

/** node options under which the batch settings stay off: no optimizing JIT, or the caller chose the allocation itself */
const KEEP_AS_STARTED = ['--lite-mode', '--jitless', '--lazy-feedback-allocation', '--no-lazy-feedback-allocation'];

/**
 * Applies REPLAY_V8_FLAGS through `set` (node:v8's setFlagsFromString) unless the process was
 * started with one of KEEP_AS_STARTED (the launcher's lean profile, MEERKAT_NODE_FLAGS).
 * Returns whether it did.
 */
export function applyReplayV8Flags(execArgv: readonly string[], set: (flags: string) => void): boolean {
  if (execArgv.some((a) => KEEP_AS_STARTED.includes(a.replace(/_/g, '-')))) return false;
  set(REPLAY_V8_FLAGS);
  return true;
}
