// Following commands and the audit log:
//   meerkat commands [--agent A] [--state S] [--since T] [--until T] [--limit N]   commands, newest first, with their state
//   meerkat command ID [--wait [S]]                                               one command, its result (waits until it ends)
//   meerkat audit [--agent A] [--command ID] [--since T] [--until T] [--limit N]  who did what, when, and how it ended
import type { Command } from 'commander';
import { UsageError, parseIntOption } from '../../shared/cli/run-cli.js';
import { parseTimeOption } from '../../shared/cli/time-option.js';
import { COMMAND_STATES } from '../../shared/commands/command-schema.js';
import { captureStateText } from './capture.js';
import { interdictionText } from './interdiction.js';
import type { CommandView } from '../../shared/commands/admin-views.js';
import { clientFrom, remoteOptions, reportCommand, resolveAgentId, stateLine, waitForCommand, type RemoteFlags } from './remote-command.js';

interface ListFlags extends RemoteFlags { agent?: string; state?: string; limit?: number; command?: string; since?: string; until?: string }

/** --since / --until as the API's times (integer µs). */
function timeParams(f: ListFlags, q: URLSearchParams, nowMs = Date.now()): void {
  if (f.since !== undefined) q.set('since', String(Math.max(0, parseTimeOption('--since', f.since, nowMs))));
  if (f.until !== undefined) q.set('until', String(Math.max(0, parseTimeOption('--until', f.until, nowMs))));
}

function bodyFor(kind: string): ((data: unknown) => string) | undefined {
  if (kind.startsWith('interdiction.')) return interdictionText;
  if (kind.startsWith('capture.') || kind.startsWith('component.')) return captureStateText;
  if (kind === 'inventory') return () => 'inventory received: show it with `meerkat info AGENT --cached`\n';
  return undefined;
}

export function registerCommandStatusCommands(program: Command): void {
  remoteOptions(program
    .command('commands')
    .description('list commands and their state (queued, delivered, done, failed, expired, refused)')
    .option('--agent <id>', 'only this agent (id or unique prefix)')
    .option('--state <state>', `only this state: ${COMMAND_STATES.join(', ')}`)
    .option('--since <time>', 'submitted at or after: ISO time, epoch seconds, or a duration ago (2h)')
    .option('--until <time>', 'submitted at or before (same forms)')
    .option('--limit <n>', 'at most N (default 100)', parseIntOption('--limit', 1, 10_000)), { wait: false })
    .action(async (f: ListFlags) => {
      if (f.state !== undefined && !(COMMAND_STATES as readonly string[]).includes(f.state)) throw new UsageError(`--state must be one of ${COMMAND_STATES.join(', ')}`);
      const client = clientFrom(f);
      const q = new URLSearchParams();
      if (f.agent) q.set('agent', await resolveAgentId(client, f.agent));
      if (f.state) q.set('state', f.state);
      if (f.limit) q.set('limit', String(f.limit));
      timeParams(f, q);
      const { commands } = await client.get<{ commands: CommandView[] }>(client.scoped(`/commands?${q.toString()}`));
      if (f.json) {
        for (const c of commands) process.stdout.write(JSON.stringify(c) + '\n');
        return;
      }
      if (commands.length === 0) process.stdout.write('no commands\n');
      for (const c of commands) process.stdout.write(`${c.createdAt}  ${stateLine(c)}  (by ${c.submittedBy}, signed by ${c.signer.operator}/${c.signer.keyId})\n`);
    });

  remoteOptions(program
    .command('command')
    .description('one command: state and result')
    .argument('<id>', 'command id (as printed when it was queued)'), { wait: false })
    .option('--wait [seconds]', 'wait until it has ended')
    .action(async (id: string, f: RemoteFlags) => {
      const client = clientFrom(f);
      const c = f.wait === undefined || f.wait === false
        ? (await client.get<{ command: CommandView }>(client.scoped(`/commands/${encodeURIComponent(id)}`))).command
        : await waitForCommand(client, id, f.wait === true ? undefined : Number(f.wait));
      reportCommand(c, f, bodyFor(c.kind));
    });

  remoteOptions(program
    .command('audit')
    .description('the collector\'s audit log: every admin request and every command step, with who, what, when and result')
    .option('--agent <id>', 'only entries about this agent')
    .option('--command <id>', 'only entries about this command')
    .option('--since <time>', 'entries at or after: ISO time, epoch seconds, or a duration ago (2h)')
    .option('--until <time>', 'entries at or before (same forms)')
    .option('--limit <n>', 'the last N entries (default 200)', parseIntOption('--limit', 1, 10_000)), { wait: false })
    .action(async (f: ListFlags) => {
      const client = clientFrom(f);
      const q = new URLSearchParams();
      if (f.agent) q.set('agent', await resolveAgentId(client, f.agent));
      if (f.command) q.set('command', f.command);
      if (f.limit) q.set('limit', String(f.limit));
      timeParams(f, q);
      const { entries } = await client.get<{ entries: { seq: number; at: string; actor: string; action: string; agentId: string | null; commandId: string | null; outcome: string; detail: unknown }[] }>(client.scoped(`/audit?${q.toString()}`));
      if (f.json) {
        for (const e of entries) process.stdout.write(JSON.stringify(e) + '\n');
        return;
      }
      for (const e of entries) {
        process.stdout.write(`${e.at}  ${e.actor}  ${e.action}  ${e.outcome}${e.agentId ? `  agent ${e.agentId}` : ''}${e.commandId ? `  command ${e.commandId}` : ''}\n`);
      }
    });
}
