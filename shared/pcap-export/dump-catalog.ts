// Where an export finds the dumps of one agent for a time window: the collector's database
// (table `dumps`: raw files the collector kept, until retention releases them) or a directory
// of dump files (the collector's dump dir, `meerkat-agent replay --out`, copies). Listing reads
// no dump body: the database has the time range of each dump, a directory scan reads the first
// 96 bytes (the header's agent id and time range; the full check happens when the dump is read).
import { MeerkatError } from '../errors.js';
import Database from 'better-sqlite3';
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bytesToUuid, DUMP_HEADER_LEN } from '../dump/dump-header.js';

export interface DumpRef {
  agentId: string;
  sequence: number;
  /** time of the first / last record in file order (µs) */
  firstTsUs: number;
  lastTsUs: number;
  path: string;
  bytes: number;
}

export interface DumpCatalog {
  /** The agent's dumps that may hold packets of [sinceUs, untilUs], by first packet time. */
  list(agentId: string, sinceUs: number, untilUs: number): DumpRef[];
  read(ref: DumpRef): Promise<Uint8Array>;
  close(): void;
}

export class CatalogError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_DUMP_CATALOG';
  constructor(message: string) {
    super(message);
    this.name = 'CatalogError';
  }
}

/** The dumps table of a collector database, opened read-only. */
export class SqliteDumpCatalog implements DumpCatalog {
  private readonly db: Database.Database;

  constructor(readonly file: string) {
    try {
      this.db = new Database(file, { readonly: true, fileMustExist: true });
      this.db.pragma('busy_timeout = 5000');
    } catch (e) {
      throw new CatalogError(`cannot open the collector database ${file}: ${(e as Error).message}`);
    }
  }

  list(agentId: string, sinceUs: number, untilUs: number): DumpRef[] {
    const rows = this.db.prepare(`SELECT agent_id, sequence, first_ts_us, last_ts_us, raw_path, raw_bytes FROM dumps
      WHERE agent_id = ? AND raw_path IS NOT NULL AND raw_deleted_us IS NULL AND last_ts_us >= ? AND first_ts_us <= ?
      ORDER BY first_ts_us, sequence`).all(agentId, sinceUs, untilUs) as
      { agent_id: string; sequence: number; first_ts_us: number; last_ts_us: number; raw_path: string; raw_bytes: number | null }[];
    return rows.map((r) => ({
      agentId: r.agent_id, sequence: r.sequence, firstTsUs: r.first_ts_us, lastTsUs: r.last_ts_us, path: r.raw_path, bytes: r.raw_bytes ?? 0,
    }));
  }

  read(ref: DumpRef): Promise<Uint8Array> {
    return readFile(ref.path);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

const DUMP_MAGIC_BYTES = [0x4d, 0x4b, 0x44, 0x50]; // "MKDP"

/** The agent id and time range from a dump's first bytes, or null if they are not a dump header. */
export function peekDumpHeader(head: Uint8Array): { agentId: string; sequence: number; firstTsUs: number; lastTsUs: number } | null {
  if (head.length < DUMP_HEADER_LEN) return null;
  for (let i = 0; i < 4; i++) if (head[i] !== DUMP_MAGIC_BYTES[i]) return null;
  const dv = new DataView(head.buffer, head.byteOffset, DUMP_HEADER_LEN);
  const i64 = (o: number): number => dv.getInt32(o + 4, true) * 4294967296 + dv.getUint32(o, true);
  return { agentId: bytesToUuid(head.subarray(12, 28)), sequence: i64(28), firstTsUs: i64(36), lastTsUs: i64(44) };
}

/**
 * Dump files (*.mkd) in a directory and its immediate subdirectories (the collector keeps one
 * per agent). Files that are not dumps are skipped; the directory is scanned once.
 */
export class DirectoryDumpCatalog implements DumpCatalog {
  private readonly refs: DumpRef[] = [];

  constructor(readonly dir: string) {
    let top: string[];
    try {
      top = readdirSync(dir);
    } catch (e) {
      throw new CatalogError(`cannot read the dump directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const head = new Uint8Array(DUMP_HEADER_LEN);
    const scan = (d: string, names: string[], depth: number): void => {
      for (const name of names.sort()) {
        const p = join(d, name);
        let st;
        try { st = statSync(p); } catch { continue; }
        if (st.isDirectory()) {
          if (depth === 0 && !name.startsWith('.')) {
            try { scan(p, readdirSync(p), 1); } catch { /* unreadable: skipped */ }
          }
          continue;
        }
        if (!name.endsWith('.mkd') || !st.isFile() || st.size < DUMP_HEADER_LEN) continue;
        let fd: number | undefined;
        try {
          fd = openSync(p, 'r');
          if (readSync(fd, head, 0, DUMP_HEADER_LEN, 0) !== DUMP_HEADER_LEN) continue;
        } catch {
          continue;
        } finally {
          if (fd !== undefined) closeSync(fd);
        }
        const h = peekDumpHeader(head);
        if (h) this.refs.push({ ...h, path: p, bytes: st.size });
      }
    };
    scan(dir, top, 0);
    this.refs.sort((a, b) => a.firstTsUs - b.firstTsUs || a.sequence - b.sequence);
  }

  /** Agent ids found in the directory. */
  agents(): string[] {
    return [...new Set(this.refs.map((r) => r.agentId))].sort();
  }

  list(agentId: string, sinceUs: number, untilUs: number): DumpRef[] {
    return this.refs.filter((r) => r.agentId === agentId && r.lastTsUs >= sinceUs && r.firstTsUs <= untilUs);
  }

  read(ref: DumpRef): Promise<Uint8Array> {
    return readFile(ref.path);
  }

  close(): void {}
}
