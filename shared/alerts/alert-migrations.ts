// The alert tables, in the flow database but with their own "alerts_" prefix and their
// own version table (alerts_schema), so they never collide with the flow store's
// schema_migrations. Never edit a released migration: append a new one.

export interface AlertMigration {
  version: number;
  name: string;
  sql: string;
}

export const ALERT_MIGRATIONS: readonly AlertMigration[] = [
  {
    version: 1,
    name: 'alerts',
    sql: `
      CREATE TABLE alerts (
        id               INTEGER PRIMARY KEY,
        dedup_key        TEXT NOT NULL,
        agent_id         TEXT NOT NULL,
        category         TEXT NOT NULL,
        rule             TEXT NOT NULL,
        peer             TEXT NOT NULL,
        analyzer         TEXT NOT NULL,
        severity         TEXT NOT NULL,
        severity_rank    INTEGER NOT NULL,
        state            TEXT NOT NULL,
        summary          TEXT NOT NULL,
        count            INTEGER NOT NULL,
        first_seen_us    INTEGER NOT NULL,
        last_seen_us     INTEGER NOT NULL,
        flow_uid         TEXT,
        community_id     TEXT,
        flow_uids_json   TEXT NOT NULL,
        evidence_json    TEXT NOT NULL,
        response_json    TEXT,
        created_us       INTEGER NOT NULL,
        updated_us       INTEGER NOT NULL,
        state_changed_us INTEGER
      );
      -- one live (open or acknowledged) row per key; closed rows are history
      CREATE UNIQUE INDEX alerts_live_key ON alerts (dedup_key) WHERE state != 'closed';
      CREATE INDEX alerts_last_seen ON alerts (last_seen_us);
      CREATE INDEX alerts_agent ON alerts (agent_id, last_seen_us);
      CREATE INDEX alerts_state ON alerts (state, last_seen_us);
    `,
  },
  {
    version: 2,
    name: 'alerts.host: the internal host an alert is about; the key becomes a JSON array with it',
    sql: `
      ALTER TABLE alerts ADD COLUMN host TEXT NOT NULL DEFAULT '';
      UPDATE alerts SET dedup_key = json_array(agent_id, host, category, rule, peer);
      CREATE INDEX alerts_host ON alerts (host, last_seen_us);
    `,
  },
];

export const LATEST_ALERT_SCHEMA = ALERT_MIGRATIONS[ALERT_MIGRATIONS.length - 1]!.version;
