// Duration text, one grammar for every flag or field that takes a duration (--for, --expires,
// --since, --window, token lifetimes): one or more <number><unit> parts, unit ms, s, m, h or d
// ("90s", "10m", "1h30m", "1.5h", "7d", "1500ms"); a bare number means seconds ("90").
// Parsed to whole milliseconds and, when a range is given, checked against it. Pure.
import { InputError } from '../errors.js';

/** Text that is not a duration, or a duration outside the range the option allows. */
export class DurationError extends InputError {
  readonly code = 'MEERKAT_ERR_DURATION';
  constructor(readonly option: string, readonly input: string, expected: string) {
    super(`${option}: expected ${expected}; got ${JSON.stringify(input)}`);
    this.name = 'DurationError';
  }
}

/** An inclusive range of durations, ms; maxMs may be Infinity (no upper bound). */
export interface DurationRange {
  readonly minMs: number;
  readonly maxMs: number;
}

/** Any duration of a second or more. */
export const ONE_SECOND_OR_MORE: DurationRange = { minMs: 1_000, maxMs: Infinity };

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_RE = /^(?:\d{1,15}(?:\.\d{1,9})?\s*(?:ms|s|m|h|d)\s*)+$/;
const PART_RE = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/g;
const SECONDS_RE = /^\d{1,15}(?:\.\d{1,9})?$/;
const MAX_TEXT = 64;

/** Whether text is written as a duration with units ("2h", "1h30m"), as opposed to a bare number or a date. */
export function hasDurationUnits(text: string): boolean {
  const t = text.trim();
  return t.length <= MAX_TEXT && DURATION_RE.test(t);
}

/** Whether ms is a whole number of milliseconds within the range. */
export function inDurationRange(ms: number, range: DurationRange): boolean {
  return Number.isSafeInteger(ms) && ms >= range.minMs && ms <= range.maxMs;
}

/** "1h30m" for 5_400_000: the largest units first, for messages. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return String(ms);
  if (ms === 0) return '0s';
  let left = Math.round(ms);
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms']) {
    const size = UNIT_MS[unit]!;
    const n = Math.floor(left / size);
    if (n > 0) {
      out += `${n}${unit}`;
      left -= n * size;
    }
  }
  return out;
}

function expected(range: DurationRange | undefined): string {
  const shape = 'a duration e.g. 30s, 10m, 2h, 1h30m';
  if (range === undefined) return shape;
  return range.maxMs === Infinity ? `${shape} (at least ${formatDuration(range.minMs)})` : `${shape} (${formatDuration(range.minMs)} .. ${formatDuration(range.maxMs)})`;
}

/**
 * Duration text -> milliseconds (whole, rounded). With a range, a value outside it is refused.
 * @throws DurationError naming the option, what was expected and what came
 */
export function parseDuration(text: string, option: string, range?: DurationRange): number {
  const t = typeof text === 'string' ? text.trim() : '';
  let ms: number;
  if (t.length > MAX_TEXT) throw new DurationError(option, String(text), expected(range));
  if (SECONDS_RE.test(t)) ms = Number(t) * 1_000;
  else if (DURATION_RE.test(t)) {
    ms = 0;
    for (const [, n, unit] of t.matchAll(PART_RE)) ms += Number(n) * UNIT_MS[unit!]!;
  } else throw new DurationError(option, String(text), expected(range));
  ms = Math.round(ms);
  if (!Number.isSafeInteger(ms) || (range !== undefined && !inDurationRange(ms, range))) {
    throw new DurationError(option, String(text), expected(range));
  }
  return ms;
}
