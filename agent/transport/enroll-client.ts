// Agent enrollment: make a key pair here (it never leaves the host), fetch the collector's
// CA certificate and accept it only if its SHA-256 matches the fingerprint carried by the
// token, then POST the CSR + token over HTTPS verified against that CA, and store the
// identity. The token secret is only ever sent to a collector that proved the pinned CA.
import { X509Certificate, generateKeyPair, type KeyObject } from 'node:crypto';
import { request } from 'node:https';
import { promisify } from 'node:util';
import { createAgentCsr, AGENT_KEY_BITS } from '../../certs/agent-csr.js';
import { parseEnrollToken } from '../../certs/enroll-token-format.js';
import { fingerprintMatches } from '../../certs/fingerprint.js';
import { verifyChainToRoot } from '../../certs/cert-chain.js';
import { saveAgentIdentity, type AgentIdentity } from './agent-identity.js';
import { collectorEndpoints } from './collector-url.js';
import { ENROLL_CA_PATH, ENROLL_PATH } from '../../shared/protocol/agent-protocol.js';
import { MeerkatError } from '../../shared/errors.js';

export class EnrollError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_ENROLL';
  /** machine-readable: network | pin-mismatch | refused | bad-response */
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.name = 'EnrollError';
    this.reason = reason;
  }
}

export interface EnrollOptions {
  collectorUrl: string;
  token: string;
  stateDir: string;
  keyBits?: number;
  timeoutMs?: number;
}

interface HttpResult { status: number; body: string }

function httpsCall(url: string, opts: { method: string; body?: string; ca?: string; pinOnly?: boolean; timeoutMs: number }): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: opts.method,
      // the first call only fetches the CA certificate, checked by fingerprint afterwards
      ...(opts.pinOnly ? { rejectUnauthorized: false } : { ca: opts.ca, rejectUnauthorized: true }),
      minVersion: 'TLSv1.2',
      headers: opts.body !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(opts.body) } : {},
      timeout: opts.timeoutMs,
      agent: false,
    }, (res) => {
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
        if (n > 256 * 1024) req.destroy(new Error('response larger than 256 KiB'));
        else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

const genKey = promisify(generateKeyPair);

export async function enrollAgent(opts: EnrollOptions): Promise<AgentIdentity> {
  const token = parseEnrollToken(opts.token);
  const ep = collectorEndpoints(opts.collectorUrl);
  const timeoutMs = opts.timeoutMs ?? 30_000;

  let caRes: HttpResult;
  try {
    caRes = await httpsCall(ep.base + ENROLL_CA_PATH, { method: 'GET', pinOnly: true, timeoutMs });
  } catch (e) {
    throw new EnrollError('network', `cannot reach the collector at ${ep.base}: ${(e as Error).message}`);
  }
  if (caRes.status !== 200) throw new EnrollError('bad-response', `GET ${ENROLL_CA_PATH} answered HTTP ${caRes.status}`);
  const caPem = caRes.body;
  let caOk = false;
  try {
    caOk = new X509Certificate(caPem).ca && fingerprintMatches(caPem, token.caFingerprint);
  } catch {
    caOk = false;
  }
  if (!caOk) {
    throw new EnrollError('pin-mismatch', `the collector at ${ep.base} presented a CA certificate whose SHA-256 does not match the token's fingerprint; refusing to send the token (wrong collector, or an interception attempt)`);
  }

  // async keygen: RSA-3072 takes a noticeable moment, keep the event loop free meanwhile
  const { privateKey } = await genKey('rsa', { modulusLength: opts.keyBits ?? AGENT_KEY_BITS, publicExponent: 0x10001 });
  const key = privateKey as KeyObject;
  const csr = createAgentCsr(key);

  let res: HttpResult;
  try {
    res = await httpsCall(ep.base + ENROLL_PATH, { method: 'POST', body: JSON.stringify({ token: opts.token.trim(), csr }), ca: caPem, timeoutMs });
  } catch (e) {
    throw new EnrollError('network', `enrollment request to ${ep.base} failed: ${(e as Error).message}`);
  }
  let body: { agentId?: unknown; certificate?: unknown; caCertificate?: unknown; chain?: unknown; error?: unknown; message?: unknown };
  try {
    body = JSON.parse(res.body) as typeof body;
  } catch {
    throw new EnrollError('bad-response', `collector answered HTTP ${res.status} with a non-JSON body`);
  }
  if (res.status !== 200) {
    throw new EnrollError('refused', `collector refused enrollment (HTTP ${res.status}, ${String(body.error ?? '?')}): ${String(body.message ?? '')}`);
  }
  if (typeof body.agentId !== 'string' || typeof body.certificate !== 'string' || typeof body.caCertificate !== 'string') {
    throw new EnrollError('bad-response', 'enrollment response lacks agentId, certificate or caCertificate');
  }
  if (!fingerprintMatches(body.caCertificate, token.caFingerprint)) throw new EnrollError('pin-mismatch', 'enrollment response carries a different CA certificate than the pinned one');
  // the organisation's CA that signed the certificate; kept after it, so the TLS client sends the chain
  const chain = Array.isArray(body.chain) && body.chain.every((c) => typeof c === 'string') ? (body.chain as string[]) : [];
  const certPem = [body.certificate, ...chain].map((p) => p.trim() + '\n').join('');
  const verdict = verifyChainToRoot(certPem, caPem);
  if (!verdict.ok || !verdict.leaf.checkPrivateKey(key)) {
    throw new EnrollError('bad-response', `the issued certificate does not match our key or does not lead to the pinned CA${verdict.ok ? '' : ` (${verdict.detail})`}`);
  }
  return saveAgentIdentity(opts.stateDir, { agentId: body.agentId, collectorUrl: ep.base, key, certPem, caPem });
}
