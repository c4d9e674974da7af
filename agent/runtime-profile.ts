// Which V8 execution profile this agent process runs with. The launcher
// (installer/linux/meerkat-agent) starts every sub-command in the fast profile (the optimizing
// JIT) unless `MEERKAT_AGENT_PROFILE=lean` asks for V8's lite mode (interpreter only, no JIT
// compilers): ~8 MB less resident at about 9 times the CPU per packet, for quiet hosts short of
// memory (docs/agent-memory.md has the figures for both).

export type RuntimeProfile = 'lean' | 'fast';

const NO_JIT = /^--(jitless|lite-mode|lite_mode)$/;
const JIT_BACK_ON = /^--no-(jitless|lite-mode|lite_mode)$/;

/** 'lean' when V8 was started without its JIT (--jitless or --lite-mode, the last one given wins). */
export function runtimeProfile(execArgv: readonly string[] = process.execArgv): RuntimeProfile {
  let lean = false;
  for (const a of execArgv) {
    if (NO_JIT.test(a)) lean = true;
    else if (JIT_BACK_ON.test(a)) lean = false;
  }
  return lean ? 'lean' : 'fast';
}

/** Kernel drops in one health interval that say a lean agent cannot keep up (not a lone burst). */
const LEAN_DROPS_MIN = 1_000;

/**
 * A warning for the operator when a lean agent's capture fell behind during one health interval
 * (kernel drops, of the packets the kernel offered), or undefined. Lone bursts that the ring
 * absorbed nearly whole are not worth it; a fast agent is told nothing (it has no faster mode).
 */
export function leanCaptureAdvice(profile: RuntimeProfile, kernelDrops: number, packetsSeen: number): string | undefined {
  if (profile !== 'lean' || kernelDrops < LEAN_DROPS_MIN) return undefined;
  const share = kernelDrops / (kernelDrops + Math.max(0, packetsSeen));
  if (share < 0.01) return undefined;
  return `the kernel dropped ${kernelDrops} packets (${(share * 100).toFixed(1)} %) while the agent runs in the lean profile: ` +
    'if this host sustains such rates, run it with MEERKAT_AGENT_PROFILE=fast (/etc/default/meerkat-agent)';
}
