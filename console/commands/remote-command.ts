// What every remote-control console command shares: the operators' API connection, the operator's
// signing key, building + signing + submitting one command, `--wait` until it ends, printing
// its state and result, and agent id prefixes ("3f2a" for the one agent whose id starts so).
import type { Command } from 'commander';
import { join } from 'node:path';
import { UsageError } from '../../shared/cli/run-cli.js';
import { parseDuration } from '../../shared/cli/duration.js';
import { COMMAND_LIMITS } from '../../shared/commands/command-limits.js';
import { buildSignedCommand } from '../../shared/commands/command-signing.js';
import {
  CommandSchemaError, DEFAULT_COMMAND_LIFETIME_MS, TERMINAL_STATES,
  type CommandKind, type CommandParams,
} from '../../shared/commands/command-schema.js';
import { agentIdOrPrefix, resolveAgentIdPrefix } from '../../shared/commands/agent-id-prefix.js';
import { OPERATOR_KEY_FILE, loadOperatorSigningKey } from '../../shared/commands/operator-keys.js';
import { KeyFileError } from '../../shared/keys/key-file-error.js';
import { refuseRenamedOptions } from '../../shared/cli/renamed-options.js';
import { AdminClient } from '../admin-client.js';
import { apiUrl, operatorDir, orgOf, settingHelp } from '../settings.js';
import type { CommandView } from '../../shared/commands/admin-views.js';

export interface RemoteFlags {
  api?: string;
  org?: string;
  operatorDir?: string;
  expires?: string;
  /** true, or a number of seconds */
  wait?: boolean | string;
  json?: boolean;
}

/** The options every command talking to the collector's API takes. */
export function apiOptions(c: Command): Command {
  c.option('--api <url>', `the collector's API, https://host:port (${settingHelp('api')})`)
    .option('--operator-dir <dir>', `operator certificate and signing key (${settingHelp('operatorDir')})`)
    .option('--org <id>', `the organisation to work in (${settingHelp('org')})`);
  return refuseRenamedOptions(c, { '--admin': '--api (the collector\'s operators\' API, https://host:port)' });
}

/** Adds the options every remote command takes. */
export function remoteOptions(c: Command, opts: { wait?: boolean } = { wait: true }): Command {
  apiOptions(c).option('--json', 'print JSON');
  if (opts.wait !== false) {
    c.option('--expires <duration>', 'how long the command may wait for an offline agent (default 24h, at most 30d)')
      .option('--wait [seconds]', 'wait until the agent has answered (default: until the command expires)');
  }
  return c;
}

export function clientFrom(f: RemoteFlags): AdminClient {
  return AdminClient.fromOperatorDir(operatorDir(f.operatorDir), apiUrl(f.api), orgOf(f.org));
}

/** Full agent id from an id or a unique prefix of one (shared/commands/agent-id-prefix.ts). */
export async function resolveAgentId(client: AdminClient, text: string): Promise<string> {
  const f = agentIdOrPrefix(text);
  if ('id' in f) return f.id;
  const { agents } = await client.get<{ agents: { agentId: string }[] }>(client.scoped('/agents'));
  return resolveAgentIdPrefix(text, agents.map((a) => a.agentId), 'agents the collector knows');
}

function lifetimeMs(f: RemoteFlags): number {
  if (f.expires === undefined) return DEFAULT_COMMAND_LIFETIME_MS;
  return parseDuration(f.expires, '--expires', COMMAND_LIMITS.lifetime);
}

/** Signs and submits; with --wait, returns once the command has ended. */
export async function submitCommand<K extends CommandKind>(f: RemoteFlags, agentText: string, kind: K, params: CommandParams<K>): Promise<CommandView> {
  const client = clientFrom(f);
  const dir = operatorDir(f.operatorDir);
  let key;
  try {
    key = loadOperatorSigningKey(join(dir, OPERATOR_KEY_FILE));
  } catch (e) {
    if (e instanceof KeyFileError) throw new UsageError(`${e.message} (create one with \`meerkat keys operator-init --operator-dir ${dir}\` and pin its op.pub on the agents)`);
    throw e;
  }
  const agentId = await resolveAgentId(client, agentText);
  let env;
  try {
    env = buildSignedCommand(key, { agentId, kind, params, lifetimeMs: lifetimeMs(f) });
  } catch (e) {
    if (e instanceof CommandSchemaError) throw new UsageError(e.message);
    throw e;
  }
  const { command } = await client.post<{ command: CommandView }>(client.scoped('/commands'), env);
  if (f.wait === undefined || f.wait === false) return command;
  return waitForCommand(client, command.id, f.wait === true ? undefined : Number(f.wait));
}

/** Polls (long-poll, 60 s at a time) until the command ends or `seconds` pass. */
export async function waitForCommand(client: AdminClient, id: string, seconds?: number): Promise<CommandView> {
  if (seconds !== undefined && !(seconds > 0)) throw new UsageError('--wait expects a number of seconds above 0');
  const end = seconds === undefined ? Infinity : Date.now() + seconds * 1000;
  for (;;) {
    const left = Math.max(1, Math.min(60, Math.ceil((end - Date.now()) / 1000)));
    const { command } = await client.get<{ command: CommandView }>(client.scoped(`/commands/${encodeURIComponent(id)}?wait=${left}`));
    if (TERMINAL_STATES.has(command.state) || Date.now() >= end) return command;
  }
}

/** One line about a command's state, and its reason when it did not succeed. */
export function stateLine(c: CommandView): string {
  const base = `command ${c.id} (${c.kind} for agent ${c.agentId}): ${c.state}`;
  if (c.state === 'done' || c.state === 'queued' || c.state === 'delivered') return base;
  const r = c.result;
  return `${base} - ${r?.code ? `${r.code}: ` : ''}${r?.reason ?? c.error ?? ''}`.trimEnd();
}

/**
 * Prints a command (JSON or text with a kind-specific body), and sets exit code 1 when it
 * ended without success (failed, refused, expired).
 */
export function reportCommand(c: CommandView, f: RemoteFlags, body?: (data: unknown) => string): void {
  if (f.json) process.stdout.write(JSON.stringify(c) + '\n');
  else {
    process.stdout.write(stateLine(c) + '\n');
    if (c.state === 'done' && body && c.result?.data !== undefined) process.stdout.write(body(c.result.data));
    if (c.state === 'queued' || c.state === 'delivered') process.stdout.write(`follow it with: meerkat command ${c.id} --wait\n`);
  }
  if (c.state === 'failed' || c.state === 'refused' || c.state === 'expired') process.exitCode = 1;
}
