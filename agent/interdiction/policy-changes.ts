// The rules that change an interdiction policy: one PolicyChange at a time (isolate, block,
// degrade, their undoing, release) and the management channels that are never cut. Each
// returns a new policy and leaves its input alone. Pure.
import { COMMAND_LIMITS } from '../../shared/commands/command-limits.js';
import { InterdictionInputError } from '../../shared/interdiction/interdiction-input.js';
import { clonePolicy, emptyPolicy, MAX_MANAGEMENT_CHANNELS, type BlockEntry, type DegradeEntry, type InterdictionPolicy, type ManagementChannel, type PolicyChange } from './policy.js';
import { checkDuration, checkLoss, checkManagementChannel, checkPeer, checkRate } from './policy-values.js';

function until(nowMs: number, forMs: number | undefined): number | undefined {
  return forMs === undefined ? undefined : nowMs + checkDuration(forMs, '--for');
}

function dedupe(list: readonly string[]): string[] {
  return [...new Set(list)];
}

/**
 * The policy after one change (a new object; the input is not modified). Re-issuing a command
 * for the same peer replaces that entry (new rate, new expiry); `isolate` replaces the allow list.
 * @throws InterdictionInputError (or PeerRefError) for invalid values or when a limit would be exceeded
 */
export function applyPolicyChange(policy: InterdictionPolicy, change: PolicyChange, nowMs: number): InterdictionPolicy {
  const p = clonePolicy(policy);
  switch (change.kind) {
    case 'isolate': {
      const allow = dedupe((change.allow ?? []).map((a) => checkPeer(a, '--allow')));
      if (allow.length > COMMAND_LIMITS.allow) throw new InterdictionInputError('--allow', `${allow.length} entries`, `at most ${COMMAND_LIMITS.allow} entries`);
      if (p.managementChannels.length === 0) {
        // isolating without a known collector channel would lock the operator out of the host
        throw new InterdictionInputError('isolate', 'no management channel', 'the collector address and port to be set first (setManagementChannel)');
      }
      p.mode = 'isolate';
      p.allow = allow;
      const exp = until(nowMs, change.forMs);
      if (exp === undefined) delete p.isolateExpiresAt;
      else p.isolateExpiresAt = exp;
      return p;
    }
    case 'unisolate':
      p.mode = 'none';
      p.allow = [];
      delete p.isolateExpiresAt;
      return p;
    case 'block': {
      const peer = checkPeer(change.peer, '--peer');
      const exp = until(nowMs, change.forMs);
      const entry: BlockEntry = exp === undefined ? { peer } : { peer, expiresAt: exp };
      const i = p.blocks.findIndex((b) => b.peer === peer);
      if (i >= 0) p.blocks[i] = entry;
      else {
        if (p.blocks.length >= COMMAND_LIMITS.blocks) throw new InterdictionInputError('--peer', peer, `room for another block (at most ${COMMAND_LIMITS.blocks})`);
        p.blocks.push(entry);
      }
      return p;
    }
    case 'unblock': {
      const peer = checkPeer(change.peer, '--peer');
      p.blocks = p.blocks.filter((b) => b.peer !== peer);
      return p;
    }
    case 'degrade': {
      const peer = change.peer === undefined ? undefined : checkPeer(change.peer, '--peer');
      if (change.rateBytesPerSec === undefined && change.lossPercent === undefined) {
        throw new InterdictionInputError('degrade', 'neither --rate nor --loss', 'at least one of --rate or --loss');
      }
      const entry: DegradeEntry = {};
      if (peer !== undefined) entry.peer = peer;
      if (change.rateBytesPerSec !== undefined) entry.rateBytesPerSec = checkRate(change.rateBytesPerSec, '--rate');
      if (change.lossPercent !== undefined) entry.lossPercent = checkLoss(change.lossPercent, '--loss');
      const exp = until(nowMs, change.forMs);
      if (exp !== undefined) entry.expiresAt = exp;
      const i = p.degrade.findIndex((d) => d.peer === peer);
      if (i >= 0) p.degrade[i] = entry;
      else {
        if (p.degrade.length >= COMMAND_LIMITS.degrade) throw new InterdictionInputError('--peer', peer ?? 'all', `room for another degrade entry (at most ${COMMAND_LIMITS.degrade})`);
        p.degrade.push(entry);
      }
      return p;
    }
    case 'undegrade': {
      const peer = change.peer === undefined ? undefined : checkPeer(change.peer, '--peer');
      p.degrade = p.degrade.filter((d) => d.peer !== peer);
      return p;
    }
    case 'release':
      return emptyPolicy(p.managementChannels);
    default:
      throw new InterdictionInputError('command', String((change as { kind?: unknown }).kind), 'one of isolate, unisolate, block, unblock, degrade, undegrade, release');
  }
}

/** Replaces the management channels (validated, deduplicated). */
export function withManagementChannels(p: InterdictionPolicy, channels: readonly ManagementChannel[]): InterdictionPolicy {
  const out = clonePolicy(p);
  const seen = new Set<string>();
  out.managementChannels = [];
  for (const c of channels) {
    const v = checkManagementChannel(c.address, c.port);
    const key = `${v.address}|${v.port}`;
    if (!seen.has(key)) { seen.add(key); out.managementChannels.push(v); }
  }
  if (out.managementChannels.length > MAX_MANAGEMENT_CHANNELS) {
    throw new InterdictionInputError('management channels', `${out.managementChannels.length} entries`, `at most ${MAX_MANAGEMENT_CHANNELS}`);
  }
  if (out.mode === 'isolate' && out.managementChannels.length === 0) {
    throw new InterdictionInputError('management channels', 'none', 'at least one while the host is isolated');
  }
  return out;
}
