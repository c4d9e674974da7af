// The limits of what an operator can set on an agent (by signed command or in its config), in
// one table. The command schema validates every envelope
// against it, the console checks flag values against it before signing (so what it accepts
// the schema accepts), and the agent applies it again to the interdiction policy it keeps.
// docs/commands.md and docs/interdiction.md quote it. Pure.
import type { DurationRange } from '../cli/duration.js';

const DAY_MS = 86_400_000;

export const COMMAND_LIMITS = {
  /** how long a signed command may wait for its agent (expiresAt - issuedAt) */
  lifetime: { minMs: 1_000, maxMs: 30 * DAY_MS } satisfies DurationRange,
  /** timed interdiction: isolate / block / degrade --for */
  interdiction: { minMs: 1_000, maxMs: 366 * DAY_MS } satisfies DurationRange,
  /**
   * targeted full capture (capture --full --peer --for): full payloads are the most sensitive
   * and the bulkiest data an agent ships, so a week at most; renew it to go on
   */
  peerCapture: { minMs: 1_000, maxMs: 7 * DAY_MS } satisfies DurationRange,
  /** degrade --rate, bytes per second (1 kbit/s .. 100 Gbit/s) */
  rate: { minBytesPerSec: 125, maxBytesPerSec: 12_500_000_000 },
  /** degrade --loss: percent in (0, 100] in steps of 0.01 */
  loss: { maxPercent: 100, decimals: 2 },
  /** peers one isolate may leave reachable (--allow) */
  allow: 64,
  /** blocks / degrade entries an agent keeps at once */
  blocks: 256,
  degrade: 32,
  /** the time window one capture.retro may ask the agent's ring for (sinceMs .. untilMs) */
  retroWindow: { minMs: 1, maxMs: 7 * DAY_MS } satisfies DurationRange,
  /** payload bytes kept per packet (capture --snaplen) */
  snapLen: { min: 0, max: 65_535 },
  /** packets and seconds per dump (dump-size) */
  dumpPackets: { min: 1, max: 1_000_000 },
  dumpSeconds: { min: 1, max: 3_600 },
} as const;

/** Whether n is a rate the agent can enforce (whole bytes per second within the table). */
export function isRateInRange(n: number): boolean {
  return Number.isSafeInteger(n) && n >= COMMAND_LIMITS.rate.minBytesPerSec && n <= COMMAND_LIMITS.rate.maxBytesPerSec;
}

/** Whether n is a loss percentage in (0, 100] with at most two decimals. */
export function isLossInRange(n: number): boolean {
  if (!Number.isFinite(n) || n <= 0 || n > COMMAND_LIMITS.loss.maxPercent) return false;
  const scaled = n * 10 ** COMMAND_LIMITS.loss.decimals;
  return Math.abs(Math.round(scaled) - scaled) <= 1e-6;
}
