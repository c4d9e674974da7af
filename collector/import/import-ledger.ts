// The importer's record of the capture files it imported, keyed by a fingerprint of their
// content: what makes `meerkat-collector import` idempotent per file. The same capture,
// under any name or path, is imported once, so its flows and its alerts are not doubled
// (dump files have the same guarantee from the store's dumps table: agent id + sequence).
// Kept in the flow database (table import_files, own connection), written after the
// file's flows are stored: an import that is interrupted records nothing, and a rerun
// imports the file again.
//
// The fingerprint is SHA-256 over the file's size and up to 66 samples of it (the first
// and last MiB and 64 KiB at 64 evenly spaced places), so a multi-GB capture costs a few
// MB of hashing instead of a second pass over it. Two different captures of the same
// size that agree on every sampled byte would be taken as one; capture files carry a
// timestamp in every record header, so that takes a deliberately crafted file (the
// operator's own input, not an attack surface); `--reimport` imports regardless.
import Database from 'better-sqlite3';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { MeerkatError } from '../../shared/errors.js';

export class ImportLedgerError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_IMPORT_LEDGER';
  constructor(message: string) {
    super(message);
    this.name = 'ImportLedgerError';
  }
}

/** One imported capture as the ledger keeps it. */
export interface ImportedCapture {
  fingerprint: string;
  bytes: number;
  /** the path it was imported from (the first time) */
  path: string;
  kind: string;
  agentId: string;
  /** key id of the anonymization key used ('' when addresses were kept) */
  anonKeyId: string;
  packets: number;
  /** collector wall clock (µs) */
  importedUs: number;
}

const HEAD = 1 << 20;
const SAMPLE = 64 << 10;
const SAMPLES = 64;

/** Content fingerprint of a file (see the header): hex SHA-256 of its size and samples. */
export function fileFingerprint(path: string): { fingerprint: string; bytes: number } {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const h = createHash('sha256');
    h.update(`meerkat-import-fingerprint-1 ${size}\n`);
    const buf = Buffer.alloc(HEAD);
    const take = (pos: number, len: number): void => {
      const n = readSync(fd, buf, 0, Math.min(len, buf.length), pos);
      h.update(buf.subarray(0, n));
    };
    if (size <= 2 * HEAD + SAMPLES * SAMPLE) {
      for (let pos = 0; pos < size; pos += HEAD) take(pos, HEAD);
    } else {
      take(0, HEAD);
      const step = Math.floor((size - 2 * HEAD) / (SAMPLES + 1));
      for (let i = 1; i <= SAMPLES; i++) take(HEAD + i * step - SAMPLE / 2, SAMPLE);
      take(size - HEAD, HEAD);
    }
    return { fingerprint: h.digest('hex'), bytes: size };
  } finally {
    closeSync(fd);
  }
}

interface Row {
  fingerprint: string; bytes: number; path: string; kind: string; agent_id: string; anon_key_id: string; packets: number; imported_us: number;
}

export class ImportLedger {
  private readonly db: Database.Database;

  constructor(readonly dbPath: string) {
    try {
      this.db = new Database(dbPath);
      this.db.pragma('busy_timeout = 5000');
      this.db.pragma('journal_mode = WAL');
      this.db.exec(`CREATE TABLE IF NOT EXISTS import_files (
        fingerprint TEXT PRIMARY KEY,
        bytes       INTEGER NOT NULL,
        path        TEXT NOT NULL,
        kind        TEXT NOT NULL,
        agent_id    TEXT NOT NULL,
        anon_key_id TEXT NOT NULL,
        packets     INTEGER NOT NULL,
        imported_us INTEGER NOT NULL
      )`);
    } catch (e) {
      throw new ImportLedgerError(`cannot use the import ledger in ${dbPath}: ${(e as Error).message}`);
    }
  }

  /** The earlier import of a file with this fingerprint, or null. */
  find(fingerprint: string): ImportedCapture | null {
    const r = this.db.prepare('SELECT * FROM import_files WHERE fingerprint = ?').get(fingerprint) as Row | undefined;
    if (r === undefined) return null;
    return { fingerprint: r.fingerprint, bytes: r.bytes, path: r.path, kind: r.kind, agentId: r.agent_id, anonKeyId: r.anon_key_id, packets: r.packets, importedUs: r.imported_us };
  }

  /** Records imported files (one transaction); a fingerprint already there keeps its first row. */
  record(entries: readonly ImportedCapture[]): void {
    const ins = this.db.prepare(`INSERT OR IGNORE INTO import_files (fingerprint, bytes, path, kind, agent_id, anon_key_id, packets, imported_us)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    this.db.transaction(() => {
      for (const e of entries) ins.run(e.fingerprint, e.bytes, e.path, e.kind, e.agentId, e.anonKeyId, e.packets, e.importedUs);
    })();
  }

  close(): void {
    this.db.close();
  }
}
