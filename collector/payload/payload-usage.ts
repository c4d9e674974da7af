// How much packet payload the collector keeps, per agent: the raw dumps whose header says they
// carry payload (flag HasPayload, recorded in dumps.extra_json at commit), split into retro
// dumps (the agents' rings, on request) and targeted / hybrid capture. What `meerkat agents`
// and the operators' API (GET /v1/pcap/usage) show beside payload retention's limits.
import Database from 'better-sqlite3';
import { DumpFlag } from '../../shared/dump/dump-header.js';

export interface AgentPayloadUsage {
  agentId: string;
  /** dumps with payload still kept, and their bytes on disk */
  dumps: number;
  bytes: number;
  /** of which retro dumps */
  retroDumps: number;
  retroBytes: number;
  /** packet time of the oldest / newest payload kept (µs), null when none */
  oldestUs: number | null;
  newestUs: number | null;
}

export interface PayloadUsage {
  agents: AgentPayloadUsage[];
  totalBytes: number;
}

/** SQL for "this dump row still holds payload". */
export const PAYLOAD_KEPT_SQL = `raw_path IS NOT NULL AND raw_deleted_us IS NULL AND extra_json IS NOT NULL
  AND (json_extract(extra_json, '$.flags') & ${DumpFlag.HasPayload}) != 0`;

/** Per-agent usage from an open database (a read is enough). */
export function payloadUsageOf(db: Database.Database): PayloadUsage {
  const rows = db.prepare(`SELECT agent_id AS agentId, COUNT(*) AS dumps, COALESCE(SUM(raw_bytes), 0) AS bytes,
      SUM(CASE WHEN (json_extract(extra_json, '$.flags') & ${DumpFlag.Retro}) != 0 THEN 1 ELSE 0 END) AS retroDumps,
      COALESCE(SUM(CASE WHEN (json_extract(extra_json, '$.flags') & ${DumpFlag.Retro}) != 0 THEN raw_bytes ELSE 0 END), 0) AS retroBytes,
      MIN(first_ts_us) AS oldestUs, MAX(last_ts_us) AS newestUs
    FROM dumps WHERE ${PAYLOAD_KEPT_SQL} GROUP BY agent_id ORDER BY agent_id`).all() as AgentPayloadUsage[];
  return { agents: rows, totalBytes: rows.reduce((a, r) => a + r.bytes, 0) };
}

/** Usage read through a short-lived read-only connection (no database yet: nothing kept). */
export function payloadUsage(dbPath: string): PayloadUsage {
  let db: Database.Database;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true });
  } catch {
    return { agents: [], totalBytes: 0 };
  }
  try {
    db.pragma('busy_timeout = 5000');
    const has = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dumps'`).get();
    return has === undefined ? { agents: [], totalBytes: 0 } : payloadUsageOf(db);
  } finally {
    db.close();
  }
}
