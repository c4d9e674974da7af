// HTTPS enrollment on the collector's TLS port (server-auth only; the agent has no
// certificate yet). GET /v1/enroll/ca returns the CA certificate (the agent checks it
// against the fingerprint in its token); POST /v1/enroll {token, csr} consumes one use of
// the token and returns a certificate for a freshly assigned random agent id.
// Refused attempts are charged to the source address; a source that has used up its budget
// is answered 429 without its request being read (token guessing, floods), and refusals are
// logged through the rate-limited refusal log.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../shared/log.js';
import type { CertificateAuthority } from '../../certs/certificate-authority.js';
import type { EnrollTokenStore } from '../../certs/enroll-tokens.js';
import { CsrError, EnrollTokenError } from '../../certs/errors.js';
import { parseAgentCsr, signAgentCsr } from '../../certs/issue-certificates.js';
import { recordIssuance } from '../../certs/pki-dir.js';
import type { CollectorMetrics } from './collector-metrics.js';
import type { RefusalLog } from './refusal-log.js';
import type { SourceLimiter } from './source-limiter.js';

export const MAX_ENROLL_BODY_BYTES = 64 * 1024;

export interface EnrollResponse {
  agentId: string;
  certificate: string;
  caCertificate: string;
  notAfter: string;
}

export interface EnrollDeps {
  ca: CertificateAuthority;
  pkiDir: string;
  tokens: EnrollTokenStore;
  metrics: CollectorMetrics;
  log: Logger;
  agentCertDays: number;
  /** refused attempts per source address */
  limiter: SourceLimiter;
  refusals: RefusalLog;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > limit) {
        resolve(null);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function serveCaCert(res: ServerResponse, ca: CertificateAuthority): void {
  res.writeHead(200, { 'content-type': 'application/x-pem-file', 'cache-control': 'no-store' });
  res.end(ca.certPem);
}

export async function handleEnroll(req: IncomingMessage, res: ServerResponse, deps: EnrollDeps): Promise<void> {
  const remote = req.socket.remoteAddress ?? '?';
  if (deps.limiter.exhausted(remote, Date.now())) {
    deps.metrics.enrollments.inc({ result: 'rate-limited' });
    const retry = deps.limiter.retryAfterSec(remote, Date.now());
    deps.refusals.refused(remote, 'rate-limited', { remote, error: 'rate-limited' }, 'enrollment refused');
    req.resume();
    sendJson(res, 429, { error: 'rate-limited', message: `too many refused enrollment attempts from ${remote}; retry in ${retry} s` },
      { 'retry-after': String(retry), connection: 'close' });
    return;
  }
  const fail = (status: number, error: string, message: string): void => {
    deps.metrics.enrollments.inc({ result: error });
    deps.limiter.take(remote, Date.now());
    deps.refusals.refused(remote, error, { remote, error, message }, 'enrollment refused');
    sendJson(res, status, { error, message });
  };
  const body = await readBody(req, MAX_ENROLL_BODY_BYTES).catch(() => null);
  if (!body) return fail(413, 'bad-request', `request body missing or larger than ${MAX_ENROLL_BODY_BYTES} bytes`);
  let parsed: { token?: unknown; csr?: unknown };
  try {
    parsed = JSON.parse(body.toString('utf8')) as { token?: unknown; csr?: unknown };
  } catch {
    return fail(400, 'bad-request', 'body is not JSON; expected {"token": "...", "csr": "-----BEGIN CERTIFICATE REQUEST-----..."}');
  }
  if (typeof parsed?.token !== 'string' || typeof parsed.csr !== 'string') {
    return fail(400, 'bad-request', 'expected {"token": string, "csr": string}');
  }
  // check the CSR before spending a token use on it
  try {
    parseAgentCsr(parsed.csr);
  } catch (e) {
    if (e instanceof CsrError) return fail(400, 'bad-csr', e.message);
    throw e;
  }
  let tokenId: string;
  try {
    tokenId = deps.tokens.consume(parsed.token);
  } catch (e) {
    if (e instanceof EnrollTokenError) return fail(e.reason === 'malformed' ? 400 : 403, `token-${e.reason}`, e.message);
    throw e;
  }
  const agentId = randomUUID();
  const issued = signAgentCsr(deps.ca, parsed.csr, agentId, { days: deps.agentCertDays });
  recordIssuance(deps.pkiDir, {
    agentId,
    serial: issued.serial,
    notBefore: issued.notBefore.toISOString(),
    notAfter: issued.notAfter.toISOString(),
    issuedAt: new Date().toISOString(),
    kind: 'enroll',
  });
  deps.metrics.enrollments.inc({ result: 'ok' });
  // no source address: it would tie the agent id to the host's real (internal) address
  deps.log.info({ agentId, tokenId, serial: issued.serial }, 'agent enrolled');
  const out: EnrollResponse = { agentId, certificate: issued.certPem, caCertificate: deps.ca.certPem, notAfter: issued.notAfter.toISOString() };
  sendJson(res, 200, out);
}
