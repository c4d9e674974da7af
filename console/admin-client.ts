// The console's client for the collector's admin API: HTTPS with the operator's client
// certificate, the collector CA as the only trust anchor. The operator directory (default
// $MEERKAT_OPERATOR_DIR or ~/.meerkat/operator) holds:
//   operator.crt / operator.key / ca.crt   from `meerkat pki operator create NAME --out DIR`
//   op.key / op.pub                        from `meerkat keys operator-init --dir DIR`
import { request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../shared/cli/run-cli.js';
import { MeerkatError } from '../shared/errors.js';
import { DEFAULT_ORG, isOrgId } from '../shared/orgs/org-id.js';

const DEFAULT_ADMIN_URL = 'https://127.0.0.1:9470';
import { OPERATOR_CA_FILE, OPERATOR_CERT_FILE, OPERATOR_CERT_KEY_FILE } from '../certs/operator-certs.js';
export { OPERATOR_CA_FILE, OPERATOR_CERT_FILE, OPERATOR_CERT_KEY_FILE };

export function operatorDir(flag?: string): string {
  return flag ?? process.env.MEERKAT_OPERATOR_DIR ?? join(homedir(), '.meerkat', 'operator');
}

export function adminUrl(flag?: string): string {
  return flag ?? process.env.MEERKAT_ADMIN_URL ?? DEFAULT_ADMIN_URL;
}

/** The organisation a command works in: --org, else $MEERKAT_ORG, else the default one. */
export function orgOf(flag?: string): string {
  const org = flag ?? process.env.MEERKAT_ORG ?? DEFAULT_ORG;
  if (!isOrgId(org)) throw new UsageError(`--org expects an organisation id (a-z, 0-9, inner -), got ${JSON.stringify(org)}`);
  return org;
}

/** The admin API answered with an error status. */
export class AdminApiError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_ADMIN_API';
  constructor(readonly status: number, readonly reason: string, message: string) {
    super(`collector admin API: ${message} (HTTP ${status}${reason ? `, ${reason}` : ''})`);
    this.name = 'AdminApiError';
  }
}

function readOrExplain(file: string, what: string, how: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: cannot read ${what} (${(e as NodeJS.ErrnoException).code ?? String(e)}); ${how}`);
  }
}

export class AdminClient {
  private readonly base: URL;

  /** `org`: the organisation scoped() paths are in */
  constructor(url: string, private readonly tls: { cert: string; key: string; ca: string }, readonly org: string = DEFAULT_ORG) {
    try {
      this.base = new URL(url);
    } catch {
      throw new UsageError(`not an admin API URL: ${JSON.stringify(url)} (expected https://host:port)`);
    }
    if (this.base.protocol !== 'https:') throw new UsageError(`the admin API is HTTPS only, got ${JSON.stringify(url)}`);
  }

  /** Credentials from the operator directory. @throws UsageError naming the missing file */
  static fromOperatorDir(dir: string, url: string, org: string = DEFAULT_ORG): AdminClient {
    const how = `create them with \`meerkat-collector user add NAME --org ORG --role ROLE --cert-out ${dir}\` on the collector host`;
    return new AdminClient(url, {
      cert: readOrExplain(join(dir, OPERATOR_CERT_FILE), 'the operator certificate', how),
      key: readOrExplain(join(dir, OPERATOR_CERT_KEY_FILE), 'the operator certificate key', how),
      ca: readOrExplain(join(dir, OPERATOR_CA_FILE), 'the collector CA certificate', how),
    }, org);
  }

  /** The path of an organisation route: /v1/orgs/<org><rest>. */
  scoped(rest: string): string {
    return `/v1/orgs/${encodeURIComponent(this.org)}${rest}`;
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path, undefined);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('PUT', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.call<T>('DELETE', path, undefined);
  }

  /**
   * GET whose answer is a byte stream (a packet export): resolves with the body once the status
   * is 2xx (read it to the end; the HTTP trailers are then on `body.trailers`), rejects with the
   * API's error otherwise.
   */
  stream(path: string): Promise<IncomingMessage> {
    const u = new URL(path, this.base);
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(u, { method: 'GET', cert: this.tls.cert, key: this.tls.key, ca: this.tls.ca, minVersion: 'TLSv1.3', timeout: 90_000 }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          req.setTimeout(0);
          resolve(res);
          return;
        }
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          let e: { error?: string; message?: string } = {};
          try { e = JSON.parse(text) as typeof e; } catch { /* not JSON: shown as text */ }
          reject(new AdminApiError(status, e.error ?? '', e.message ?? text.slice(0, 200)));
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer from ${u.origin} within 90 s`)));
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ECONNREFUSED') reject(new Error(`cannot reach the collector admin API at ${u.origin} (connection refused): is the collector running with --control?`));
        else reject(e);
      });
      req.end();
    });
  }

  private call<T>(method: string, path: string, body: unknown): Promise<T> {
    const u = new URL(path, this.base);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    return new Promise<T>((resolve, reject) => {
      const req = request(u, {
        method,
        cert: this.tls.cert,
        key: this.tls.key,
        ca: this.tls.ca,
        minVersion: 'TLSv1.3',
        headers: { accept: 'application/json', ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}) },
        timeout: 90_000,
      }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          let json: unknown;
          try {
            json = text.length ? JSON.parse(text) : {};
          } catch {
            reject(new AdminApiError(res.statusCode ?? 0, 'bad-response', `answer is not JSON: ${text.slice(0, 120)}`));
            return;
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(json as T);
          else {
            const e = json as { error?: string; message?: string };
            reject(new AdminApiError(status, e.error ?? '', e.message ?? text.slice(0, 200)));
          }
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer from ${u.origin} within 90 s`)));
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ECONNREFUSED') reject(new Error(`cannot reach the collector admin API at ${u.origin} (connection refused): is the collector running with --control?`));
        else reject(e);
      });
      req.end(payload);
    });
  }
}
