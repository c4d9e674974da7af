// Checks of single policy values against the limits table (shared/commands/command-limits.ts),
// for values that arrive as numbers or text from commands and from the state file: peers,
// rates, loss, durations, management channels. Each failure is an InterdictionInputError (or
// a PeerRefError for a peer) naming the field. Pure.
import { inDurationRange } from '../../shared/cli/duration.js';
import { COMMAND_LIMITS, isLossInRange, isRateInRange } from '../../shared/commands/command-limits.js';
import { canonicalAddressOrCidr } from '../../shared/commands/peer-ref.js';
import { InterdictionInputError } from '../../shared/interdiction/interdiction-input.js';
import type { ManagementChannel } from './policy.js';

/** A single address or a CIDR, canonical (host bits set are refused). @throws PeerRefError */
export function checkPeer(text: string, option: string): string {
  return canonicalAddressOrCidr(text, option);
}

export function checkRate(n: number, option: string): number {
  const r = COMMAND_LIMITS.rate;
  if (!isRateInRange(n)) throw new InterdictionInputError(option, String(n), `an integer rate in bytes/s, ${r.minBytesPerSec} .. ${r.maxBytesPerSec}`);
  return n;
}

export function checkLoss(n: number, option: string): number {
  if (!isLossInRange(n)) throw new InterdictionInputError(option, String(n), 'a loss percentage in (0, 100], e.g. 50%');
  return n;
}

export function checkDuration(ms: number, option: string): number {
  const r = COMMAND_LIMITS.interdiction;
  if (!inDurationRange(ms, r)) throw new InterdictionInputError(option, String(ms), `a duration in ms, ${r.minMs} .. ${r.maxMs}`);
  return ms;
}

export function checkManagementChannel(address: string, port: number): ManagementChannel {
  const a = checkPeer(address, 'management channel address');
  if (a.includes('/')) throw new InterdictionInputError('management channel address', address, 'a single IPv4/IPv6 address, not a CIDR');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InterdictionInputError('management channel port', String(port), 'a TCP port 1..65535');
  return { address: a, port };
}
