// What both alert stores (SQLite, PostgreSQL) share, kept in one place so they cannot drift: how
// an aggregated batch merges into a live alert row, the row as both tables hold it (same column
// names), the filter's conditions and the page cursor. Pure.
import { severityRank, type Severity, type SuggestedResponse } from './alert-record.js';
import type { AggregatedAlert, AlertFilter, AlertState, StoredAlert } from './alert-types.js';
import { AlertStoreError } from './alert-store-error.js';

/** Evidence larger than this is replaced by a note (a user analyzer must not bloat the database). */
export const MAX_EVIDENCE_JSON = 16_384;
export const MAX_FLOW_UIDS = 10;

export function evidenceJson(e: Record<string, unknown>): string {
  let text: string;
  try {
    text = JSON.stringify(e);
  } catch (err) {
    return JSON.stringify({ unserializable: String(err) });
  }
  if (text.length > MAX_EVIDENCE_JSON) return JSON.stringify({ truncated: true, bytes: text.length });
  return text;
}

/** The mutable part of a live alert row, as both stores hold it. */
export interface AlertRowValues {
  count: number;
  firstSeenUs: number;
  lastSeenUs: number;
  severity: Severity;
  severityRank: number;
  summary: string;
  flowUid: string | null;
  communityId: string | null;
  flowUidsJson: string;
  evidenceJson: string;
  responseJson: string | null;
  analyzer: string;
}

/** A new row's values from an aggregate. */
export function newRowValues(agg: AggregatedAlert): AlertRowValues {
  const a = agg.latest;
  return {
    count: agg.count, firstSeenUs: agg.firstTsUs, lastSeenUs: agg.lastTsUs, severity: agg.maxSeverity, severityRank: severityRank(agg.maxSeverity),
    summary: a.summary, flowUid: a.flowUid ?? null, communityId: a.communityId ?? null, flowUidsJson: JSON.stringify(agg.flowUids.slice(0, MAX_FLOW_UIDS)),
    evidenceJson: evidenceJson(a.evidence), responseJson: a.suggestedResponse ? JSON.stringify(a.suggestedResponse) : null, analyzer: a.analyzer,
  };
}

/**
 * A live row after an aggregate merged into it: counts add up, first/last seen widen, the
 * severity is the highest, summary/evidence/flow/response come from the newer occurrence (an
 * older one arriving late does not overwrite them), the first few distinct flows are kept.
 */
export function mergedRowValues(row: AlertRowValues, agg: AggregatedAlert): { values: AlertRowValues; escalated: boolean } {
  const a = agg.latest;
  const newer = agg.lastTsUs >= row.lastSeenUs;
  const rank = severityRank(agg.maxSeverity);
  const escalated = rank > row.severityRank;
  const uids = JSON.parse(row.flowUidsJson) as string[];
  for (const u of agg.flowUids) if (uids.length < MAX_FLOW_UIDS && !uids.includes(u)) uids.push(u);
  const response = a.suggestedResponse ? JSON.stringify(a.suggestedResponse) : null;
  return {
    escalated,
    values: {
      count: row.count + agg.count, firstSeenUs: Math.min(row.firstSeenUs, agg.firstTsUs), lastSeenUs: Math.max(row.lastSeenUs, agg.lastTsUs),
      severity: escalated ? agg.maxSeverity : row.severity, severityRank: Math.max(rank, row.severityRank),
      summary: newer ? a.summary : row.summary, flowUid: newer ? a.flowUid ?? null : row.flowUid, communityId: newer ? a.communityId ?? null : row.communityId,
      flowUidsJson: JSON.stringify(uids), evidenceJson: newer ? evidenceJson(a.evidence) : row.evidenceJson,
      responseJson: newer ? response ?? row.responseJson : row.responseJson, analyzer: newer ? a.analyzer : row.analyzer,
    },
  };
}

/** The "next" value of an alert page: the last alert's (last seen, id), opaque to callers. */
export function encodeAlertCursor(lastSeenUs: number, id: number): string {
  return Buffer.from(`${lastSeenUs}:${id}`, 'utf8').toString('base64url');
}

/** @throws AlertStoreError when the text is not a cursor this store gave out */
export function decodeAlertCursor(cursor: string): { lastSeenUs: number; id: number } {
  const m = /^(\d{1,17}):(\d{1,17})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new AlertStoreError(`not an alert page cursor: ${JSON.stringify(cursor.slice(0, 40))}`);
  return { lastSeenUs: Number(m[1]), id: Number(m[2]) };
}

/** An alert row as both tables hold it (PostgreSQL's bigints read as numbers, pg-connect.ts). */
export interface AlertRow {
  id: number; dedup_key: string; agent_id: string; host: string; category: string; rule: string; peer: string; analyzer: string;
  severity: string; severity_rank: number; state: string; summary: string; count: number; first_seen_us: number;
  last_seen_us: number; flow_uid: string | null; community_id: string | null; flow_uids_json: string;
  evidence_json: string; response_json: string | null; created_us: number; updated_us: number;
  state_changed_us: number | null;
}

export function rowToAlert(r: AlertRow): StoredAlert {
  return {
    id: r.id, key: r.dedup_key, agentId: r.agent_id, host: r.host, category: r.category, rule: r.rule, peer: r.peer,
    analyzer: r.analyzer, severity: r.severity as Severity, state: r.state as AlertState, summary: r.summary,
    count: r.count, firstSeenUs: r.first_seen_us, lastSeenUs: r.last_seen_us, flowUid: r.flow_uid,
    communityId: r.community_id, flowUids: JSON.parse(r.flow_uids_json) as string[],
    evidence: JSON.parse(r.evidence_json) as Record<string, unknown>,
    suggestedResponse: r.response_json === null ? null : JSON.parse(r.response_json) as SuggestedResponse,
    createdUs: r.created_us, updatedUs: r.updated_us, stateChangedUs: r.state_changed_us,
  };
}


/** The conditions of a filter; `param` binds a value and returns its placeholder ('?' or '$n'). */
export function alertWhere(f: AlertFilter, param: (v: unknown) => string): string[] {
  const conds: string[] = [];
  if (f.state !== undefined) conds.push(`state = ${param(f.state)}`);
  if (f.severity !== undefined) conds.push(`severity = ${param(f.severity)}`);
  if (f.agentId !== undefined) conds.push(`agent_id = ${param(f.agentId)}`);
  if (f.host !== undefined) conds.push(`host = ${param(f.host)}`);
  if (f.category !== undefined) conds.push(`category = ${param(f.category)}`);
  if (f.since !== undefined) conds.push(`last_seen_us >= ${param(f.since)}`);
  if (f.until !== undefined) conds.push(`first_seen_us <= ${param(f.until)}`);
  return conds;
}

/** The mutable part of a stored row, for mergedRowValues. */
export function rowValues(row: AlertRow): AlertRowValues {
  return {
    count: row.count, firstSeenUs: row.first_seen_us, lastSeenUs: row.last_seen_us, severity: row.severity as Severity,
    severityRank: row.severity_rank, summary: row.summary, flowUid: row.flow_uid, communityId: row.community_id,
    flowUidsJson: row.flow_uids_json, evidenceJson: row.evidence_json, responseJson: row.response_json, analyzer: row.analyzer,
  };
}
