// Alerts as the collector keeps them: one row per aggregation key (agent + category +
// rule + peer) while it is open or acknowledged, with a count and first/last seen
// (packet time); closing it lets the next occurrence start a new row.
import type { EmittedAlert, Severity, SuggestedResponse } from './alert-record.js';

export type AlertState = 'open' | 'acknowledged' | 'closed';

export const ALERT_STATES: readonly AlertState[] = ['open', 'acknowledged', 'closed'];

export interface StoredAlert {
  id: number;
  key: string;
  agentId: string;
  category: string;
  rule: string;
  peer: string;
  analyzer: string;
  severity: Severity;
  state: AlertState;
  summary: string;
  /** occurrences aggregated into this row */
  count: number;
  /** packet time of the first / latest occurrence (µs) */
  firstSeenUs: number;
  lastSeenUs: number;
  /** flow of the latest occurrence */
  flowUid: string | null;
  communityId: string | null;
  /** the first few distinct flows involved (forensics) */
  flowUids: string[];
  /** evidence of the latest occurrence */
  evidence: Record<string, unknown>;
  suggestedResponse: SuggestedResponse | null;
  /** collector wall clock (µs): row created, last updated, state changed */
  createdUs: number;
  updatedUs: number;
  stateChangedUs: number | null;
}

/** Several occurrences of one key merged in memory before they reach the store. */
export interface AggregatedAlert {
  key: string;
  /** the latest occurrence (summary, evidence, flow come from it) */
  latest: EmittedAlert;
  count: number;
  firstTsUs: number;
  lastTsUs: number;
  maxSeverity: Severity;
  flowUids: string[];
}

export type AlertChangeKind = 'new' | 'escalated' | 'repeat';

export interface AlertChange {
  kind: AlertChangeKind;
  alert: StoredAlert;
}

export interface AlertFilter {
  state?: AlertState;
  agentId?: string;
  category?: string;
  /** alerts whose last occurrence is at or after / before (packet time, µs) */
  since?: number;
  until?: number;
  limit?: number;
}

/** Aggregation key: agent, category, rule, peer (NUL-separated, so no field can fake another). */
export function alertKey(a: { agentId: string; category: string; rule?: string; peer?: string }): string {
  return `${a.agentId}\u0000${a.category}\u0000${a.rule ?? ''}\u0000${a.peer ?? ''}`;
}

function iso(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString();
}

/**
 * An alert as the API and the console show it (docs/api.md): camelCase, times as ISO 8601
 * text with the packet times also as integer microseconds.
 */
export function alertView(a: StoredAlert): Record<string, unknown> {
  return {
    id: a.id, state: a.state, severity: a.severity, category: a.category, rule: a.rule, agentId: a.agentId,
    peer: a.peer, analyzer: a.analyzer, summary: a.summary, count: a.count,
    firstSeen: iso(a.firstSeenUs), lastSeen: iso(a.lastSeenUs), firstSeenUs: a.firstSeenUs, lastSeenUs: a.lastSeenUs,
    flowUid: a.flowUid, communityId: a.communityId, flowUids: a.flowUids, evidence: a.evidence, suggestedResponse: a.suggestedResponse,
    createdAt: iso(a.createdUs), updatedAt: iso(a.updatedUs), stateChangedAt: a.stateChangedUs === null ? null : iso(a.stateChangedUs),
  };
}

/** The JSON shape sent to outputs (JSON lines, webhook, syslog MSG). */
export function alertPayload(a: StoredAlert, kind: AlertChangeKind): Record<string, unknown> {
  return {
    id: a.id, kind, state: a.state, severity: a.severity, category: a.category, rule: a.rule, agentId: a.agentId,
    peer: a.peer, analyzer: a.analyzer, summary: a.summary, count: a.count,
    firstSeen: new Date(Math.floor(a.firstSeenUs / 1000)).toISOString(), lastSeen: new Date(Math.floor(a.lastSeenUs / 1000)).toISOString(),
    firstSeenUs: a.firstSeenUs, lastSeenUs: a.lastSeenUs, flowUid: a.flowUid, communityId: a.communityId, flowUids: a.flowUids,
    evidence: a.evidence, suggestedResponse: a.suggestedResponse,
  };
}
