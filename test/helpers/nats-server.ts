// A throw-away NATS server with JetStream for tests and benchmarks: `nats-server -js` on
// 127.0.0.1, a free port and a temporary store directory, user/password authentication with the
// credentials in a file as the collector reads them. kill() (SIGKILL) and restart() on the same
// port and store exercise a NATS failure; stop() ends it and removes the directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { freePort } from './processes.js';

export interface NatsServer {
  port: number;
  url: string;
  /** "user:password" */
  credsFile: string;
  pid(): number | undefined;
  kill(): void;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** tls: the server's certificate chain and key (PEM files): clients must use TLS. */
export async function startNatsServer(opts: { tls?: { certFile: string; keyFile: string } } = {}): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'meerkat-nats-'));
  const port = await freePort();
  const user = 'meerkat';
  const pass = `pw-${Math.random().toString(36).slice(2)}`;
  const credsFile = join(dir, 'creds');
  writeFileSync(credsFile, `${user}:${pass}\n`, { mode: 0o600 });
  let proc: ChildProcess | null = null;
  let stderr = '';
  const launch = async (): Promise<void> => {
    const tls = opts.tls ? ['--tls', '--tlscert', opts.tls.certFile, '--tlskey', opts.tls.keyFile] : [];
    proc = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(dir, 'js'), '--user', user, '--pass', pass, ...tls], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
    const end = Date.now() + 15_000;
    while (!(await portOpen(port))) {
      if (proc.exitCode !== null) throw new Error(`nats-server exited: ${stderr}`);
      if (Date.now() > end) throw new Error(`nats-server not up within 15 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await launch();
  const waitGone = (p: ChildProcess | null): Promise<void> => new Promise((r) => (p === null || p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r())));
  return {
    port,
    url: `${opts.tls ? 'tls' : 'nats'}://127.0.0.1:${port}`,
    credsFile,
    pid: () => proc?.pid,
    kill() { proc?.kill('SIGKILL'); },
    async restart() { await waitGone(proc); await launch(); },
    async stop() {
      const p = proc;
      p?.kill('SIGTERM');
      await waitGone(p);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
