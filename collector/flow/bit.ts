// 0/1 numbers from conditions, for the flow engine's per-packet code: conditions combined with
// & and | (not && and ||) run every compare for every packet, so V8's optimized code never
// meets a compare that had not run (and has no type feedback) when it was compiled.

/** 1 when b, else 0. */
export function bit(b: boolean): number {
  return b ? 1 : 0;
}
