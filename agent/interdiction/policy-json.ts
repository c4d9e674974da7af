// A policy read back from JSON (the agent's interdiction state file), checked field by field
// against the same limits as a command, so a damaged or hand-edited file cannot install more
// (or other) rules than a command could. Pure.
import { COMMAND_LIMITS } from '../../shared/commands/command-limits.js';
import { InterdictionInputError } from '../../shared/interdiction/interdiction-input.js';
import { emptyPolicy, MAX_MANAGEMENT_CHANNELS, type BlockEntry, type DegradeEntry, type InterdictionPolicy } from './policy.js';
import { checkLoss, checkManagementChannel, checkPeer, checkRate } from './policy-values.js';

function asObject(x: unknown, what: string): Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new InterdictionInputError(what, JSON.stringify(x) ?? String(x), 'an object');
  return x as Record<string, unknown>;
}

function asArray(x: unknown, what: string, max: number): unknown[] {
  if (x === undefined) return [];
  if (!Array.isArray(x)) throw new InterdictionInputError(what, JSON.stringify(x) ?? String(x), 'an array');
  if (x.length > max) throw new InterdictionInputError(what, `${x.length} entries`, `at most ${max} entries`);
  return x;
}

function asTime(x: unknown, what: string): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) throw new InterdictionInputError(what, String(x), 'a time in ms since the epoch');
  return x;
}

/** A policy from JSON, checked field by field. @throws InterdictionInputError or PeerRefError */
export function validatePolicy(x: unknown): InterdictionPolicy {
  const o = asObject(x, 'policy');
  if (o.mode !== 'none' && o.mode !== 'isolate') throw new InterdictionInputError('policy.mode', String(o.mode), '"none" or "isolate"');
  const p = emptyPolicy();
  p.mode = o.mode;
  p.allow = [...new Set(asArray(o.allow, 'policy.allow', COMMAND_LIMITS.allow).map((a) => checkPeer(String(a), 'policy.allow')))];
  for (const b of asArray(o.blocks, 'policy.blocks', COMMAND_LIMITS.blocks)) {
    const bo = asObject(b, 'policy.blocks[]');
    const e: BlockEntry = { peer: checkPeer(String(bo.peer), 'policy.blocks[].peer') };
    if (bo.expiresAt !== undefined) e.expiresAt = asTime(bo.expiresAt, 'policy.blocks[].expiresAt');
    p.blocks.push(e);
  }
  for (const d of asArray(o.degrade, 'policy.degrade', COMMAND_LIMITS.degrade)) {
    const dobj = asObject(d, 'policy.degrade[]');
    const e: DegradeEntry = {};
    if (dobj.peer !== undefined) e.peer = checkPeer(String(dobj.peer), 'policy.degrade[].peer');
    if (dobj.rateBytesPerSec !== undefined) e.rateBytesPerSec = checkRate(Number(dobj.rateBytesPerSec), 'policy.degrade[].rateBytesPerSec');
    if (dobj.lossPercent !== undefined) e.lossPercent = checkLoss(Number(dobj.lossPercent), 'policy.degrade[].lossPercent');
    if (e.rateBytesPerSec === undefined && e.lossPercent === undefined) throw new InterdictionInputError('policy.degrade[]', JSON.stringify(d), 'rateBytesPerSec and/or lossPercent');
    if (dobj.expiresAt !== undefined) e.expiresAt = asTime(dobj.expiresAt, 'policy.degrade[].expiresAt');
    p.degrade.push(e);
  }
  if (o.isolateExpiresAt !== undefined) p.isolateExpiresAt = asTime(o.isolateExpiresAt, 'policy.isolateExpiresAt');
  p.managementChannels = asArray(o.managementChannels, 'policy.managementChannels', MAX_MANAGEMENT_CHANNELS).map((c) => {
    const co = asObject(c, 'policy.managementChannels[]');
    return checkManagementChannel(String(co.address), Number(co.port));
  });
  return p;
}
