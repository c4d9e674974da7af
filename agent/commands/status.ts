// `meerkat-agent status`: what the agent with this state directory is doing, from the status
// file it rewrites every 2 s (<state-dir>/status.json): whether it runs at all (a clean stop
// writes stoppedAt; a killed agent leaves a status that stops aging and a pid that is gone),
// its collector connection, capture, spool and runtime, as readable lines; --json prints the
// file with `state` added. Exit 0 while it runs, 1 when it does not (or never ran here).
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MeerkatError } from '../../shared/errors.js';
import { loadAgentConfig } from '../config.js';
import { STATUS_FILE } from '../agent-service.js';

/** No status to read: the agent never ran with this state directory (or cannot be read). */
export class NoAgentStatusError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_NO_AGENT_STATUS';
  constructor(file: string, why: string) {
    super(`the agent is not running: no status at ${file} (${why}); start it with \`meerkat-agent run\` (the package's service: systemctl start meerkat-agent)`);
    this.name = 'NoAgentStatusError';
  }
}

/** A status older than this (several missed 2 s updates) means the agent is not running. */
const STALE_MS = 15_000;

export type AgentRunState = 'running' | 'stopped' | 'not-responding';

interface StatusFile {
  agentId: string;
  collector: string;
  updated: string;
  pid?: number;
  startedAt?: string;
  stoppedAt?: string | null;
  capture: Record<string, unknown>;
  spool: Record<string, unknown>;
  shipper: Record<string, unknown>;
  runtime?: { profile?: string; node?: string };
  memory?: { rssBytes?: number; heapTotalBytes?: number; heapUsedBytes?: number };
}

function pidAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Running, cleanly stopped, or gone without a word (killed, crashed, host rebooted). */
export function runState(s: Pick<StatusFile, 'updated' | 'pid' | 'stoppedAt'>, nowMs: number, alive: (pid: number | undefined) => boolean = pidAlive): AgentRunState {
  if (s.stoppedAt) return 'stopped';
  const age = nowMs - Date.parse(s.updated);
  if (!(age <= STALE_MS) || (s.pid !== undefined && !alive(s.pid))) return 'not-responding';
  return 'running';
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}

function num(v: unknown): string {
  return typeof v === 'number' ? String(v) : '?';
}

function size(b: unknown): string {
  if (typeof b !== 'number') return '?';
  if (b < 1024) return `${b} B`;
  if (b < 1024 ** 2) return `${(b / 1024).toFixed(1)} KiB`;
  return `${(b / 1024 ** 2).toFixed(1)} MiB`;
}

/** The readable lines. */
export function statusText(s: StatusFile, state: AgentRunState, nowMs: number): string {
  const updatedAgo = ago(nowMs - Date.parse(s.updated));
  const head = state === 'running'
    ? `agent ${s.agentId}: running (pid ${s.pid ?? '?'}${s.startedAt ? `, up ${ago(nowMs - Date.parse(s.startedAt))}` : ''}); status ${updatedAgo} old`
    : state === 'stopped'
      ? `agent ${s.agentId}: NOT RUNNING (stopped at ${s.stoppedAt}); the figures below are from then`
      : `agent ${s.agentId}: NOT RUNNING (its status stopped changing ${updatedAgo} ago and ${pidAlive(s.pid) ? `pid ${s.pid} does not update it` : 'its process is gone'}: killed or crashed?); the figures below are from then`;
  const sh = s.shipper;
  const c = s.capture;
  const sp = s.spool;
  const lines = [
    head,
    `collector ${s.collector}: ${state !== 'running' ? 'was ' : ''}${sh.connected ? 'connected' : 'not connected'}; ${num(sh.acked)} dumps acknowledged, ${num(sh.rejected)} refused, ${num(sh.retries)} resent, ${num(sh.connects)} connects${sh.lastError ? `; last error: ${String(sh.lastError)}` : ''}${sh.lastRefusal ? `; last refusal: ${String(sh.lastRefusal)}` : ''}`,
    `capture: ${num(c.packetsSeen)} packets seen, ${num(c.packetsKept)} kept, ${num(c.excludedTotal)} excluded, ${num(c.malformed)} malformed, kernel drops ${c.kernelDrops === null || c.kernelDrops === undefined ? 'unknown' : num(c.kernelDrops)}; ${num(c.dumps)} dumps (${size(c.dumpBytes)}); snap length ${num(c.snapLen)}`,
    `spool: ${num(sp.files)} dump(s) waiting (${size(sp.bytes)}), ${num(sp.droppedDumps)} dropped${typeof sp.corrupt === 'number' && sp.corrupt > 0 ? `, ${sp.corrupt} corrupt` : ''}`,
  ];
  if (s.runtime || s.memory) {
    const mb = (b: number | undefined): string => (b === undefined ? '?' : `${(b / 1048576).toFixed(1)} MB`);
    lines.push(`runtime: ${s.runtime?.profile ?? 'unknown'} profile, node ${s.runtime?.node ?? '?'}; memory: RSS ${mb(s.memory?.rssBytes)}, V8 heap ${mb(s.memory?.heapUsedBytes)} used of ${mb(s.memory?.heapTotalBytes)}`);
  }
  return lines.join('\n') + '\n';
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('whether the agent with this state directory runs, and its collector connection, capture and spool')
    .option('--config <file>', 'agent config file (default $MEERKAT_AGENT_CONFIG, else /etc/meerkat/agent.json if present)')
    .option('--state-dir <dir>', 'state directory (default: stateDir of the config)')
    .option('--json', 'print the status as one JSON object, with "state": running, stopped or not-responding')
    .action((f: { config?: string; stateDir?: string; json?: boolean }) => {
      const file = join(f.stateDir ?? loadAgentConfig(f.config).stateDir, STATUS_FILE);
      let s: StatusFile;
      try {
        s = JSON.parse(readFileSync(file, 'utf8')) as StatusFile;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new NoAgentStatusError(file, code === 'ENOENT' ? 'it has not run with this state directory' : code ?? (e as Error).message);
      }
      const now = Date.now();
      const state = runState(s, now);
      process.stdout.write(f.json ? JSON.stringify({ ...s, state }) + '\n' : statusText(s, state, now));
      if (state !== 'running') process.exitCode = 1;
    });
}
