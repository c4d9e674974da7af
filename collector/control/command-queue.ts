// The collector's durable command queue (SQLite, control_commands): signed envelopes wait here
// for their agent, are delivered in submission order when it is connected, and end in one of
// done / failed / refused (the agent's answer) or expired (the agent never took it in time).
// The collector checks structure, expiry and uniqueness only; it cannot judge or change the
// signature, which is the agent's business.
import { randomUUID } from 'node:crypto';
import {
  CLOCK_SKEW_MS, CommandSchemaError, MAX_ENVELOPE_BYTES, TERMINAL_STATES, parseEnvelope,
  type CommandEnvelope, type CommandOutcome, type CommandState,
} from '../../shared/commands/command-schema.js';
import type { ControlDatabase } from './control-db.js';
import { MeerkatError } from '../../shared/errors.js';

export interface QueuedCommand {
  id: string;
  agentId: string;
  kind: string;
  nonce: string;
  envelope: CommandEnvelope;
  submittedBy: string;
  state: CommandState;
  createdAt: number;
  expiresAt: number;
  deliveredAt: number | null;
  deliveries: number;
  finishedAt: number | null;
  result: CommandOutcome | null;
  error: string | null;
}

export class SubmitError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_COMMAND_SUBMIT';
  constructor(readonly reason: 'malformed' | 'too-large' | 'expired' | 'duplicate', readonly status: number, message: string) {
    super(message);
    this.name = 'SubmitError';
  }
}

/** A delivered command with no answer this long after its expiry is given up on. */
export const NO_ANSWER_GRACE_MS = CLOCK_SKEW_MS + 60_000;
export const NO_ANSWER = 'no-answer';
export const EXPIRED_UNTAKEN = 'expired before the agent took it';

/**
 * Checks a submitted envelope: size, structure, not expired at `now` (the signature is the agent's
 * business). @throws SubmitError
 */
export function checkSubmission(raw: unknown, now: number): CommandEnvelope {
  const text = JSON.stringify(raw) ?? '';
  if (Buffer.byteLength(text) > MAX_ENVELOPE_BYTES) throw new SubmitError('too-large', 413, `command envelope of ${Buffer.byteLength(text)} bytes exceeds ${MAX_ENVELOPE_BYTES}`);
  let env: CommandEnvelope;
  try {
    env = parseEnvelope(raw);
  } catch (e) {
    if (e instanceof CommandSchemaError) throw new SubmitError('malformed', 400, e.message);
    throw e;
  }
  if (env.expiresAt <= now) throw new SubmitError('expired', 400, `the command expired at ${new Date(env.expiresAt).toISOString()}; sign a new one`);
  return env;
}

export function duplicateSubmission(id: string): SubmitError {
  return new SubmitError('duplicate', 409, `this signed command was already submitted as ${id}; an agent runs a signed command once`);
}

/** Whether an answer may still end the command (a no-answer failure may still be answered). */
export function acceptsAnswer(c: Pick<QueuedCommand, 'state' | 'error'>): boolean {
  return !TERMINAL_STATES.has(c.state) || (c.state === 'failed' && c.error === NO_ANSWER);
}

/** The state and error an agent's answer gives the command. */
export function answeredState(outcome: CommandOutcome): { state: CommandState; error: string | null } {
  return { state: outcome.status, error: outcome.status === 'done' ? null : `${outcome.code ?? outcome.status}: ${outcome.reason ?? ''}`.slice(0, 4000) };
}

export interface CommandRow {
  id: string; agent_id: string; kind: string; nonce: string; envelope: string; submitted_by: string; state: CommandState;
  created_at: number; expires_at: number; delivered_at: number | null; deliveries: number; finished_at: number | null; result: string | null; error: string | null;
}

export function commandFromRow(r: CommandRow): QueuedCommand {
  return {
    id: r.id,
    agentId: r.agent_id,
    kind: r.kind,
    nonce: r.nonce,
    envelope: JSON.parse(r.envelope) as CommandEnvelope,
    submittedBy: r.submitted_by,
    state: r.state,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    deliveredAt: r.delivered_at,
    deliveries: r.deliveries,
    finishedAt: r.finished_at,
    result: r.result === null ? null : (JSON.parse(r.result) as CommandOutcome),
    error: r.error,
  };
}

export interface CommandFilter {
  agentId?: string;
  state?: CommandState;
  /** submitted at or after / at or before (ms since the epoch) */
  sinceMs?: number;
  untilMs?: number;
  limit?: number;
}

export class CommandQueue {
  constructor(private readonly db: ControlDatabase, private readonly now: () => number = Date.now) {}

  /** Queues a signed envelope for its agent. @throws SubmitError */
  submit(raw: unknown, submittedBy: string): QueuedCommand {
    const now = this.now();
    const env = checkSubmission(raw, now);
    const dup = this.db.prepare('SELECT id FROM control_commands WHERE nonce = ?').get(env.nonce) as { id: string } | undefined;
    if (dup) throw duplicateSubmission(dup.id);
    const id = randomUUID();
    this.db.prepare(`INSERT INTO control_commands (id, agent_id, kind, nonce, envelope, submitted_by, state, created_at, expires_at)
      VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)`).run(id, env.agentId, env.kind, env.nonce, JSON.stringify(env), submittedBy, now, env.expiresAt);
    return this.get(id)!;
  }

