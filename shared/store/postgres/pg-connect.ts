// Connection to PostgreSQL for the scale-out roles: a pg Pool built from a URL without
// password, the password read from a file (never the command line or the URL), optional TLS
// (server verified against a CA file, optional client certificate). 64-bit integers come back
// as numbers: every bigint Meerkat stores (µs times, counters) is below 2^53.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { InputError } from '../../errors.js';

/** A connection setting that cannot be used (a URL, a credentials file): a configuration error, exit 2. */
export class ConnectionConfigError extends InputError {
  readonly code = 'MEERKAT_ERR_CONNECTION_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionConfigError';
  }
}

export interface PgTlsFiles {
  ca: string;
  cert?: string;
  key?: string;
}

export interface PgConnectOptions {
  /** postgres://user@host:port/database (a password in it is refused: use passwordFile) */
  url: string;
  passwordFile?: string;
  tls?: PgTlsFiles;
  /** most connections of the pool (default 8) */
  max?: number;
}

const INT8_OID = 20;

const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/** The pool options of a connection (shared by the pool and the lease connections). */
export function pgClientConfig(opts: PgConnectOptions): pg.ClientConfig {
  let url: URL;
  try {
    url = new URL(opts.url);
  } catch {
    throw new ConnectionConfigError(`PostgreSQL URL ${JSON.stringify(opts.url)} is not a URL (postgres://user@host:port/database)`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new ConnectionConfigError(`PostgreSQL URL must start with postgres://, got ${url.protocol}`);
  if (url.password) throw new ConnectionConfigError('PostgreSQL URL carries a password: put it in a file and give passwordFile instead');
  const cfg: pg.ClientConfig = {
    host: decodeURIComponent(url.hostname),
    port: url.port ? Number(url.port) : 5432,
    user: decodeURIComponent(url.username) || undefined,
    database: decodeURIComponent(url.pathname.replace(/^\//, '')) || undefined,
    types,
    application_name: 'meerkat-collector',
  };
  if (opts.passwordFile) cfg.password = readSecretFile(opts.passwordFile, 'PostgreSQL password');
  if (opts.tls) {
    cfg.ssl = {
      ca: readFileSync(opts.tls.ca, 'utf8'),
      ...(opts.tls.cert ? { cert: readFileSync(opts.tls.cert, 'utf8') } : {}),
      ...(opts.tls.key ? { key: readFileSync(opts.tls.key, 'utf8') } : {}),
      rejectUnauthorized: true,
    };
  }
  return cfg;
}

/** A one-line secret from a file (trailing newline dropped); a clear error when it cannot be read. */
export function readSecretFile(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConnectionConfigError(`cannot read the ${what} file ${path}: ${(e as Error).message}`);
  }
  const s = text.replace(/\r?\n$/, '');
  if (s.length === 0) throw new ConnectionConfigError(`the ${what} file ${path} is empty`);
  return s;
}

/**
 * A pool of connections. An idle connection that dies (server restart, network) is only
 * reported here - the pool drops it and the next query opens a new one; without a listener
 * pg would turn it into an uncaught error that ends the process.
 */
export function openPgPool(opts: PgConnectOptions, onIdleError: (e: Error) => void = () => undefined): pg.Pool {
  const pool = new pg.Pool({ ...pgClientConfig(opts), max: opts.max ?? 8 });
  pool.on('error', onIdleError);
  return pool;
}
