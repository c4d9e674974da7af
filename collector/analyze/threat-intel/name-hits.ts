// The threat-intel alerts of a listed domain or TLS fingerprint, built in one place for the
// analyzer (DNS names, TLS server names, HTTP Hosts, JA4/JA4S) and the collector's per-record
// metadata check (collector/respond/meta-threat-tap.ts): same category, rule and peer, so an
// early hit and the analyzer's later one aggregate into one alert row.
import type { AlertInput, Severity } from '../../../shared/alerts/alert-record.js';

export interface DomainHit {
  feed: string;
  severity: Severity;
  /** the listed domain (the name itself or a parent) */
  entry: string;
  label: string;
  /** the name seen */
  name: string;
  agentId: string;
  tsUs: number;
  /** what carried the name: "DNS query", "TLS server name", "HTTP Host", ... */
  source: string;
  stage: 'dns' | 'tls' | 'http' | 'metadata';
  /** DNS names: question or answer */
  role?: 'query' | 'answer' | null;
  uid?: string;
  communityId?: string;
  client: string | null;
  server: string | null;
  feedVersion?: number;
}

export function domainHitAlert(h: DomainHit): AlertInput {
  return {
    severity: h.severity,
    category: 'threat-intel',
    rule: `domain:${h.feed}`,
    agentId: h.agentId,
    ...(h.uid !== undefined ? { flowUid: h.uid } : {}),
    ...(h.communityId !== undefined ? { communityId: h.communityId } : {}),
    peer: h.entry,
    summary: `${h.source} ${h.name} is on ${h.feed} as ${h.entry}${h.label ? ` (${h.label})` : ''}`,
    evidence: {
      feed: h.feed, name: h.name, entry: h.entry, label: h.label, source: h.source, stage: h.stage, client: h.client, server: h.server,
      ...(h.role !== undefined ? { role: h.role } : {}),
      ...(h.feedVersion !== undefined ? { feedVersion: h.feedVersion } : {}),
    },
    tsUs: h.tsUs,
  };
}

export interface Ja4Hit {
  feed: string;
  severity: Severity;
  fingerprint: string;
  /** client: JA4 of a client hello; server: JA4S of a server hello */
  side: 'client' | 'server';
  label: string;
  agentId: string;
  tsUs: number;
  uid?: string;
  client: string | null;
  server: string | null;
  serverName: string | null;
  feedVersion?: number;
}

export function ja4HitAlert(h: Ja4Hit): AlertInput {
  const what = h.side === 'client' ? 'TLS client fingerprint (JA4)' : 'TLS server fingerprint (JA4S)';
  return {
    severity: h.severity,
    category: 'threat-intel',
    rule: `ja4:${h.feed}`,
    agentId: h.agentId,
    ...(h.uid !== undefined ? { flowUid: h.uid } : {}),
    peer: h.fingerprint,
    summary: `${what} ${h.fingerprint} is on ${h.feed}${h.label ? ` (${h.label})` : ''}` +
      `${h.server !== null ? `: ${h.client ?? '?'} -> ${h.server}${h.serverName ? ` (${h.serverName})` : ''}` : ''}`,
    evidence: {
      feed: h.feed, fingerprint: h.fingerprint, side: h.side, label: h.label, client: h.client, server: h.server, serverName: h.serverName,
      ...(h.feedVersion !== undefined ? { feedVersion: h.feedVersion } : {}),
    },
    tsUs: h.tsUs,
  };
}
