// Deciding whether a TLS peer may talk to the collector as an agent. The TLS server runs
// with requestCert + rejectUnauthorized=false so that every refusal can be classified,
// counted and logged with its real reason (with rejectUnauthorized=true a client from
// another CA just sees a reset and the server learns nothing). Pure: no I/O. Which
// organisation a certificate that passes belongs to is decided next, from the CA that signed
// it (org-lanes.ts OrgDirectory.classify).
import { isAgentId } from '../../certs/issue-certificates.js';
import type { RevocationList } from '../../certs/revocation-list.js';

export const RefusalReason = {
  PlainHttp: 'plain-http',
  TlsVersion: 'tls-version',
  TlsHandshake: 'tls-handshake',
  NoClientCert: 'no-client-cert',
  UnknownCa: 'unknown-ca',
  Expired: 'expired',
  NotYetValid: 'not-yet-valid',
  BadCertificate: 'bad-certificate',
  Revoked: 'revoked',
  BadIdentity: 'bad-identity',
  /** the TLS handshake, the first request or the agent's hello did not come in time */
  Timeout: 'timeout',
  /** the agent's first message was not a good hello (wrong version, another agent id, no hello) */
  BadHello: 'bad-hello',
  /** the certificate names another organisation than the CA that signed it, or its agent id was enrolled into another organisation */
  OrgMismatch: 'org-mismatch',
  /** the agent's organisation is suspended (retryable: 503; the agent keeps spooling) */
  OrgSuspended: 'org-suspended',
  /** the agent's organisation could not be looked up now (a front-end's shared database unreachable; retryable: 503) */
  OrgUnavailable: 'org-unavailable',
} as const;
export type RefusalReasonValue = (typeof RefusalReason)[keyof typeof RefusalReason];
export const ALL_REFUSAL_REASONS: readonly RefusalReasonValue[] = Object.values(RefusalReason);

const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';

/** The parts of tls.TLSSocket state the check needs (so tests can build one by hand). */
export interface PeerFacts {
  authorized: boolean;
  authorizationError: string | null | undefined;
  /** tls.PeerCertificate, or {} when the client sent none */
  cert: { subject?: { CN?: string | string[] }; serialNumber?: string; ext_key_usage?: string[]; valid_from?: string; valid_to?: string } | null | undefined;
}

export type PeerVerdict =
  | { ok: true; agentId: string; serial: string }
  | { ok: false; reason: RefusalReasonValue; detail: string; claimedCn: string; serial: string };

function cnOf(cert: PeerFacts['cert']): string {
  const cn = cert?.subject?.CN;
  return Array.isArray(cn) ? (cn[0] ?? '') : (cn ?? '');
}

export function checkPeer(p: PeerFacts, revoked: RevocationList, nowMs = Date.now()): PeerVerdict {
  const cert = p.cert;
  const claimedCn = cnOf(cert);
  const serial = cert?.serialNumber ?? '';
  const refuse = (reason: RefusalReasonValue, detail: string): PeerVerdict => ({ ok: false, reason, detail, claimedCn, serial });
  if (!cert || serial === '') return refuse(RefusalReason.NoClientCert, 'the client sent no certificate');
  if (!p.authorized) {
    const err = String(p.authorizationError ?? 'unknown verify error');
    switch (err) {
      case 'CERT_HAS_EXPIRED':
        return refuse(RefusalReason.Expired, 'client certificate has expired');
      case 'CERT_NOT_YET_VALID':
        return refuse(RefusalReason.NotYetValid, 'client certificate is not valid yet (clock skew?)');
      case 'CERT_REVOKED':
        return refuse(RefusalReason.Revoked, 'client certificate is on the CRL');
      case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
      case 'UNABLE_TO_GET_ISSUER_CERT':
      case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      case 'SELF_SIGNED_CERT_IN_CHAIN':
      case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      case 'CERT_SIGNATURE_FAILURE':
        return refuse(RefusalReason.UnknownCa, `client certificate is not issued by this collector's CA (${err})`);
      default:
        return refuse(RefusalReason.BadCertificate, `client certificate failed verification (${err})`);
    }
  }
  // a resumed TLS session carries the verify result of its first handshake: check the dates again
  if (cert.valid_to && Date.parse(cert.valid_to) < nowMs) return refuse(RefusalReason.Expired, 'client certificate has expired (resumed session)');
  if (cert.valid_from && Date.parse(cert.valid_from) > nowMs) return refuse(RefusalReason.NotYetValid, 'client certificate is not valid yet (resumed session)');
  if (!isAgentId(claimedCn)) return refuse(RefusalReason.BadIdentity, 'certificate subject CN is not an agent id');
  if (!cert.ext_key_usage?.includes(CLIENT_AUTH_OID)) return refuse(RefusalReason.BadIdentity, 'certificate lacks the clientAuth extended key usage');
  if (revoked.isRevoked(claimedCn, serial)) return refuse(RefusalReason.Revoked, 'agent or certificate is revoked');
  return { ok: true, agentId: claimedCn, serial };
}

/** Classifies a failed handshake ('tlsClientError'), e.g. plain HTTP sent to the TLS port. */
export function classifyTlsClientError(err: NodeJS.ErrnoException): { reason: RefusalReasonValue; detail: string } {
  const code = err.code ?? '';
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return { reason: RefusalReason.Timeout, detail: 'TLS handshake not finished in time' };
  if (code === 'ERR_SSL_HTTP_REQUEST' || code === 'ERR_SSL_HTTPS_PROXY_REQUEST') return { reason: RefusalReason.PlainHttp, detail: 'plain HTTP sent to the TLS port' };
  if (code === 'ERR_SSL_UNSUPPORTED_PROTOCOL' || code === 'ERR_SSL_NO_PROTOCOLS_AVAILABLE' || code === 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION') {
    return { reason: RefusalReason.TlsVersion, detail: 'client offered no TLS version the collector allows' };
  }
  return { reason: RefusalReason.TlsHandshake, detail: `TLS handshake failed (${code || err.message})` };
}
