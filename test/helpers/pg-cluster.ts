// A throw-away PostgreSQL cluster for tests and benchmarks: initdb + pg_ctl as the
// unprivileged `postgres` user (PostgreSQL refuses to run as root) in a temporary directory,
// listening on 127.0.0.1 on a free port, password authentication (scram) with the password in
// a file as the collector reads it. stop() ends the server and removes the directory.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { openPgPool } from '../../shared/store/postgres/pg-connect.js';
import { freePort } from './processes.js';

const PG_ROOT = '/usr/lib/postgresql';

/** The bin directory of the newest installed PostgreSQL (Debian layout), or null. */
export function pgBinDir(): string | null {
  if (!existsSync(PG_ROOT)) return null;
  const versions = readdirSync(PG_ROOT).filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'pg_ctl'))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(PG_ROOT, versions[0]!, 'bin') : null;
}

export interface PgCluster {
  port: number;
  /** postgres://meerkat@127.0.0.1:<port>/meerkat (no password: see passwordFile) */
  url: string;
  passwordFile: string;
  /** the postmaster's pid and its children's (benchmarks read their CPU time) */
  pids(): number[];
  /** immediate shutdown (as a crash: no checkpoint), data kept */
  kill(): void;
  /** start again on the same port and data */
  restart(): void;
  stop(): void;
}

interface PgTemplate {
  /** a cleanly stopped data directory holding the meerkat superuser and database */
  data: string;
  password: string;
}

let template: Promise<PgTemplate> | undefined;

/**
 * initdb and createdb once per process: each cluster starts from a copy of this data directory
 * (a copy takes a tenth of a second, initdb several). Every cluster is still its own server,
 * data and port. initdb -N skips its fsyncs: a lost template only costs the next process an
 * initdb, the clusters' own writes are synced as configured.
 */
function pgTemplate(bin: string, asRoot: boolean): Promise<PgTemplate> {
  template ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meerkat-pg-template-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    const run = pgRunner(bin, asRoot);
    if (asRoot) chownToPostgres(dir);
    chmodSync(dir, 0o700);
    const data = join(dir, 'data');
    const pwInit = join(dir, 'pw-init');
    const password = `pw-${Math.random().toString(36).slice(2)}`;
    writeFileSync(pwInit, `${password}\n`);
    if (asRoot) chownToPostgres(pwInit);
    run('initdb', ['-N', '-D', data, '-U', 'meerkat', '--auth=scram-sha-256', `--pwfile=${pwInit}`, '-E', 'UTF8', '--locale=C.UTF-8']);
    const port = await freePort();
    run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir}`, '-w', '-t', '60', 'start']);
    try {
      execFileSync(join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'meerkat', 'meerkat'], { env: { ...process.env, PGPASSWORD: password }, stdio: 'pipe' });
    } finally {
      run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    }
    return { data, password };
  })();
  // a failed template is not kept: the next cluster tries again (and says why)
  template.catch(() => { template = undefined; });
  return template;
}

/** Runs a PostgreSQL program, as `postgres` when we are root (the server refuses root). */
function pgRunner(bin: string, asRoot: boolean): (cmd: string, args: string[]) => void {
  return (cmd, args) => {
    if (asRoot) execFileSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { stdio: 'pipe' });
    else execFileSync(join(bin, cmd), args, { stdio: 'pipe' });
  };
}

function chownToPostgres(path: string): void {
  execFileSync('chown', ['postgres:postgres', path]);
}

/** tls: the server's certificate chain and key (PEM files), served with ssl=on. */
export async function startPgCluster(opts: { settings?: Record<string, string>; tls?: { certFile: string; keyFile: string } } = {}): Promise<PgCluster> {
  const bin = pgBinDir();
  if (bin === null) throw new Error(`PostgreSQL is not installed (no ${PG_ROOT}/<version>/bin/pg_ctl): run scripts/setup.sh`);
  const dir = mkdtempSync(join(tmpdir(), 'meerkat-pg-'));
  const asRoot = userInfo().uid === 0;
  const run = pgRunner(bin, asRoot);
  // the server runs as `postgres` when we are root: it must own its directory
  if (asRoot) chownToPostgres(dir);
  chmodSync(dir, 0o700);
  const data = join(dir, 'data');
  const port = await freePort();
  let start: () => void = () => undefined;
  let password = '';
  try {
    const t = await pgTemplate(bin, asRoot);
    password = t.password;
    // -a keeps the owner (postgres) and the 0700 mode the server insists on
    execFileSync('cp', ['-a', t.data, data], { stdio: 'pipe' });
    const tls: Record<string, string> = {};
    if (opts.tls) {
      // the server reads them as its own user, and refuses a key others can read
      for (const [name, from] of [['server.crt', opts.tls.certFile], ['server.key', opts.tls.keyFile]] as const) {
        writeFileSync(join(dir, name), readFileSync(from), { mode: 0o600 });
        if (asRoot) chownToPostgres(join(dir, name));
      }
      Object.assign(tls, { ssl: 'on', ssl_cert_file: join(dir, 'server.crt'), ssl_key_file: join(dir, 'server.key') });
    }
    const settings = { listen_addresses: '127.0.0.1', port: String(port), unix_socket_directories: dir, max_connections: '100', ...tls, ...(opts.settings ?? {}) };
    const o = Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`).join(' ');
    start = () => run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', o, '-w', '-t', '60', 'start']);
    start();
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`starting PostgreSQL failed: ${(e as { stderr?: Buffer }).stderr?.toString() ?? (e as Error).message}`);
  }
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  return {
    port,
    url: `postgres://meerkat@127.0.0.1:${port}/meerkat`,
    passwordFile,
    pids() {
      const main = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return [main, ...childrenOf(main)];
    },
    kill() {
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    },
    restart() {
      start();
    },
    stop() {
      try { run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']); } catch { /* already down */ }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A cluster with a pool of connections to it (as the collector opens one); stop() ends both. */
export async function startPgWithPool(): Promise<{ cluster: PgCluster; pool: pg.Pool; stop(): Promise<void> }> {
  const cluster = await startPgCluster();
  const pool = openPgPool({ url: cluster.url, passwordFile: cluster.passwordFile });
  return { cluster, pool, async stop() { await pool.end(); cluster.stop(); } };
}

/** Pids whose parent is `ppid` (from /proc). */
function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) out.push(Number(d));
    } catch { /* gone meanwhile */ }
  }
  return out;
}
