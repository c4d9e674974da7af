// Starting this area's entry points as real child processes, from sources (tsx) or from
// the build (dist), whichever the test itself runs from.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';

const fromSource = import.meta.url.endsWith('.ts');

export function fixtureCommand(name: string): { cmd: string; args: string[] } {
  const file = fileURLToPath(new URL(`./fixtures/${name}.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  return { cmd: process.execPath, args: fromSource ? ['--import', 'tsx', file] : [file] };
}

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs one of the CLIs to completion (async, so an in-process server keeps serving). */
export function runCliProcess(binary: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const f = fixtureCommand('cli');
  return new Promise((resolve, reject) => {
    const p = spawn(f.cmd, [...f.args, binary, ...args], { env: { ...process.env, MEERKAT_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

export function runCliSync(binary: string, args: string[]): CliResult {
  const f = fixtureCommand('cli');
  const r = spawnSync(f.cmd, [...f.args, binary, ...args], { encoding: 'utf8', env: { ...process.env, MEERKAT_LOG_LEVEL: 'warn' } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function spawnFixture(name: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const f = fixtureCommand(name);
  return spawn(f.cmd, [...f.args, ...args], { env: { ...process.env, MEERKAT_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A TCP port free right now on 127.0.0.1 (for servers that must come back on the same port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export function waitExit(p: ChildProcess, timeoutMs = 15_000): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve(p.exitCode);
    const t = setTimeout(() => reject(new Error('child did not exit in time')), timeoutMs);
    p.once('exit', (code) => { clearTimeout(t); resolve(code); });
  });
}

export async function waitHttpOk(url: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch { /* not up yet */ }
    if (Date.now() > end) throw new Error(`${url} not up within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
