// Durable commit of one uploaded dump, the step that must finish before the ack:
//   1. the raw dump goes to a temp file in the dump dir, fsynced, renamed to
//      <dumpDir>/<agentId>/<sequence>.mkd, directory fsynced;
//   2. its row goes into the ledger; that transaction is the commit point.
// So "row present" always implies "file durable". A crash between 1 and 2 leaves a file
// without a row; the agent has no ack, resends, and the file is simply rewritten.
// Rows from many agents arriving together are grouped into one transaction (group commit):
// one fsync of the database for the batch instead of one per dump.
import { mkdir, open, rename, unlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { DumpHeader } from '../../shared/dump/dump-header.js';
import type { DumpLedger, DumpRow } from './dump-ledger.js';
import { MeerkatError } from '../../shared/errors.js';

export type CommitOutcome = 'stored' | 'duplicate';

/** Writing the dump or its row failed; the upload must be nacked (retryable) and was not stored. */
export class StorageError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_STORAGE';
  constructor(step: string, cause: unknown) {
    super(`storing dump failed at ${step}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StorageError';
  }
}

/** File operations the committer uses; injectable so tests can fail a step on purpose. */
export interface CommitFs {
  writeDurable(path: string, data: Uint8Array): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  fsyncDir(dir: string): Promise<void>;
}

export const realCommitFs: CommitFs = {
  async writeDurable(path, data) {
    const fh = await open(path, 'wx', 0o640);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
  rename: (from, to) => rename(from, to),
  async fsyncDir(dir) {
    const fh = await open(dir, 'r');
    try { await fh.sync(); } finally { await fh.close(); }
  },
};

export function dumpFileName(agentId: string, sequence: number): string {
  return `${agentId}/${String(sequence).padStart(16, '0')}.mkd`;
}

interface Pending {
  row: DumpRow;
  header: DumpHeader;
  bytes: Uint8Array;
  resolve: (stored: boolean) => void;
  reject: (e: unknown) => void;
}

/**
 * Runs inside the commit transaction of a new dump (the flow engine inserting the dump's
 * flows into the same store, so row and flows commit together). Throwing rolls the dump back:
 * it is nacked (retry) and not stored.
 */
export type InTransactionHook = (agentId: string, header: DumpHeader, bytes: Uint8Array) => void;

/**
 * What an agent session needs of the step before the ack: the local DumpCommitter here, or a
 * front-end's publisher to JetStream (collector/scale/jetstream-committer.ts). commit() resolves
 * only once the dump is durable; failures that the agent should retry are StorageError.
 */
export interface UploadCommitter {
  /** a cheap, synchronous early answer for resends (false when unsure) */
  isDuplicate(agentId: string, sequence: number): boolean;
  commit(agentId: string, header: DumpHeader, bytes: Uint8Array, receivedAtMs: number): Promise<CommitOutcome>;
}

export interface DumpCommitterOptions {
  dumpDir: string;
  ledger: DumpLedger;
  fs?: CommitFs;
  /** most rows per transaction */
  maxBatch?: number;
  inTransaction?: InTransactionHook;
}

export class DumpCommitter implements UploadCommitter {
  private readonly dumpDir: string;
  private readonly tmpDir: string;
  private readonly ledger: DumpLedger;
  private readonly fs: CommitFs;
  private readonly maxBatch: number;
  private readonly inTransaction: InTransactionHook | undefined;
  private readonly agentDirs = new Set<string>();
  private queue: Pending[] = [];
  private flushScheduled = false;

  private constructor(opts: DumpCommitterOptions) {
    this.dumpDir = opts.dumpDir;
    this.tmpDir = join(opts.dumpDir, '.incoming');
    this.ledger = opts.ledger;
    this.fs = opts.fs ?? realCommitFs;
    this.maxBatch = opts.maxBatch ?? 512;
    this.inTransaction = opts.inTransaction;
  }

  /** Creates the dump dir and clears temp files a crash left behind. */
  static async open(opts: DumpCommitterOptions): Promise<DumpCommitter> {
    const c = new DumpCommitter(opts);
    await mkdir(opts.dumpDir, { recursive: true, mode: 0o750 });
    await rm(c.tmpDir, { recursive: true, force: true });
    await mkdir(c.tmpDir, { mode: 0o750 });
    return c;
  }

  isDuplicate(agentId: string, sequence: number): boolean {
    return this.ledger.has(agentId, sequence);
  }

  async commit(agentId: string, header: DumpHeader, bytes: Uint8Array, receivedAtMs: number): Promise<CommitOutcome> {
    if (this.ledger.has(agentId, header.sequence)) return 'duplicate';
    const file = dumpFileName(agentId, header.sequence);
    const finalPath = join(this.dumpDir, file);
    const agentDir = join(this.dumpDir, agentId);
    if (!this.agentDirs.has(agentId)) {
      try {
        await mkdir(agentDir, { recursive: true, mode: 0o750 });
        await this.fs.fsyncDir(this.dumpDir);
      } catch (e) {
        throw new StorageError('creating the agent dump directory', e);
      }
      this.agentDirs.add(agentId);
    }
    const tmp = join(this.tmpDir, `${agentId}-${header.sequence}-${randomBytes(4).toString('hex')}`);
    try {
      await this.fs.writeDurable(tmp, bytes);
      await this.fs.rename(tmp, finalPath);
      await this.fs.fsyncDir(agentDir);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw new StorageError('writing the dump file', e);
    }
    const row: DumpRow = {
      agentId,
      sequence: header.sequence,
      packetCount: header.packetCount,
      firstTsUs: header.firstTsUs,
      lastTsUs: header.lastTsUs,
      sizeBytes: bytes.length,
      file,
      receivedAtMs,
      formatVersion: header.version,
      linkType: header.linkType,
      anonKeyId: header.anonKeyId,
      snapLen: header.snapLen,
      compression: header.compression,
      flags: header.flags,
    };
    const stored = await new Promise<boolean>((resolve, reject) => {
      this.queue.push({ row, header, bytes, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
    return stored ? 'stored' : 'duplicate';
  }

  private flush(): void {
    this.flushScheduled = false;
    while (this.queue.length > 0) {
      const batch = this.queue.length <= this.maxBatch ? this.queue : this.queue.slice(0, this.maxBatch);
      this.queue = this.queue.length <= this.maxBatch ? [] : this.queue.slice(this.maxBatch);
      try {
        this.settle(batch, this.commitRows(batch));
      } catch (e) {
        if (batch.length === 1) {
          batch[0]!.reject(new StorageError('recording the dump in the database', e));
          continue;
        }
        // one bad dump (e.g. its in-transaction hook threw) must not fail the others: one by one
        for (const p of batch) {
          try {
            this.settle([p], this.commitRows([p]));
          } catch (e1) {
            p.reject(new StorageError('recording the dump in the database', e1));
          }
        }
      }
    }
  }

  private commitRows(batch: readonly Pending[]): boolean[] {
    const hook = this.inTransaction;
    return this.ledger.commitBatch(
      batch.map((p) => p.row),
      hook ? (i) => { const p = batch[i]!; hook(p.row.agentId, p.header, p.bytes); } : undefined,
    );
  }

  private settle(batch: readonly Pending[], results: boolean[]): void {
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]!);
  }
}
