// Whole-process commands timed in turns: every round runs each command once, in the same
// order, so a shared machine's changing load (single runs of one command here spread by
// 30-50 %) falls on all of them alike. What to read is each round's ratios, and their
// median: two commands' best or median runs taken apart can come from different moments.
import { timeProcessOnce, type ProcessTiming } from './whole-process.js';

export interface RoundCommand {
  name: string;
  /** argv (and environment) of this round's run; runs any clean-up of the previous run first */
  prepare: () => { argv: string[]; env?: NodeJS.ProcessEnv };
}

/** Per command name, its runs' timings in round order. */
export type RoundTimings = Record<string, ProcessTiming[]>;

/**
 * Runs `rounds` rounds of `commands`; throws naming the command that failed. `onRound` sees
 * each round's CPU seconds as it ends (progress).
 */
export function alternateRounds(commands: readonly RoundCommand[], rounds: number,
  onRound?: (round: number, cpu: Record<string, number>) => void): RoundTimings {
  const out: RoundTimings = {};
  for (const c of commands) out[c.name] = [];
  for (let r = 0; r < rounds; r++) {
    const cpu: Record<string, number> = {};
    for (const c of commands) {
      const { argv, env } = c.prepare();
      const t = timeProcessOnce(argv, env);
      if (t === undefined) throw new Error(`${c.name}: the command failed (${argv.join(' ')})`);
      out[c.name]!.push(t);
      cpu[c.name] = t.cpuSeconds;
    }
    onRound?.(r, cpu);
  }
  return out;
}

export function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** "min-max, median m" */
export function span(v: readonly number[], digits = 2): string {
  return `${Math.min(...v).toFixed(digits)}-${Math.max(...v).toFixed(digits)}, median ${median(v).toFixed(digits)}`;
}

/** a[i] / b[i], round by round */
export function roundRatios(a: readonly number[], b: readonly number[]): number[] {
  return a.map((x, i) => x / b[i]!);
}

export function cpuOf(t: readonly ProcessTiming[]): number[] {
  return t.map((x) => x.cpuSeconds);
}
