// Time options of the CLIs (--since, --until): ISO 8601 text, epoch seconds, or a duration
// meaning "that long ago". Pure apart from the default clock.
import { UsageError } from './run-cli.js';
import { hasDurationUnits, parseDuration } from './duration.js';

/**
 * A time option: ISO 8601 text, epoch seconds ("1700000000.5"), or a duration meaning
 * "that long ago" ("90s", "15m", "2h", "7d", "1h30m"). Returns µs since the epoch.
 */
export function parseTimeOption(flag: string, text: string, nowMs = Date.now()): number {
  const t = text.trim();
  if (/^\d{9,}(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1e6);
  if (hasDurationUnits(t)) return Math.round((nowMs - parseDuration(t, flag)) * 1000);
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) {
    throw new UsageError(`${flag} expects an ISO time, epoch seconds or a duration ago (e.g. 2h), got ${JSON.stringify(text)}`);
  }
  return ms * 1000;
}
