// Alerts as the collector keeps them: one row per aggregation key (agent + host + category +
// rule + peer) while it is open or acknowledged, with a count and first/last seen
// (packet time); closing it lets the next occurrence start a new row.
import type { EmittedAlert, Severity, SuggestedResponse } from './alert-record.js';

export type AlertState = 'open' | 'acknowledged' | 'closed';

export const ALERT_STATES: readonly AlertState[] = ['open', 'acknowledged', 'closed'];

export interface StoredAlert {
  id: number;
  /** aggregation key (internal: never printed or sent) */
  key: string;
  agentId: string;
  /** the internal host, address as stored ('' when the alert is about no host, e.g. the collector's own) */
  host: string;
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
  /** exactly this severity (the web console's filter) */
  severity?: Severity;
  agentId?: string;
  host?: string;
  category?: string;
  /** alerts whose last occurrence is at or after / before (packet time, µs) */
  since?: number;
  until?: number;
  limit?: number;
}

/**
 * Aggregation key: agent, host, category, rule, peer as a JSON array (unambiguous, and readable
 * in the database; the store's migration 2 builds the same text with SQLite's json_array).
 */
export function alertKey(a: { agentId: string; host?: string; category: string; rule?: string; peer?: string }): string {
  return JSON.stringify([a.agentId, a.host ?? '', a.category, a.rule ?? '', a.peer ?? '']);
}

function iso(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString();
}

/**
 * An alert as the API, the console (`meerkat alerts --json`) and the outputs show it: camelCase,
 * times as ISO 8601 text with the packet times also as integer microseconds. Every field is
 * documented in docs/analyzers.md ("The alert as JSON") and docs/api.md; the internal key is not part of it.
 */
export interface AlertView {
  id: number;
  state: AlertState;
  severity: Severity;
  category: string;
  rule: string;
  agentId: string;
  host: string;
  peer: string;
  analyzer: string;
  summary: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
  firstSeenUs: number;
  lastSeenUs: number;
  flowUid: string | null;
  communityId: string | null;
  flowUids: string[];
  evidence: Record<string, unknown>;
  suggestedResponse: SuggestedResponse | null;
  createdAt: string;
  updatedAt: string;
  stateChangedAt: string | null;
  createdUs: number;
  updatedUs: number;
  stateChangedUs: number | null;
}

export function alertView(a: StoredAlert): AlertView {
  return {
    id: a.id, state: a.state, severity: a.severity, category: a.category, rule: a.rule, agentId: a.agentId, host: a.host,
    peer: a.peer, analyzer: a.analyzer, summary: a.summary, count: a.count, firstSeen: iso(a.firstSeenUs), lastSeen: iso(a.lastSeenUs),
    firstSeenUs: a.firstSeenUs, lastSeenUs: a.lastSeenUs, flowUid: a.flowUid, communityId: a.communityId, flowUids: a.flowUids,
    evidence: a.evidence, suggestedResponse: a.suggestedResponse,
    createdAt: iso(a.createdUs), updatedAt: iso(a.updatedUs), stateChangedAt: a.stateChangedUs === null ? null : iso(a.stateChangedUs),
    createdUs: a.createdUs, updatedUs: a.updatedUs, stateChangedUs: a.stateChangedUs,
  };
}

/** The JSON shape sent to outputs (JSON lines, webhook, syslog MSG): the view plus what changed (`kind`). */
export function alertPayload(a: StoredAlert, kind: AlertChangeKind): AlertView & { kind: AlertChangeKind } {
  const { id, ...rest } = alertView(a);
  return { id, kind, ...rest };
}
