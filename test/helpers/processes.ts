// Starting this area's entry points as real child processes, from sources (tsx) or from
// the build (dist), whichever the test itself runs from.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { strictLogLines } from '../helpers/json-lines.js';
import { collectorProgramArgs } from './node-script.js';

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

/** Lowest port the kernel hands out to outgoing connections (Linux), or the IANA default. */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 2048) return low;
  } catch { /* not Linux */ }
  return 49152;
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * A TCP port free right now on 127.0.0.1, for servers that must come back on the same port.
 * It lies below the ephemeral range: a port inside it can be taken, while the server is down,
 * by a client's own outgoing connection (a client retrying against a port with no listener
 * can even connect to itself), and then the restarted server cannot bind it.
 */
export async function freePort(): Promise<number> {
  const high = ephemeralLow() - 1;
  const low = Math.max(1024, high - 12_000);
  for (let i = 0; i < 200; i++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port found in ${low}-${high}`);
}

export function waitExit(p: ChildProcess, timeoutMs = 15_000): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve(p.exitCode);
    const t = setTimeout(() => reject(new Error('child did not exit in time')), timeoutMs);
    p.once('exit', (code) => { clearTimeout(t); resolve(code); });
  });
}

/**
 * Polls url until it answers 200. Given the child that should serve it, fails at once when
 * that child has exited, and either failure carries the child's recent stderr.
 */
export async function waitHttpOk(url: string, timeoutMs: number, child?: ChildProcess, stderrTail: () => string = () => ''): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch { /* not up yet */ }
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`server exited (code ${child.exitCode}, signal ${child.signalCode}) before ${url} was up; stderr: ${stderrTail()}`);
    }
    if (Date.now() > end) throw new Error(`${url} not up within ${timeoutMs} ms; stderr: ${stderrTail()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `meerkat-collector ARGS` as it ships (the bundle, when built) to its end: exit code and stderr (stdout ignored). */
export function runCollector(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...collectorProgramArgs(), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stderr }));
  });
}

/** `meerkat-collector`'s entry module (collector/cli), for tests of the entry itself; collectorProgramArgs() for what the program does. */
export function collectorCliArgs(): string[] {
  const file = fileURLToPath(new URL(`../../collector/cli.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  return fromSource ? ['--import', 'tsx', file] : [file];
}

/**
 * `meerkat-collector run --config <file>` as a child process, up once /healthz answers. The
 * config gets free loopback ports (listen: agents, ops: health and metrics) and the operators'
 * API off unless the caller sets them; stderr (the JSON log) is kept whole for the test to read.
 */
export class CollectorProcess {
  stderr = '';
  private constructor(readonly proc: ChildProcess, readonly port: number, readonly opsPort: number) {
    proc.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString(); });
  }

  static async start(cfgFile: string, cfg: Record<string, unknown>, env: Record<string, string> = {}): Promise<CollectorProcess> {
    const port = await freePort();
    const opsPort = await freePort();
    const full = { listen: `127.0.0.1:${port}`, ops: `127.0.0.1:${opsPort}`, api: 'off', logLevel: 'info', ...cfg };
    writeFileSync(cfgFile, JSON.stringify(full));
    // the shipped bundle: these tests are about what the running collector does
    const proc = spawn(process.execPath, [...collectorProgramArgs(), 'run', '--config', cfgFile], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const c = new CollectorProcess(proc, Number(String(full.listen).split(':').pop()), Number(String(full.ops).split(':').pop()));
    await waitHttpOk(`http://127.0.0.1:${c.opsPort}/healthz`, 30_000, proc, () => c.stderr.slice(-3000));
    return c;
  }

  /** The JSON log lines so far; throws if one is not a JSON object or repeats a key. */
  logLines(): Array<Record<string, unknown>> {
    return strictLogLines(this.stderr).lines;
  }

  /** SIGTERM; resolves with the exit code. */
  async stop(timeoutMs = 30_000): Promise<number | null> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return this.proc.exitCode;
    this.proc.kill('SIGTERM');
    return waitExit(this.proc, timeoutMs);
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}
