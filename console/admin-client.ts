// The console's client for the collector's operators' API (its `api` port): HTTPS with the
// operator's client certificate, the collector CA as the only trust anchor. The operator
// directory (console/settings.ts: --operator-dir, $MEERKAT_OPERATOR_DIR, "operatorDir",
// ~/.meerkat/operator) holds:
//   operator.crt / operator.key / ca.crt   from `meerkat-collector init` or `meerkat-collector pki operator create`
//   op.key / op.pub                        from `meerkat-collector init` or `meerkat keys operator-init`
// A failure that suggests the wrong port is explained by asking the port what it is
// (port-probe.ts): "... is the collector's ops port ..." instead of OpenSSL's words.
import { request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../shared/cli/run-cli.js';
import { MeerkatError } from '../shared/errors.js';
import { DEFAULT_ORG } from '../shared/orgs/org-id.js';
import { OPERATOR_CA_FILE, OPERATOR_CERT_FILE, OPERATOR_CERT_KEY_FILE } from '../certs/operator-certs.js';
import { PORT_HEADER } from '../shared/protocol/port-names.js';
import { WrongPortError, suggestsWrongPort, whatAnswers } from './port-probe.js';

/** The API answered with an error status. */
export class AdminApiError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_ADMIN_API';
  constructor(readonly status: number, readonly reason: string, message: string) {
    super(`collector API: ${message} (HTTP ${status}${reason ? `, ${reason}` : ''})`);
    this.name = 'AdminApiError';
  }
}

/** The API could not be reached, or did not answer in time. */
export class ApiConnectionError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_API_CONNECTION';
  constructor(message: string) {
    super(message);
    this.name = 'ApiConnectionError';
  }
}

/** The connection failed: explained as the wrong port when the port says so, as a network error otherwise. */
async function explainFailure(origin: URL, e: NodeJS.ErrnoException): Promise<Error> {
  if (e.code === 'ECONNREFUSED') return new ApiConnectionError(`cannot reach the collector's API at ${origin.origin} (connection refused): is the collector running, and is this its \`api\` port?`);
  if (e instanceof MeerkatError) return e;
  if (!suggestsWrongPort(e)) return new ApiConnectionError(`the collector's API at ${origin.origin}: ${e.message}`);
  const found = await whatAnswers(origin);
  return new WrongPortError(origin.origin, found, e.message);
}

/** An answer from a port that is marked as another of the collector's ports. */
function markedElsewhere(origin: URL, res: IncomingMessage): WrongPortError | null {
  const mark = res.headers[PORT_HEADER];
  if (mark === undefined || mark === 'api') return null;
  return new WrongPortError(origin.origin, mark === 'listen' || mark === 'ops' ? mark : 'tls', `answered as "${String(mark)}"`);
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
      throw new UsageError(`not an API URL: ${JSON.stringify(url)} (expected https://host:port, the collector's \`api\` port)`);
    }
    if (this.base.protocol !== 'https:') throw new UsageError(`the collector's API is HTTPS only, got ${JSON.stringify(url)}`);
  }

  /** Credentials from the operator directory. @throws UsageError naming the missing file */
  static fromOperatorDir(dir: string, url: string, org: string = DEFAULT_ORG): AdminClient {
    const how = `\`meerkat-collector init\` creates them for the first operator, \`meerkat-collector user add NAME --org ORG --role ROLE --cert-out ${dir}\` for others (on the collector host)`;
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
        const elsewhere = markedElsewhere(u, res);
        if (elsewhere) {
          res.resume();
          reject(elsewhere);
          return;
        }
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
      req.on('timeout', () => req.destroy(new ApiConnectionError(`no answer from the collector's API at ${u.origin} within 90 s`)));
      req.on('error', (e: NodeJS.ErrnoException) => void explainFailure(u, e).then(reject));
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
        const elsewhere = markedElsewhere(u, res);
        if (elsewhere) {
          res.resume();
          reject(elsewhere);
          return;
        }
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
      req.on('timeout', () => req.destroy(new ApiConnectionError(`no answer from the collector's API at ${u.origin} within 90 s`)));
      req.on('error', (e: NodeJS.ErrnoException) => void explainFailure(u, e).then(reject));
      req.end(payload);
    });
  }
}