  get(id: string): QueuedCommand | null {
    const r = this.db.prepare('SELECT * FROM control_commands WHERE id = ?').get(id) as CommandRow | undefined;
    return r ? commandFromRow(r) : null;
  }

  /** Newest first. */
  list(f: CommandFilter = {}): QueuedCommand[] {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (f.agentId) { where.push('agent_id = ?'); args.push(f.agentId); }
    if (f.state) { where.push('state = ?'); args.push(f.state); }
    if (f.sinceMs !== undefined) { where.push('created_at >= ?'); args.push(f.sinceMs); }
    if (f.untilMs !== undefined) { where.push('created_at <= ?'); args.push(f.untilMs); }
    const limit = Math.min(Math.max(1, f.limit ?? 100), 10_000);
    const rows = this.db.prepare(`SELECT * FROM control_commands ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at DESC, rowid DESC LIMIT ${limit}`).all(...args) as CommandRow[];
    return rows.map(commandFromRow);
  }

  /** How many commands are in each state. */
  countByState(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.db.prepare('SELECT state, COUNT(*) AS n FROM control_commands GROUP BY state').all() as Array<{ state: string; n: number }>) out[r.state] = r.n;
    return out;
  }

  /** Commands of an agent still to deliver (or to deliver again), oldest first. */
  pendingFor(agentId: string): QueuedCommand[] {
    const rows = this.db.prepare(`SELECT * FROM control_commands WHERE agent_id = ? AND state IN ('queued', 'delivered') AND expires_at > ?
      ORDER BY created_at, rowid`).all(agentId, this.now()) as CommandRow[];
    return rows.map(commandFromRow);
  }

  /** Every agent's commands not answered yet (queued or delivered, not expired), oldest first. */
  unansweredByAgent(): Map<string, QueuedCommand[]> {
    const out = new Map<string, QueuedCommand[]>();
    const rows = this.db.prepare(`SELECT * FROM control_commands WHERE state IN ('queued', 'delivered') AND expires_at > ? ORDER BY created_at, rowid`).all(this.now()) as CommandRow[];
    for (const r of rows) {
      const c = commandFromRow(r);
      const list = out.get(c.agentId) ?? [];
      list.push(c);
      out.set(c.agentId, list);
    }
    return out;
  }

  /** Agents with something to deliver. */
  agentsWithPending(): string[] {
    return (this.db.prepare(`SELECT DISTINCT agent_id FROM control_commands WHERE state IN ('queued', 'delivered') AND expires_at > ?`).all(this.now()) as { agent_id: string }[]).map((r) => r.agent_id);
  }

  markDelivered(id: string): void {
    this.db.prepare(`UPDATE control_commands SET state = CASE WHEN state = 'queued' THEN 'delivered' ELSE state END,
      delivered_at = ?, deliveries = deliveries + 1 WHERE id = ?`).run(this.now(), id);
  }

  /**
   * Records the agent's answer. Returns the updated command, or null when there is no such
   * command or it had already ended (a late or repeated answer changes nothing).
   */
  complete(id: string, outcome: CommandOutcome): QueuedCommand | null {
    const cur = this.get(id);
    if (!cur) return null;
    if (!acceptsAnswer(cur)) return null;
    const { state, error } = answeredState(outcome);
    this.db.prepare('UPDATE control_commands SET state = ?, finished_at = ?, result = ?, error = ? WHERE id = ?')
      .run(state, this.now(), JSON.stringify(outcome), error, id);
    return this.get(id);
  }

  /**
   * Ends what can no longer happen: queued commands past their expiry become `expired`;
   * delivered ones still unanswered well after it become `failed` (no-answer).
   */
  expireDue(): QueuedCommand[] {
    const now = this.now();
    const ended: QueuedCommand[] = [];
    const tx = this.db.transaction(() => {
      const q = this.db.prepare(`SELECT * FROM control_commands WHERE state = 'queued' AND expires_at <= ?`).all(now) as CommandRow[];
      const d = this.db.prepare(`SELECT * FROM control_commands WHERE state = 'delivered' AND expires_at <= ?`).all(now - NO_ANSWER_GRACE_MS) as CommandRow[];
      const upd = this.db.prepare('UPDATE control_commands SET state = ?, finished_at = ?, error = ? WHERE id = ?');
      for (const r of q) {
        upd.run('expired', now, EXPIRED_UNTAKEN, r.id);
        ended.push({ ...commandFromRow(r), state: 'expired', finishedAt: now, error: EXPIRED_UNTAKEN });
      }
      for (const r of d) {
        upd.run('failed', now, NO_ANSWER, r.id);
        ended.push({ ...commandFromRow(r), state: 'failed', finishedAt: now, error: NO_ANSWER });
      }
    });
    tx();
    return ended;
  }
}
