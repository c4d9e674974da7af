// The SQLite schema as an ordered list of migrations. A database records the versions
// applied in schema_migrations; opening it applies the missing ones in order, each in
// its own transaction. Never edit a released migration: append a new one.

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'agents, dumps, flows',
    sql: `
      CREATE TABLE agents (
        agent_id      TEXT PRIMARY KEY,
        first_seen_us INTEGER NOT NULL,
        last_seen_us  INTEGER NOT NULL,
        info_json     TEXT
      );

      CREATE TABLE dumps (
        id             INTEGER PRIMARY KEY,
        agent_id       TEXT NOT NULL,
        sequence       INTEGER NOT NULL,
        received_us    INTEGER NOT NULL,
        first_ts_us    INTEGER NOT NULL,
        last_ts_us     INTEGER NOT NULL,
        packet_count   INTEGER NOT NULL,
        format_version INTEGER,
        link_type      INTEGER,
        anon_key_id    TEXT,
        snap_len       INTEGER,
        compression    TEXT,
        raw_path       TEXT,
        raw_bytes      INTEGER,
        raw_deleted_us INTEGER,
        extra_json     TEXT,
        UNIQUE (agent_id, sequence)
      );
      CREATE INDEX dumps_received ON dumps (received_us);

      CREATE TABLE flows (
        id                 INTEGER PRIMARY KEY,
        uid                TEXT NOT NULL,
        record_seq         INTEGER NOT NULL,
        community_id       TEXT NOT NULL,
        agent_id           TEXT NOT NULL,
        proto              TEXT NOT NULL,
        ip_proto           INTEGER NOT NULL,
        ip_version         INTEGER NOT NULL,
        orig_addr          TEXT NOT NULL,
        orig_port          INTEGER NOT NULL,
        resp_addr          TEXT NOT NULL,
        resp_port          INTEGER NOT NULL,
        vlan               INTEGER NOT NULL,
        flow_start         INTEGER NOT NULL,
        start_us           INTEGER NOT NULL,
        end_us             INTEGER NOT NULL,
        duration           REAL NOT NULL,
        orig_pkts          INTEGER NOT NULL,
        resp_pkts          INTEGER NOT NULL,
        orig_ip_bytes      INTEGER NOT NULL,
        resp_ip_bytes      INTEGER NOT NULL,
        orig_payload_bytes INTEGER NOT NULL,
        resp_payload_bytes INTEGER NOT NULL,
        conn_state         TEXT NOT NULL,
        history            TEXT NOT NULL,
        record_cause       TEXT NOT NULL,
        rtt_syn_synack_us  INTEGER,
        rtt_synack_ack_us  INTEGER,
        retransmits_orig   INTEGER NOT NULL,
        retransmits_resp   INTEGER NOT NULL,
        zero_windows_orig  INTEGER NOT NULL,
        zero_windows_resp  INTEGER NOT NULL,
        iat_mean_orig_us   REAL,
        iat_stddev_orig_us REAL,
        iat_mean_resp_us   REAL,
        iat_stddev_resp_us REAL,
        pcr                REAL,
        tunnel             TEXT NOT NULL,
        orig_anon          INTEGER NOT NULL,
        resp_anon          INTEGER NOT NULL
      );
      CREATE INDEX flows_start      ON flows (start_us);
      CREATE INDEX flows_agent      ON flows (agent_id, start_us);
      CREATE INDEX flows_orig_addr  ON flows (orig_addr, start_us);
      CREATE INDEX flows_resp_addr  ON flows (resp_addr, start_us);
      CREATE INDEX flows_orig_port  ON flows (orig_port, start_us);
      CREATE INDEX flows_resp_port  ON flows (resp_port, start_us);
      CREATE INDEX flows_uid        ON flows (uid, record_seq);
    `,
  },
  {
    version: 2,
    name: 'dumps.flows_built: flows of a committed dump built (live path builds after the ack)',
    sql: `
      ALTER TABLE dumps ADD COLUMN flows_built INTEGER NOT NULL DEFAULT 0;
      UPDATE dumps SET flows_built = 1;
      CREATE INDEX dumps_flows_pending ON dumps (flows_built, agent_id, sequence) WHERE flows_built = 0;
    `,
  },
  {
    version: 3,
    name: 'flows.stored_us: retention by the time a record was stored, not by packet time',
    sql: `
      ALTER TABLE flows ADD COLUMN stored_us INTEGER;
      UPDATE flows SET stored_us = end_us;
      CREATE INDEX flows_stored ON flows (stored_us);
    `,
  },
  {
    version: 4,
    name: 'application metadata: flows.app_proto, server_name, alpn, ja4, ja4s; dns_log and tls_log',
    sql: `
      ALTER TABLE flows ADD COLUMN app_proto TEXT NOT NULL DEFAULT '';
      ALTER TABLE flows ADD COLUMN server_name TEXT;
      ALTER TABLE flows ADD COLUMN server_name_rev TEXT;
      ALTER TABLE flows ADD COLUMN server_name_anon INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE flows ADD COLUMN alpn TEXT NOT NULL DEFAULT '';
      ALTER TABLE flows ADD COLUMN ja4 TEXT NOT NULL DEFAULT '';
      ALTER TABLE flows ADD COLUMN ja4s TEXT NOT NULL DEFAULT '';
      CREATE INDEX flows_server_name ON flows (server_name_rev, start_us);

      CREATE TABLE dns_log (
        id           INTEGER PRIMARY KEY,
        uid          TEXT NOT NULL,
        agent_id     TEXT NOT NULL,
        ts_us        INTEGER NOT NULL,
        orig_addr    TEXT NOT NULL,
        orig_port    INTEGER NOT NULL,
        resp_addr    TEXT NOT NULL,
        resp_port    INTEGER NOT NULL,
        orig_anon    INTEGER NOT NULL,
        resp_anon    INTEGER NOT NULL,
        proto        TEXT NOT NULL,
        trans_id     INTEGER NOT NULL,
        rtt_us       INTEGER,
        query        TEXT,
        query_rev    TEXT,
        query_anon   INTEGER NOT NULL,
        qclass       INTEGER NOT NULL,
        qtype        INTEGER NOT NULL,
        rcode        INTEGER,
        flags        INTEGER NOT NULL,
        answers_json TEXT NOT NULL,
        stored_us    INTEGER NOT NULL
      );
      CREATE INDEX dns_log_ts     ON dns_log (ts_us);
      CREATE INDEX dns_log_agent  ON dns_log (agent_id, ts_us);
      CREATE INDEX dns_log_query  ON dns_log (query_rev, ts_us);
      CREATE INDEX dns_log_uid    ON dns_log (uid);
      CREATE INDEX dns_log_stored ON dns_log (stored_us);

      CREATE TABLE tls_log (
        id               INTEGER PRIMARY KEY,
        uid              TEXT NOT NULL,
        agent_id         TEXT NOT NULL,
        ts_us            INTEGER NOT NULL,
        orig_addr        TEXT NOT NULL,
        orig_port        INTEGER NOT NULL,
        resp_addr        TEXT NOT NULL,
        resp_port        INTEGER NOT NULL,
        orig_anon        INTEGER NOT NULL,
        resp_anon        INTEGER NOT NULL,
        transport        TEXT NOT NULL,
        version          TEXT,
        client_version   TEXT,
        cipher           TEXT,
        server_name      TEXT,
        server_name_rev  TEXT,
        server_name_anon INTEGER NOT NULL,
        alpn             TEXT NOT NULL,
        next_protocol    TEXT,
        ja4              TEXT,
        ja4s             TEXT,
        quic_version     INTEGER,
        stored_us        INTEGER NOT NULL
      );
      CREATE INDEX tls_log_ts     ON tls_log (ts_us);
      CREATE INDEX tls_log_agent  ON tls_log (agent_id, ts_us);
      CREATE INDEX tls_log_name   ON tls_log (server_name_rev, ts_us);
      CREATE INDEX tls_log_ja4    ON tls_log (ja4);
      CREATE INDEX tls_log_uid    ON tls_log (uid);
      CREATE INDEX tls_log_stored ON tls_log (stored_us);
    `,
  },
];

/** Highest version this build knows. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
