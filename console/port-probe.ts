// When a call to the collector's API fails in a way that suggests the wrong port (a TLS error
// such as OpenSSL's "wrong version number", a certificate for other names, an answer without
// the API's mark), the console asks the port what it is - plain HTTP first, then TLS without
// verifying anything and sending nothing but a GET - and names it: the collector's ops port,
// its agents' port, or a server that is no Meerkat API at all. Every collector port marks its
// answers (shared/protocol/port-names.ts).
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { InputError } from '../shared/errors.js';
import { PORT_DEFAULTS, PORT_HEADER, PORT_ROLES, isPortName, type PortName } from '../shared/protocol/port-names.js';

/** What answered: one of the collector's ports, some other HTTP or TLS server, or nothing. */
export type PortFinding = PortName | 'http' | 'tls' | null;

/** The console reached something that is not the collector's API. */
export class WrongPortError extends InputError {
  readonly code = 'MEERKAT_ERR_WRONG_PORT';
  constructor(readonly origin: string, readonly found: PortFinding, detail: string) {
    super(wrongPortMessage(origin, found, detail));
    this.name = 'WrongPortError';
  }
}

const HOW_TO_SET = `the API is the collector's \`api\` port (default ${PORT_DEFAULTS.api}): set --api, $MEERKAT_API_URL or "api" in ~/.meerkat/config.json`;

export function wrongPortMessage(origin: string, found: PortFinding, detail: string): string {
  const what = found === null ? `${origin} did not answer as the collector's API (${detail})`
    : found === 'api' ? `${origin} is the collector's API but the connection failed (${detail})`
      : isPortName(found) ? `${origin} is the collector's ${PORT_ROLES[found]}, not its operators' API`
        : found === 'http' ? `${origin} answers plain HTTP, not the collector's API (HTTPS)`
          : `${origin} answers TLS but is not a Meerkat collector's API (${detail})`;
  return `${what}; ${HOW_TO_SET}`;
}

function portOf(headers: Record<string, string | string[] | undefined>): PortName | null {
  const v = headers[PORT_HEADER];
  return isPortName(v) ? v : null;
}

function probe(kind: 'http' | 'tls', origin: URL, timeoutMs: number): Promise<PortFinding> {
  return new Promise((resolve) => {
    const opts = { host: origin.hostname.replace(/^\[(.*)\]$/, '$1'), port: origin.port || 443, path: '/healthz', method: 'GET', timeout: timeoutMs };
    const done = (v: PortFinding): void => { req.destroy(); resolve(v); };
    const req = kind === 'http'
      ? httpRequest(opts, (res) => { res.resume(); done(portOf(res.headers) ?? 'http'); })
      // nothing secret is sent: no client certificate, no body; only to read the port's mark
      : httpsRequest({ ...opts, rejectUnauthorized: false }, (res) => { res.resume(); done(portOf(res.headers) ?? 'tls'); });
    req.on('timeout', () => done(null));
    req.on('error', () => resolve(null));
    req.end();
  });
}

/** Asks the port at `origin` what it is. */
export async function whatAnswers(origin: URL, timeoutMs = 3000): Promise<PortFinding> {
  return (await probe('http', origin, timeoutMs)) ?? (await probe('tls', origin, timeoutMs));
}

/** Errors that mean "this may not be the API's port" (TLS not spoken, or not with our CA and names). */
export function suggestsWrongPort(e: NodeJS.ErrnoException): boolean {
  const code = e.code ?? '';
  return code === 'EPROTO' || code === 'ECONNRESET' || code.startsWith('ERR_SSL_') || code === 'ERR_TLS_CERT_ALTNAME_INVALID'
    || /wrong version number|packet length too long|unexpected eof|http request/i.test(e.message)
    || code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || code === 'SELF_SIGNED_CERT_IN_CHAIN' || code === 'DEPTH_ZERO_SELF_SIGNED_CERT';
}
