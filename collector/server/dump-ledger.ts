// The collector's record of committed dumps, keyed (agent id, sequence): what makes ingest
// idempotent. An interface so the shared FlowStore (collector/store) or another backend can
// take over; SqliteDumpLedger is a small self-contained SQLite implementation.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface DumpRow {
  agentId: string;
  sequence: number;
  packetCount: number;
  firstTsUs: number;
  lastTsUs: number;
  sizeBytes: number;
  /** path of the raw dump file, relative to the dump dir */
  file: string;
  receivedAtMs: number;
  /** more header facts, for ledgers that keep them */
  formatVersion: number;
  linkType: number;
  anonKeyId: string;
  snapLen: number;
  compression: string;
  /** header flags (HasPayload, Retro), kept so payload retention can find payload dumps */
  flags?: number;
}

export interface DumpLedger {
  has(agentId: string, sequence: number): boolean;
  /**
   * Records the rows in ONE transaction (the commit point of each dump). Returns, per row,
   * true when it is new and false for a duplicate (agent id, sequence). `onNew(i)` runs
   * inside the transaction right after row i was inserted (work that must commit or roll
   * back with it); if it throws, the whole transaction rolls back and this throws.
   * Throws if the transaction cannot commit (nothing of the batch is then recorded).
   */
  commitBatch(rows: readonly DumpRow[], onNew?: (index: number) => void): boolean[];
  close(): void;
}

export class SqliteDumpLedger implements DumpLedger {
  private readonly db: Database.Database;
  private readonly hasStmt: Database.Statement<[string, number]>;
  private readonly insStmt: Database.Statement<[string, number, number, number, number, number, string, number]>;
  private readonly batch: (rows: readonly DumpRow[], onNew: ((index: number) => void) | undefined) => boolean[];

  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // FULL: a commit is on disk when it returns, because the ack follows it
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`CREATE TABLE IF NOT EXISTS dumps (
      agent_id TEXT NOT NULL,
      sequence INTEGER NOT NULL,
      packet_count INTEGER NOT NULL,
      first_ts_us INTEGER NOT NULL,
      last_ts_us INTEGER NOT NULL,
      size_bytes INTEGER NOT NULL,
      file TEXT NOT NULL,
      received_at_ms INTEGER NOT NULL,
      PRIMARY KEY (agent_id, sequence)
    ) WITHOUT ROWID`);
    this.hasStmt = this.db.prepare('SELECT 1 FROM dumps WHERE agent_id = ? AND sequence = ?');
    this.insStmt = this.db.prepare('INSERT OR IGNORE INTO dumps (agent_id, sequence, packet_count, first_ts_us, last_ts_us, size_bytes, file, received_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.batch = this.db.transaction((rows: readonly DumpRow[], onNew: ((index: number) => void) | undefined) =>
      rows.map((r, i) => {
        const isNew = this.insStmt.run(r.agentId, r.sequence, r.packetCount, r.firstTsUs, r.lastTsUs, r.sizeBytes, r.file, r.receivedAtMs).changes === 1;
        if (isNew && onNew) onNew(i);
        return isNew;
      }),
    );
  }

  has(agentId: string, sequence: number): boolean {
    return this.hasStmt.get(agentId, sequence) !== undefined;
  }

  commitBatch(rows: readonly DumpRow[], onNew?: (index: number) => void): boolean[] {
    return this.batch(rows, onNew);
  }

  totals(): { dumps: number; packets: number } {
    const r = this.db.prepare('SELECT COUNT(*) AS d, COALESCE(SUM(packet_count), 0) AS p FROM dumps').get() as { d: number; p: number };
    return { dumps: r.d, packets: r.p };
  }

  /** Every (agent, sequence) recorded, for checks and tooling. */
  list(agentId?: string): Array<{ agentId: string; sequence: number; packetCount: number; file: string }> {
    const sql = 'SELECT agent_id AS agentId, sequence, packet_count AS packetCount, file FROM dumps' + (agentId ? ' WHERE agent_id = ?' : '') + ' ORDER BY agent_id, sequence';
    const st = this.db.prepare(sql);
    return (agentId ? st.all(agentId) : st.all()) as Array<{ agentId: string; sequence: number; packetCount: number; file: string }>;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
