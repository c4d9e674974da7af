// Executes every signed command at most once, across restarts. Each genuine command's nonce is
// written durably BEFORE the command runs (a crash mid-command can lose the command, never run
// it twice) and kept until the command could no longer be accepted anyway (its expiry plus the
// clock-skew allowance). The outcome is stored with it, so the same delivery arriving again
// (the collector resends what it never got an answer to) gets the stored answer instead of a
// second execution, while the same command under another delivery id is a replay.
//
// File: <stateDir>/control/replay.json, {"v":1,"entries":[{nonce,expiresAt,deliveryId,at,outcome?}]},
// replaced atomically (temp + fsync + rename + directory fsync).
import { existsSync, readFileSync } from 'node:fs';
import { CLOCK_SKEW_MS, type CommandOutcome } from '../../shared/commands/command-schema.js';
import { saveJsonAtomic } from './json-state-file.js';
import { MeerkatError } from '../../shared/errors.js';

export interface ReplayEntry {
  nonce: string;
  /** the command's expiresAt (ms) */
  expiresAt: number;
  /** the collector's delivery id of the one execution */
  deliveryId: string;
  /** agent time it was accepted (ms) */
  at: number;
  /** absent while running (or when the agent stopped during the command) */
  outcome?: CommandOutcome;
}

export class ReplayStateError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_REPLAY_STATE';
  constructor(file: string, expected: string) {
    super(`${file}: expected ${expected}`);
    this.name = 'ReplayStateError';
  }
}

/** Largest stored outcome; bigger ones (inventory) are kept as a note only. */
const MAX_STORED_OUTCOME_BYTES = 8 * 1024;

export interface ReplayGuardOptions {
  /** most remembered commands; beyond it new commands are refused until old ones lapse (default 20,000) */
  maxEntries?: number;
  now?: () => number;
}

export class ReplayGuard {
  private readonly entries = new Map<string, ReplayEntry>();
  private readonly maxEntries: number;
  private readonly now: () => number;

  private constructor(private readonly file: string, opts: ReplayGuardOptions) {
    this.maxEntries = opts.maxEntries ?? 20_000;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Loads the guard. A damaged file is an error: starting with an empty set would re-open every
   * recorded command to replay. @throws ReplayStateError
   */
  static open(file: string, opts: ReplayGuardOptions = {}): ReplayGuard {
    const g = new ReplayGuard(file, opts);
    if (!existsSync(file)) return g;
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ReplayStateError(file, `the agent's command replay record as JSON (${(e as Error).message}); move it away only if you accept that old commands could run again`);
    }
    const o = doc as { v?: unknown; entries?: unknown };
    if (o?.v !== 1 || !Array.isArray(o.entries)) throw new ReplayStateError(file, 'a version 1 replay record {"v":1,"entries":[...]}');
    for (const e of o.entries as Partial<ReplayEntry>[]) {
      if (typeof e?.nonce !== 'string' || typeof e.expiresAt !== 'number' || typeof e.deliveryId !== 'string' || typeof e.at !== 'number') {
        throw new ReplayStateError(file, 'entries of the form {nonce, expiresAt, deliveryId, at}');
      }
      g.entries.set(e.nonce, e as ReplayEntry);
    }
    g.prune();
    return g;
  }

  get size(): number {
    return this.entries.size;
  }

  lookup(nonce: string): ReplayEntry | undefined {
    return this.entries.get(nonce);
  }

  /** Whether a new command can be recorded (false: the record is full of live commands). */
  hasRoom(): boolean {
    if (this.entries.size < this.maxEntries) return true;
    this.prune();
    return this.entries.size < this.maxEntries;
  }

  /** Remembers a nonce durably before its command runs. */
  record(nonce: string, expiresAt: number, deliveryId: string): void {
    this.prune();
    this.entries.set(nonce, { nonce, expiresAt, deliveryId, at: this.now() });
    this.save();
  }

  /** Stores the outcome of the one execution (best effort: the command already ran). */
  complete(nonce: string, outcome: CommandOutcome): void {
    const e = this.entries.get(nonce);
    if (!e) return;
    const text = JSON.stringify(outcome);
    e.outcome = text.length <= MAX_STORED_OUTCOME_BYTES
      ? outcome
      : { status: outcome.status, ...(outcome.kind ? { kind: outcome.kind } : {}), ...(outcome.at ? { at: outcome.at } : {}), reason: 'outcome too large to keep; run the command again for fresh data' };
    this.save();
  }

  /** Forgets nonces that can no longer be accepted (expired beyond the skew allowance). */
  private prune(): void {
    const cutoff = this.now() - CLOCK_SKEW_MS - 60_000;
    for (const [k, e] of this.entries) if (e.expiresAt < cutoff) this.entries.delete(k);
  }

  private save(): void {
    saveJsonAtomic(this.file, { v: 1, entries: [...this.entries.values()] });
  }
}
