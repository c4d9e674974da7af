// HTTPS enrollment on the collector's TLS port (server-auth only; the agent has no
// certificate yet). GET /v1/enroll/ca returns the root CA certificate (the agent checks it
// against the fingerprint in its token); POST /v1/enroll {token, csr} consumes one use of
// the token and returns a certificate for a freshly assigned random agent id, signed by the
// CA of the token's organisation (named in its OU), with that CA as `chain`. The token alone
// decides the organisation: an organisation that is suspended, deleted or at its agents quota
// enrolls nobody (and the token keeps its use).
// Refused attempts are charged to the source address; a source that has used up its budget
// is answered 429 without its request being read (token guessing, floods), and refusals are
// logged through the rate-limited refusal log.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../shared/log.js';
import type { EnrollTokenStore } from '../../certs/enroll-tokens.js';
import { CsrError, EnrollTokenError } from '../../certs/errors.js';
import { MeerkatError } from '../../shared/errors.js';
import { parseAgentCsr, signAgentCsr } from '../../certs/issue-certificates.js';
import type { MaybePromise, OrgDirectory } from './org-lanes.js';
import type { CollectorMetrics } from './collector-metrics.js';
import type { RefusalLog } from './refusal-log.js';
import type { SourceLimiter } from './source-limiter.js';

export const MAX_ENROLL_BODY_BYTES = 64 * 1024;

export interface EnrollResponse {
  agentId: string;
  certificate: string;
  /** the root (what the token pins) */
  caCertificate: string;
  /** the CAs between the certificate and the root: the organisation's CA (empty under a pre-organisation root) */
  chain: string[];
  org: string;
  notAfter: string;
}

/**
 * Where enrollment tokens are checked and used: the collector-wide SQLite table of one host
 * (certs/enroll-tokens.ts), or PostgreSQL shared by scale-out front-ends
 * (collector/scale/org-records.ts). Both throw EnrollTokenError saying why a token is refused.
 */
export interface EnrollTokenSource {
  /** the token's id and organisation if it could be used now, without taking a use */
  peek(token: string): MaybePromise<{ id: string; org: string }>;
  /**
   * Takes one use of the token, atomically, for the agent id about to be issued; a source that
   * also records the agent's organisation does it in the same step. @throws EnrollTokenError,
   * EnrollRefusedError
   */
  consume(token: string, agentId: string): MaybePromise<{ id: string; org: string }>;
  close(): MaybePromise<void>;
}

/** The SQLite token table of one collector host as a token source. */
export function sqliteTokenSource(store: EnrollTokenStore): EnrollTokenSource {
  return { peek: (t) => store.peek(t), consume: (t) => store.consume(t), close: () => store.close() };
}

/** An enrollment the organisation refused when its token was used (suspended meanwhile, at its agents quota). */
export class EnrollRefusedError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_ENROLL_REFUSED';
  constructor(readonly status: number, readonly error: string, message: string) {
    super(message);
    this.name = 'EnrollRefusedError';
  }
}

export interface EnrollDeps {
  rootCertPem: string;
  orgs: OrgDirectory;
  tokens: EnrollTokenSource;
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

export function serveCaCert(res: ServerResponse, ca: { certPem: string }): void {
  res.writeHead(200, { 'content-type': 'application/x-pem-file', 'cache-control': 'no-store' });
  res.end(ca.certPem);
}

export async function handleEnroll(req: IncomingMessage, res: ServerResponse, deps: EnrollDeps): Promise<void> {
  const remote = req.socket.remoteAddress ?? '?';
  if (deps.limiter.exhausted(remote, Date.now())) {
    deps.metrics.enrollments.inc({ org: '', result: 'rate-limited' });
    const retry = deps.limiter.retryAfterSec(remote, Date.now());
    deps.refusals.refused(remote, 'rate-limited', { remote, error: 'rate-limited' }, 'enrollment refused');
    req.resume();
    sendJson(res, 429, { error: 'rate-limited', message: `too many refused enrollment attempts from ${remote}; retry in ${retry} s` },
      { 'retry-after': String(retry), connection: 'close' });
    return;
  }
  const fail = (status: number, error: string, message: string, org = ''): void => {
    deps.metrics.enrollments.inc({ org, result: error });
    deps.limiter.take(remote, Date.now());
    deps.refusals.refused(remote, error, { remote, error, message, ...(org ? { org } : {}) }, 'enrollment refused');
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
  let org: string;
  try {
    org = (await deps.tokens.peek(parsed.token)).org;
  } catch (e) {
    if (e instanceof EnrollTokenError) return fail(e.reason === 'malformed' ? 400 : 403, `token-${e.reason}`, e.message);
    throw e;
  }
  // the organisation must take agents now (active, under its agents quota) before a use is taken
  const target = await deps.orgs.enrollTarget(org);
  if (!target.ok) return fail(target.status, target.error, target.message, org);
  const agentId = randomUUID();
  let tokenId: string;
  try {
    tokenId = (await deps.tokens.consume(parsed.token, agentId)).id;
  } catch (e) {
    if (e instanceof EnrollTokenError) return fail(e.reason === 'malformed' ? 400 : 403, `token-${e.reason}`, e.message, org);
    if (e instanceof EnrollRefusedError) return fail(e.status, e.error, e.message, org);
    throw e;
  }
  const { issuer } = target;
  const issued = signAgentCsr(issuer.ca, parsed.csr, agentId, { days: deps.agentCertDays, ...(issuer.ou ? { org: issuer.ou } : {}) });
  issuer.record(agentId, issued, 'enroll');
  await deps.orgs.enrolled(org, agentId);
  deps.metrics.enrollments.inc({ org, result: 'ok' });
  // no source address: it would tie the agent id to the host's real (internal) address
  deps.log.info({ org, agentId, tokenId, serial: issued.serial }, 'agent enrolled');
  const out: EnrollResponse = { agentId, certificate: issued.certPem, caCertificate: deps.rootCertPem, chain: issuer.chain, org, notAfter: issued.notAfter.toISOString() };
  sendJson(res, 200, out);
}
