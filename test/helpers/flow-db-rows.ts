// The rows an import wrote into a SQLite flow database, for comparing two imports of the same
// captures: everything but what differs between two runs (stored_us, the wall clock at the
// write; the uids' random per-engine prefix).
import Database from 'better-sqlite3';

export const BULK_TABLES = ['flows', 'dns_log', 'tls_log'] as const;

export function importedRows(path: string): Record<string, unknown[]> {
  const d = new Database(path, { readonly: true });
  try {
    const out: Record<string, unknown[]> = {};
    for (const t of BULK_TABLES) {
      out[t] = d.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all().map((r) => {
        const row = r as { uid: string };
        return { ...row, stored_us: 0, uid: row.uid.slice(row.uid.indexOf('.') + 1) };
      });
    }
    return out;
  } finally {
    d.close();
  }
}
