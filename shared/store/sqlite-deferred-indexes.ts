// Secondary indexes set aside while a bulk import fills an empty SQLite database, and built
// again at its end: inserting rows into the flows table with its nine indexes costs about
// twice as much as into the bare table, and building the indexes once afterwards costs less
// than the difference (docs/benchmarks.md).
//
// Crash safety: the index definitions are saved in deferred_indexes and the indexes dropped in
// one transaction, and they are built again and the table dropped in another. An import
// interrupted in between leaves every row it committed and the definitions; the next
// read-write open of the database (SqliteFlowStore, before its migrations) builds the indexes
// again. Until then the database answers every query, without the indexes' speed.
import type Database from 'better-sqlite3';

const TABLE = 'deferred_indexes';

/** Tables whose secondary indexes a bulk import may set aside: what an import fills. */
export const BULK_TABLES: readonly string[] = ['flows', 'dns_log', 'tls_log'];

function hasTable(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/**
 * Drops the secondary indexes of `tables` when all of them are empty (a database new to this
 * import: afterwards the indexes are built from its rows alone), keeping their definitions.
 * Returns the number of indexes set aside (0: nothing done, the tables held rows).
 */
export function deferIndexes(db: Database.Database, tables: readonly string[] = BULK_TABLES): number {
  return db.transaction(() => {
    for (const t of tables) {
      if (!hasTable(db, t) || db.prepare(`SELECT 1 FROM ${t} LIMIT 1`).get() !== undefined) return 0;
    }
    // sql is NULL for the automatic indexes of UNIQUE and PRIMARY KEY constraints: those stay
    const rows = db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (${tables.map(() => '?').join(', ')}) ORDER BY rowid`)
      .all(...tables) as Array<{ name: string; sql: string }>;
    if (rows.length === 0) return 0;
    db.exec(`CREATE TABLE IF NOT EXISTS ${TABLE} (seq INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, sql TEXT NOT NULL)`);
    const save = db.prepare(`INSERT INTO ${TABLE} (name, sql) VALUES (?, ?)`);
    for (const r of rows) {
      save.run(r.name, r.sql);
      db.exec(`DROP INDEX "${r.name.replaceAll('"', '""')}"`);
    }
    return rows.length;
  }).immediate();
}

/**
 * Builds the indexes set aside by deferIndexes (in their first order) and forgets them; nothing
 * when none are. Returns how many were built.
 */
export function restoreDeferredIndexes(db: Database.Database): number {
  if (!hasTable(db, TABLE)) return 0;
  return db.transaction(() => {
    if (!hasTable(db, TABLE)) return 0; // another connection finished it first
    const rows = db.prepare(`SELECT name, sql FROM ${TABLE} ORDER BY seq`).all() as Array<{ name: string; sql: string }>;
    for (const r of rows) {
      const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?").get(r.name) !== undefined;
      if (!exists) db.exec(r.sql);
    }
    db.exec(`DROP TABLE ${TABLE}`);
    return rows.length;
  }).immediate();
}
