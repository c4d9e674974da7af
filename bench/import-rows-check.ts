// Row-by-row comparison of two flow databases made by `meerkat-collector import` of the same
// capture with the same key (e.g. this build's and a baseline build's): a speed change to the
// import must not change what it stores. Every table is compared in rowid order, every column,
// except what differs between two runs by design: wall-clock stamps (stored_us, created_us, ...)
// and the random per-engine prefix of flow uids ("F<8 random>.<counter>": the counter must match).
//   node dist/bench/import-rows-check.js A.db B.db      exit 0 identical, 1 different, 2 usage
import Database from 'better-sqlite3';

/** Columns stamped with the wall clock at import time. */
const WALL_CLOCK = new Set(['stored_us', 'created_us', 'updated_us', 'state_changed_us', 'applied_us', 'imported_us', 'first_seen_us', 'last_seen_us', 'received_us']);
/** alerts carry first/last_seen_us in packet time: those are compared */
const PACKET_TIME_IN: Record<string, readonly string[]> = { alerts: ['first_seen_us', 'last_seen_us'] };
const UID = /F[A-Za-z0-9_-]{8}\.([0-9a-z]+)/g;

function normalize(v: unknown): unknown {
  return typeof v === 'string' ? v.replace(UID, 'F*.$1') : v;
}

export interface TableDiff { table: string; rowsA: number; rowsB: number; firstDifference: string | null }

function tables(db: Database.Database): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
}

function columns(db: Database.Database, table: string): string[] {
  return (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[]).map((r) => r.name);
}

/** Compares every table of two databases; one entry per table. */
export function compareImportDatabases(pathA: string, pathB: string): TableDiff[] {
  const a = new Database(pathA, { readonly: true });
  const b = new Database(pathB, { readonly: true });
  try {
    const names = [...new Set([...tables(a), ...tables(b)])].sort();
    const out: TableDiff[] = [];
    for (const t of names) {
      const colsA = tables(a).includes(t) ? columns(a, t) : [];
      const colsB = tables(b).includes(t) ? columns(b, t) : [];
      if (colsA.join(',') !== colsB.join(',')) {
        out.push({ table: t, rowsA: -1, rowsB: -1, firstDifference: `columns differ: [${colsA.join(',')}] vs [${colsB.join(',')}]` });
        continue;
      }
      const keep = colsA.filter((c) => !WALL_CLOCK.has(c) || (PACKET_TIME_IN[t] ?? []).includes(c));
      const sql = `SELECT ${keep.map((c) => `"${c}"`).join(', ')} FROM "${t}" ORDER BY rowid`;
      const ia = a.prepare(sql).raw().iterate() as IterableIterator<unknown[]>;
      const ib = b.prepare(sql).raw().iterate() as IterableIterator<unknown[]>;
      let rowsA = 0;
      let rowsB = 0;
      let diff: string | null = null;
      for (;;) {
        const ra = ia.next();
        const rb = ib.next();
        if (!ra.done) rowsA++;
        if (!rb.done) rowsB++;
        if (ra.done && rb.done) break;
        if (diff !== null) continue;
        if (ra.done !== rb.done) { diff = `row ${Math.max(rowsA, rowsB)}: only in ${ra.done ? 'B' : 'A'}`; continue; }
        const va: unknown[] = ra.value.map(normalize);
        const vb: unknown[] = rb.value.map(normalize);
        const col = va.findIndex((v: unknown, i: number) => !Object.is(v, vb[i]) && !(v instanceof Buffer && vb[i] instanceof Buffer && v.equals(vb[i])));
        if (col >= 0) diff = `row ${rowsA}, column ${keep[col]}: ${JSON.stringify(va[col])} vs ${JSON.stringify(vb[col])}`;
      }
      out.push({ table: t, rowsA, rowsB, firstDifference: diff });
    }
    return out;
  } finally {
    a.close();
    b.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [pa, pb] = process.argv.slice(2);
  if (pa === undefined || pb === undefined) {
    process.stderr.write('usage: import-rows-check A.db B.db\n');
    process.exit(2);
  }
  const diffs = compareImportDatabases(pa, pb);
  let same = true;
  for (const d of diffs) {
    process.stdout.write(`${d.table.padEnd(18)} ${String(d.rowsA).padStart(8)} ${String(d.rowsB).padStart(8)}  ${d.firstDifference ?? 'identical'}\n`);
    if (d.firstDifference !== null) same = false;
  }
  process.exit(same ? 0 : 1);
}
