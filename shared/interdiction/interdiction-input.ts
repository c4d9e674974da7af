// Interdiction values as an operator types them, parsed the same way wherever they are typed:
// rates ("2kbps", "64KB/s") and loss percentages ("50%"), checked against the limits table
// (shared/commands/command-limits.ts). Durations (--for) use shared/cli/duration.ts, peers
// shared/commands/peer-ref.ts. The console parses flags with these; the agent checks the
// numbers it receives against the same table. Pure.
import { InputError } from '../errors.js';
import { COMMAND_LIMITS, isLossInRange, isRateInRange } from '../commands/command-limits.js';

/** Input that is not a valid interdiction request; the message names the option and the value. */
export class InterdictionInputError extends InputError {
  readonly code = 'MEERKAT_ERR_INTERDICTION_INPUT';
  constructor(readonly option: string, readonly value: string, expected: string) {
    super(`${option}: expected ${expected}; got ${JSON.stringify(value)}`);
    this.name = 'InterdictionInputError';
  }
}

const RATE_RE = /^(\d+(?:\.\d+)?)\s*([kKmMgG]i?)?(bps|b\/s|bits?\/s|bits?|Bps|B\/s|B|bytes?\/s)$/;
const RATE_PREFIX: Record<string, number> = { '': 1, k: 1e3, ki: 1024, m: 1e6, mi: 1024 ** 2, g: 1e9, gi: 1024 ** 3 };
const LOSS_EXPECTED = 'a loss percentage in (0, 100], e.g. 50%';

/**
 * "2kbps", "1Mbit/s", "64KB/s", "500B/s", "1.5MiB/s" -> bytes per second (integer, rounded).
 * Lower-case b = bits, upper-case B = bytes; k/M/G are powers of 1000, Ki/Mi/Gi of 1024.
 */
export function parseRate(text: string, option = '--rate'): number {
  const expected = `a rate e.g. 2kbps, 64KB/s, 1Mbit/s (${COMMAND_LIMITS.rate.minBytesPerSec} B/s .. 100 Gbit/s)`;
  const m = RATE_RE.exec(typeof text === 'string' ? text.trim() : '');
  if (!m) throw new InterdictionInputError(option, String(text), expected);
  const mult = RATE_PREFIX[(m[2] ?? '').toLowerCase()]!;
  const bits = m[3]!.startsWith('b') && !m[3]!.startsWith('byte');
  const bytesPerSec = Math.round((Number(m[1]) * mult) / (bits ? 8 : 1));
  if (!isRateInRange(bytesPerSec)) throw new InterdictionInputError(option, String(text), expected);
  return bytesPerSec;
}

/** "50%", "50", "12.5%" -> percent in (0, 100], two decimals at most. */
export function parseLoss(text: string, option = '--loss'): number {
  const t = typeof text === 'string' ? text.trim() : '';
  const m = /^(\d{1,3}(?:\.\d{1,2})?)\s*%?$/.exec(t);
  if (!m || !isLossInRange(Number(m[1]))) throw new InterdictionInputError(option, String(text), LOSS_EXPECTED);
  return Number(m[1]);
}
