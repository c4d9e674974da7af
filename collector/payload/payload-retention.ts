// Retention of packet payload on the collector, by age and by bytes, apart from flow retention
// and from the raw dumps' own retention (store.rawDumpsDays): payload is what costs disk and
// what is sensitive, headers are what flows and forensics need for longer. Config key
// "payloadRetention": { maxBytes (default 20 GiB), maxAgeHours (default 72), everyMinutes (10) }.
//
// A payload dump past a limit loses its payload, not its headers: it is decoded and written
// again without payload bytes (same agent, sequence, packets; flag HasPayload cleared), so
// exports and forensics keep the header-only packets until the raw dump's own retention. A retro
// dump repeats packets a normal dump already holds as headers, so it is deleted whole. Oldest
// first (by time received); the file is replaced atomically (temp file, fsync, rename) before
// its row changes, so a crash in between is finished by the next run.
import Database from 'better-sqlite3';
import { openSync, closeSync, fsyncSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../../shared/log.js';
import { validateConfig } from '../../shared/config/load-config.js';
import { decodeDump } from '../../shared/dump/dump-reader.js';
import { DumpWriter } from '../../shared/dump/dump-writer.js';
import { DumpFlag } from '../../shared/dump/dump-header.js';
import { EMPTY_BYTES } from '../../shared/packet/packet-record.js';
import { PAYLOAD_KEPT_SQL, payloadUsageOf, type PayloadUsage } from './payload-usage.js';

export const payloadRetentionConfigSchema = z.object({
  /** payload bytes kept on disk at most, all agents together (0: no payload is kept past a run) */
  maxBytes: z.number().int().min(0).default(20 * 1024 ** 3),
  /** payload older than this (time received) loses its payload */
  maxAgeHours: z.number().positive().default(72),
  /** how often retention runs */
  everyMinutes: z.number().positive().max(24 * 60).default(10),
}).strict();

export type PayloadRetentionConfig = z.output<typeof payloadRetentionConfigSchema>;

export function payloadRetentionConfigFrom(cfg: Record<string, unknown>): PayloadRetentionConfig {
  return validateConfig(payloadRetentionConfigSchema, cfg.payloadRetention ?? {}, 'config key "payloadRetention"');
}

export interface PayloadRetentionRun {
  /** normal dumps rewritten without payload */
  stripped: number;
  /** retro dumps deleted */
  deleted: number;
  bytesFreed: number;
  /** dumps that could not be read (left alone, marked so they are not retried every run) */
  failed: number;
  /** payload bytes kept after the run */
  keptBytes: number;
}

interface Row { id: number; agent_id: string; sequence: number; raw_path: string; raw_bytes: number | null; extra_json: string; received_us: number }

const HOUR_US = 3_600_000_000;
/** dumps handled per query round (the event loop gets a turn between rounds) */
const ROUND = 64;

export class PayloadRetention {
  private readonly db: Database.Database;

  constructor(readonly dbPath: string, readonly cfg: PayloadRetentionConfig, private readonly log: Logger) {
    this.db = new Database(dbPath);
    this.db.pragma('busy_timeout = 5000');
    // the candidates, oldest first, without a scan of every dump row
    this.db.exec(`CREATE INDEX IF NOT EXISTS dumps_payload_kept ON dumps (received_us) WHERE ${PAYLOAD_KEPT_SQL.replace(/\s+/g, ' ')}`);
  }

  usage(): PayloadUsage {
    return payloadUsageOf(this.db);
  }

  /** One retention pass at `nowMs` (wall clock). */
  async run(nowMs = Date.now()): Promise<PayloadRetentionRun> {
    const r: PayloadRetentionRun = { stripped: 0, deleted: 0, bytesFreed: 0, failed: 0, keptBytes: 0 };
    const cutoffUs = Math.floor(nowMs * 1000 - this.cfg.maxAgeHours * HOUR_US);
    const candidates = this.db.prepare(`SELECT id, agent_id, sequence, raw_path, raw_bytes, extra_json, received_us FROM dumps
      WHERE ${PAYLOAD_KEPT_SQL} AND flows_built = 1 AND json_extract(extra_json, '$.payloadError') IS NULL
      ORDER BY received_us, id LIMIT ?`);
    const total = (): number => (this.db.prepare(`SELECT COALESCE(SUM(raw_bytes), 0) AS b FROM dumps WHERE ${PAYLOAD_KEPT_SQL}`).get() as { b: number }).b;
    let kept = total();
    for (;;) {
      const rows = candidates.all(ROUND) as Row[];
      let progressed = false;
      for (const row of rows) {
        const old = row.received_us < cutoffUs;
        if (!old && kept <= this.cfg.maxBytes) break;
        const freed = this.release(row, nowMs, r);
        kept -= freed.before;
        kept += freed.after;
        progressed = true;
      }
      if (!progressed || rows.length < ROUND) break;
      await new Promise<void>((res) => setImmediate(res));
    }
    r.keptBytes = total();
    if (r.stripped || r.deleted || r.failed) this.log.info(r, 'payload retention applied');
    return r;
  }

  /** Strips (or for retro: deletes) one dump's payload; returns its payload bytes before / after. */
  private release(row: Row, nowMs: number, r: PayloadRetentionRun): { before: number; after: number } {
    const extra = JSON.parse(row.extra_json) as { flags?: number };
    const flags = extra.flags ?? 0;
    const before = row.raw_bytes ?? 0;
    const nowUs = nowMs * 1000;
    try {
      if ((flags & DumpFlag.Retro) !== 0) {
        this.db.prepare('UPDATE dumps SET raw_deleted_us = ? WHERE id = ?').run(nowUs, row.id);
        rmSync(row.raw_path, { force: true });
        r.deleted++;
        r.bytesFreed += before;
        return { before, after: 0 };
      }
      const stripped = headerOnlyCopy(readFileSync(row.raw_path));
      replaceFile(row.raw_path, stripped.bytes);
      this.db.prepare('UPDATE dumps SET raw_bytes = ?, extra_json = ? WHERE id = ?')
        .run(stripped.bytes.length, JSON.stringify({ ...extra, flags: stripped.flags, payloadStrippedUs: nowUs }), row.id);
      r.stripped++;
      r.bytesFreed += before - stripped.bytes.length;
      return { before, after: 0 };
    } catch (e) {
      r.failed++;
      this.log.error({ agentId: row.agent_id, sequence: row.sequence, file: row.raw_path, err: (e as Error).message }, 'payload retention: cannot strip this dump; left as it is');
      this.db.prepare('UPDATE dumps SET extra_json = ? WHERE id = ?').run(JSON.stringify({ ...extra, payloadError: (e as Error).message.slice(0, 200) }), row.id);
      return { before, after: 0 };
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** The same dump without payload bytes (everything else as it was). */
export function headerOnlyCopy(bytes: Uint8Array): { bytes: Uint8Array; flags: number } {
  const d = decodeDump(bytes);
  const h = d.header;
  const w = new DumpWriter({
    agentId: h.agentId, anonKeyId: h.anonKeyId, snapLen: h.snapLen, linkType: h.linkType,
    compression: h.compression, retro: (h.flags & DumpFlag.Retro) !== 0,
  });
  d.forEach((rec) => {
    rec.payload = EMPTY_BYTES;
    w.add(rec);
  });
  const out = w.finish(h.sequence);
  return { bytes: out, flags: h.flags & ~DumpFlag.HasPayload };
}

function replaceFile(path: string, bytes: Uint8Array): void {
  const tmp = join(dirname(path), `.payload-${process.pid}-${Date.now()}.tmp`);
  writeFileSync(tmp, bytes, { mode: 0o640 });
  const fd = openSync(tmp, 'r');
  try { fsyncSync(fd); } finally { closeSync(fd); }
  renameSync(tmp, path);
  const dir = openSync(dirname(path), 'r');
  try { fsyncSync(dir); } finally { closeSync(dir); }
}
