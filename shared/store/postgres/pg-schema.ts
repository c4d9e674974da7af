// The PostgreSQL layout (docs/scale-out.md): one schema per organisation, org_<id>, holding what
// the organisation's SQLite database holds in the single process (agents, dumps, flows, DNS and
// TLS logs, the flow workers' replay points), and the collector-wide schema "meerkat" (partition
// leases, each with its fencing epoch and the stream position committed). dumps.stream_seq and
// replay_points are the flow workers' (collector/scale). Created on first use under a transaction-scoped advisory lock, so workers starting
// together do not race on CREATE.
import type pg from 'pg';
import { FLOW_COLUMNS, type FlowColumn } from '../flow-columns.js';
import { StoreError } from '../flow-store.js';
import { inPgTransaction } from './pg-transaction.js';

export const PG_SCHEMA_VERSION = 1;

const ORG_ID = /^[a-z][a-z0-9-]{0,31}$/;

/** The schema of an organisation: org_<id> with '-' as '_' (ids never hold '_', so no two collide). */
export function orgSchema(org: string): string {
  if (!ORG_ID.test(org)) throw new StoreError(`organisation id ${JSON.stringify(org)} is not a slug (${ORG_ID.source})`);
  return `org_${org.replace(/-/g, '_')}`;
}

const FLOAT_COLUMNS: ReadonlySet<FlowColumn> = new Set<FlowColumn>(['duration', 'iat_mean_orig_us', 'iat_stddev_orig_us', 'iat_mean_resp_us', 'iat_stddev_resp_us', 'pcr']);
const TEXT_COLUMNS: ReadonlySet<FlowColumn> = new Set<FlowColumn>([
  'uid', 'community_id', 'agent_id', 'proto', 'orig_addr', 'resp_addr', 'conn_state', 'history', 'record_cause', 'tunnel',
  'app_proto', 'server_name', 'server_name_rev', 'alpn', 'ja4', 'ja4s',
]);

function columnType(c: FlowColumn): string {
  return TEXT_COLUMNS.has(c) ? 'text' : FLOAT_COLUMNS.has(c) ? 'double precision' : 'bigint';
}

function orgDdl(s: string): string {
  return `
    CREATE SCHEMA IF NOT EXISTS ${s};
    CREATE TABLE IF NOT EXISTS ${s}.schema_version (version integer NOT NULL);
    CREATE TABLE IF NOT EXISTS ${s}.agents (
      agent_id text PRIMARY KEY, first_seen_us bigint NOT NULL, last_seen_us bigint NOT NULL, info jsonb);
    CREATE TABLE IF NOT EXISTS ${s}.dumps (
      agent_id text NOT NULL, sequence bigint NOT NULL, received_us bigint NOT NULL,
      first_ts_us bigint NOT NULL, last_ts_us bigint NOT NULL, packet_count bigint NOT NULL,
      format_version integer, link_type integer, anon_key_id text, snap_len integer, compression text,
      raw_path text, raw_bytes bigint, extra jsonb, raw_deleted_us bigint, stream_seq bigint,
      PRIMARY KEY (agent_id, sequence));
    CREATE TABLE IF NOT EXISTS ${s}.flows (
      id bigserial PRIMARY KEY,
      ${FLOW_COLUMNS.map((c) => `${c} ${columnType(c)}${c === 'uid' || c === 'agent_id' || c === 'start_us' || c === 'end_us' ? ' NOT NULL' : ''}`).join(',\n      ')},
      stored_us bigint NOT NULL);
    CREATE INDEX IF NOT EXISTS dumps_stream_seq ON ${s}.dumps (stream_seq);
    CREATE INDEX IF NOT EXISTS flows_agent ON ${s}.flows (agent_id, start_us);
    CREATE INDEX IF NOT EXISTS flows_start ON ${s}.flows (start_us);
    CREATE INDEX IF NOT EXISTS flows_uid ON ${s}.flows (uid, record_seq);
    -- address prefixes (inet <<= cidr) as index ranges: flow filters by a CIDR prefix
    CREATE INDEX IF NOT EXISTS flows_orig_inet ON ${s}.flows ((orig_addr::inet));
    CREATE INDEX IF NOT EXISTS flows_resp_inet ON ${s}.flows ((resp_addr::inet));
    CREATE TABLE IF NOT EXISTS ${s}.dns_log (id bigserial PRIMARY KEY, uid text NOT NULL, agent_id text NOT NULL, ts_us bigint NOT NULL, record jsonb NOT NULL, stored_us bigint NOT NULL);
    CREATE TABLE IF NOT EXISTS ${s}.tls_log (id bigserial PRIMARY KEY, uid text NOT NULL, agent_id text NOT NULL, ts_us bigint NOT NULL, record jsonb NOT NULL, stored_us bigint NOT NULL);
    CREATE INDEX IF NOT EXISTS flows_stored ON ${s}.flows (stored_us);
    CREATE INDEX IF NOT EXISTS dumps_received ON ${s}.dumps (received_us);
    CREATE TABLE IF NOT EXISTS ${s}.replay_points (
      agent_id text PRIMARY KEY, part integer NOT NULL, replay_from bigint, last_stream_seq bigint NOT NULL);
  `;
}

const COLLECTOR_DDL = `
  CREATE SCHEMA IF NOT EXISTS meerkat;
  CREATE TABLE IF NOT EXISTS meerkat.partitions (
    org text NOT NULL, part integer NOT NULL, epoch bigint NOT NULL DEFAULT 0, owner text, taken_us bigint, next_seq bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (org, part));
`;

/** Creates the collector-wide schema and the organisation's (idempotent, safe from many processes at once). */
export async function ensureSchemas(pool: pg.Pool, org: string): Promise<string> {
  const s = orgSchema(org);
  await inPgTransaction(pool, async (c) => {
    await c.query(`SELECT pg_advisory_xact_lock(hashtext('meerkat-schema'))`);
    await c.query(COLLECTOR_DDL);
    await c.query(orgDdl(s));
    const v = await c.query<{ version: number }>(`SELECT version FROM ${s}.schema_version`);
    if (v.rows.length === 0) await c.query(`INSERT INTO ${s}.schema_version (version) VALUES ($1)`, [PG_SCHEMA_VERSION]);
    else if (v.rows[0]!.version > PG_SCHEMA_VERSION) throw new StoreError(`schema ${s} has version ${v.rows[0]!.version}, newer than this build (${PG_SCHEMA_VERSION})`);
  });
  return s;
}
