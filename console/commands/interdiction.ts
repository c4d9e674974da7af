// Interdiction commands (signed, executed by the agent's firewall; the collector connection is
// always kept):
//   meerkat isolate AGENT [--allow ADDR...] [--for DURATION]
//   meerkat block AGENT --peer ADDR|CIDR [--for DURATION]     meerkat unblock AGENT --peer ADDR|CIDR
//   meerkat degrade AGENT [--peer ADDR|CIDR] --rate 2kbps|--loss 50% [--for DURATION]
//   meerkat release AGENT
// Addresses are given as the collector's data shows them: "10.77.3.9*" (a pseudonym, as
// `meerkat flows` marks it) is turned into the real address on the agent, which holds the key;
// an address without "*" is taken as real. The collector never learns the real address.
import type { Command } from 'commander';
import { UsageError } from '../../shared/cli/run-cli.js';
import { formatDuration, parseDuration } from '../../shared/cli/duration.js';
import type { CommandParams } from '../../shared/commands/command-schema.js';
import { COMMAND_LIMITS } from '../../shared/commands/command-limits.js';
import { parsePeerRef, type PeerRef } from '../../shared/commands/peer-ref.js';
import { parseLoss, parseRate } from '../../shared/interdiction/interdiction-input.js';
import type { DisplayedInterdiction } from '../../shared/commands/agent-reports.js';
import { deanonFilter, deanonOptions } from '../deanon-text.js';
import { remoteOptions, reportCommand, submitCommand, type RemoteFlags } from './remote-command.js';

export interface InterdictionFlags {
  allow?: string[];
  peer?: string;
  for?: string;
  rate?: string;
  loss?: string;
}

interface Flags extends RemoteFlags, InterdictionFlags {
  deanon?: boolean;
  ownerKeys?: string;
}

export function interdictionText(data: unknown): string {
  const d = data as DisplayedInterdiction;
  if (typeof d !== 'object' || d === null || !Array.isArray(d.active)) return JSON.stringify(data) + '\n';
  const head = `interdiction (${d.backend}${d.verified ? ', rules verified in the kernel' : ', RULES NOT VERIFIED'}): ${d.mode === 'isolate' ? 'host isolated' : d.active.some((l) => !l.startsWith('management')) ? 'active' : 'none'}`;
  return [
    head,
    ...d.active.map((l) => `  ${l}`),
    ...(d.expired ?? []).map((e) => `  ended: ${e.kind}${e.peer ? ` ${e.peer}` : ''} at ${e.at}`),
    ...(d.kernelRules ? [`  kernel rules (${d.kernelRules.length}): ${d.kernelRules.join(' | ')}`] : []),
  ].join('\n') + '\n';
}

// Flags -> command parameters, checked against the limits table (the parsers' errors are
// InputErrors: exit code 2). Pure, so a test can hold them against the schema and the agent.

function peers(list: string[] | undefined, option: string): PeerRef[] {
  return (list ?? []).flatMap((w) => w.split(',')).filter((w) => w !== '').map((w) => parsePeerRef(w, option));
}

function onePeer(text: string | undefined): PeerRef {
  const [peer] = peers(text === undefined ? [] : [text], '--peer');
  if (!peer) throw new UsageError('--peer needs an address');
  return peer;
}

function forMs(f: InterdictionFlags): { forMs?: number } {
  return f.for === undefined ? {} : { forMs: parseDuration(f.for, '--for', COMMAND_LIMITS.interdiction) };
}

export function isolateParams(f: InterdictionFlags): CommandParams<'interdiction.isolate'> {
  const allow = peers(f.allow, '--allow');
  return { ...(allow.length ? { allow } : {}), ...forMs(f) };
}

export function blockParams(f: InterdictionFlags): CommandParams<'interdiction.block'> {
  return { peer: onePeer(f.peer), ...forMs(f) };
}

export function degradeParams(f: InterdictionFlags): CommandParams<'interdiction.degrade'> {
  if (f.rate === undefined && f.loss === undefined) throw new UsageError('degrade needs --rate and/or --loss');
  return {
    ...(f.peer !== undefined ? { peer: onePeer(f.peer) } : {}),
    ...(f.rate !== undefined ? { rateBytesPerSec: parseRate(f.rate, '--rate') } : {}),
    ...(f.loss !== undefined ? { lossPercent: parseLoss(f.loss, '--loss') } : {}),
    ...forMs(f),
  };
}

export function registerInterdictionCommands(program: Command): void {
  const common = (c: Command): Command => deanonOptions(remoteOptions(c));
  const print = (f: Flags) => {
    const deanon = deanonFilter(f.deanon, f.ownerKeys);
    return (data: unknown) => deanon(interdictionText(data));
  };

  common(program
    .command('isolate')
    .description('cut the agent\'s host off the network except the collector connection (and --allow peers)')
    .argument('<agent>', 'agent id (or a unique prefix)')
    .option('--allow <address...>', 'peers still reachable (pseudonym* or real address/CIDR; repeat or comma-separate)')
    .option('--for <duration>', `end by itself after this long, e.g. 30m (at most ${formatDuration(COMMAND_LIMITS.interdiction.maxMs)})`))
    .action(async (agent: string, f: Flags) => {
      reportCommand(await submitCommand(f, agent, 'interdiction.isolate', isolateParams(f)), f, print(f));
    });

  common(program
    .command('block')
    .description('block all traffic between the agent\'s host and one peer (address or CIDR)')
    .argument('<agent>', 'agent id (or a unique prefix)')
    .requiredOption('--peer <address>', 'pseudonym* or real address/CIDR')
    .option('--for <duration>', `end by itself after this long (at most ${formatDuration(COMMAND_LIMITS.interdiction.maxMs)})`))
    .action(async (agent: string, f: Flags) => {
      reportCommand(await submitCommand(f, agent, 'interdiction.block', blockParams(f)), f, print(f));
    });

  common(program
    .command('unblock')
    .description('lift a block on one peer')
    .argument('<agent>', 'agent id (or a unique prefix)')
    .requiredOption('--peer <address>', 'the peer as given to block'))
    .action(async (agent: string, f: Flags) => {
      reportCommand(await submitCommand(f, agent, 'interdiction.unblock', { peer: onePeer(f.peer) }), f, print(f));
    });

  common(program
    .command('degrade')
    .description('quietly slow the agent\'s host down (all traffic, or one peer): a rate cap and/or random loss')
    .argument('<agent>', 'agent id (or a unique prefix)')
    .option('--peer <address>', 'only traffic with this peer (pseudonym* or real address/CIDR)')
    .option('--rate <rate>', 'cap per direction, e.g. 2kbps, 64KB/s, 1Mbit/s')
    .option('--loss <percent>', 'drop this share of packets at random, e.g. 50%')
    .option('--for <duration>', `end by itself after this long (at most ${formatDuration(COMMAND_LIMITS.interdiction.maxMs)})`))
    .action(async (agent: string, f: Flags) => {
      reportCommand(await submitCommand(f, agent, 'interdiction.degrade', degradeParams(f)), f, print(f));
    });

  common(program
    .command('release')
    .description('end every interdiction on the agent\'s host (isolation, blocks, degradation)')
    .argument('<agent>', 'agent id (or a unique prefix)'))
    .action(async (agent: string, f: Flags) => {
      reportCommand(await submitCommand(f, agent, 'interdiction.release', {}), f, print(f));
    });
}
