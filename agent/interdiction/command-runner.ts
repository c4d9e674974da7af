// Runs the firewall tools (nft, iptables-restore, powershell): arguments as an array (never a
// shell), the script on stdin, a timeout, output captured. Also finds the tools where services
// often lack them in PATH (/usr/sbin, /sbin).
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { MeerkatError } from '../../shared/errors.js';

export class FirewallCommandError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_FIREWALL_COMMAND';
  constructor(readonly command: string, readonly exitCode: number | null, readonly stderr: string, reason?: string) {
    super(`${command}: ${reason ?? `exited with ${exitCode}`}${stderr.trim() ? `: ${stderr.trim().slice(0, 2000)}` : ''}`);
    this.name = 'FirewallCommandError';
  }
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Full path of an executable found in PATH or the sbin folders, or undefined. */
export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'].filter(Boolean);
  for (const d of dirs) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch { /* not here */ }
  }
  return undefined;
}

/** Runs to completion; resolves with the exit code (never rejects for a non-zero exit). */
export async function runCommand(file: string, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  // loaded on first use: most agents never run a firewall tool, and child_process (with the
  // dgram and socket-passing modules it pulls in) is ~1 MB of the agent's resident memory
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const shown = [file, ...args].join(' ');
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new FirewallCommandError(shown, null, stderr, `no answer within ${opts.timeoutMs ?? 20_000} ms`));
    }, opts.timeoutMs ?? 20_000);
    child.on('error', (e) => { clearTimeout(timer); reject(new FirewallCommandError(shown, null, '', e.message)); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    child.stdin.on('error', () => { /* the tool may exit before reading everything; its exit code says why */ });
    child.stdin.end(opts.input ?? '');
  });
}

/** Like runCommand, but a non-zero exit is a FirewallCommandError. */
export async function runChecked(file: string, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  const r = await runCommand(file, args, opts);
  if (r.code !== 0) throw new FirewallCommandError([file, ...args].join(' '), r.code, r.stderr);
  return r;
}
