// An organisation's control side in PostgreSQL for the scale-out front-ends (docs/scale-out.md
// "Agents across front-ends"): the command queue, the audit and the agents' last heartbeat and
// inventory, in the organisation's schema org_<id> (tables control_commands, control_audit,
// control_agents, control_inventory: the single process's SQLite tables of the same names). Every
// front-end reads and writes the same rows, so a command submitted on one is seen, delivered and
// answered through any other. State changes are single statements whose WHERE clause carries the
// transition (queued -> delivered, open -> answered, open -> expired), so two front-ends never end
// one command twice. Audit rows are listed by the time of what they record, written in the background:
// record() never throws (a failed write is logged) so a request's answer never waits on its audit.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from '../../shared/log.js';
import type { CommandOutcome } from '../../shared/commands/command-schema.js';
import type { AgentView } from '../../shared/commands/admin-views.js';
import { orgSchema } from '../../shared/store/postgres/pg-schema.js';
import {
  EXPIRED_UNTAKEN, NO_ANSWER, NO_ANSWER_GRACE_MS, acceptsAnswer, answeredState, checkSubmission, commandFromRow, duplicateSubmission,
  type CommandFilter, type CommandRow, type QueuedCommand,
} from '../control/command-queue.js';
import type { AuditEntry, AuditFilter, AuditInput } from '../control/audit-log.js';
import { agentViews, type AgentRow, type LiveAgentInfo, type StoredInventory } from '../control/agent-registry.js';
import type { OrgAgentDirectory, OrgAudit, OrgCommandQueue } from '../control/admin-api.js';

function ddl(s: string): string {
  return `
    CREATE TABLE IF NOT EXISTS ${s}.control_commands (
      id text PRIMARY KEY, agent_id text NOT NULL, kind text NOT NULL, nonce text NOT NULL UNIQUE, envelope text NOT NULL,
      submitted_by text NOT NULL, state text NOT NULL, created_at bigint NOT NULL, expires_at bigint NOT NULL,
      delivered_at bigint, deliveries integer NOT NULL DEFAULT 0, finished_at bigint, result text, error text,
      delivered_to text);
    CREATE INDEX IF NOT EXISTS control_commands_open ON ${s}.control_commands (state, agent_id, created_at);
    CREATE INDEX IF NOT EXISTS control_commands_created ON ${s}.control_commands (created_at);
    CREATE TABLE IF NOT EXISTS ${s}.control_audit (
      seq bigserial PRIMARY KEY, at bigint NOT NULL, actor text NOT NULL, action text NOT NULL,
      agent_id text, command_id text, outcome text NOT NULL, detail text);
    CREATE TABLE IF NOT EXISTS ${s}.control_agents (
      agent_id text PRIMARY KEY, first_seen bigint NOT NULL, last_seen bigint NOT NULL, health text);
    CREATE TABLE IF NOT EXISTS ${s}.control_inventory (
      agent_id text PRIMARY KEY, at bigint NOT NULL, command_id text NOT NULL, report text NOT NULL);
  `;
}

/** A claimed delivery not completed within this long (its front-end died meanwhile) may be claimed again. */
export const STALE_CLAIM_MS = 10_000;

interface AuditRow { seq: number; at: number; actor: string; action: string; agent_id: string | null; command_id: string | null; outcome: string; detail: string | null }

/** Numbered parameters for a WHERE clause built piece by piece. */
class Params {
  readonly values: unknown[] = [];
  readonly where: string[] = [];
  add(cond: (p: string) => string, v: unknown): void {
    this.values.push(v);
    this.where.push(cond(`$${this.values.length}`));
  }
  get sql(): string {
    return this.where.length ? ` WHERE ${this.where.join(' AND ')}` : '';
  }
}

export class PgControlStore implements OrgCommandQueue {
  /** the tail of the audit writes (in order) */
  private auditTail: Promise<unknown> = Promise.resolve();
  private readonly heartbeats = new Map<string, { at: number; health: string }>();

  private constructor(private readonly pool: pg.Pool, private readonly s: string, private readonly log: Logger, readonly now: () => number) {}

  /** Creates the control tables in the organisation's schema (idempotent; the schema exists: PgFlowStore.open made it). */
  static async open(pool: pg.Pool, org: string, log: Logger, now: () => number = Date.now): Promise<PgControlStore> {
    const s = orgSchema(org);
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      // the schema lock of ensureSchemas: front-ends starting together do not race on CREATE
      await c.query(`SELECT pg_advisory_xact_lock(hashtext('meerkat-schema'))`);
      await c.query(ddl(s));
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
    return new PgControlStore(pool, s, log, now);
  }

  // ---- command queue ------------------------------------------------------------------

  /** @throws SubmitError */
  async submit(raw: unknown, submittedBy: string): Promise<QueuedCommand> {
    const now = this.now();
    const env = checkSubmission(raw, now);
    const id = randomUUID();
    const r = await this.pool.query<CommandRow>(`INSERT INTO ${this.s}.control_commands (id, agent_id, kind, nonce, envelope, submitted_by, state, created_at, expires_at)
      VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8) ON CONFLICT (nonce) DO NOTHING RETURNING *`,
    [id, env.agentId, env.kind, env.nonce, JSON.stringify(env), submittedBy, now, env.expiresAt]);
    if (r.rows.length === 0) {
      const dup = await this.pool.query<{ id: string }>(`SELECT id FROM ${this.s}.control_commands WHERE nonce = $1`, [env.nonce]);
      throw duplicateSubmission(dup.rows[0]?.id ?? '(unknown)');
    }
    return commandFromRow(r.rows[0]!);
  }

  async get(id: string): Promise<QueuedCommand | null> {
    const r = await this.pool.query<CommandRow>(`SELECT * FROM ${this.s}.control_commands WHERE id = $1`, [id]);
    return r.rows[0] ? commandFromRow(r.rows[0]) : null;
  }

  /** Newest first. */
  async list(f: CommandFilter = {}): Promise<QueuedCommand[]> {
    const p = new Params();
    if (f.agentId) p.add((x) => `agent_id = ${x}`, f.agentId);
    if (f.state) p.add((x) => `state = ${x}`, f.state);
    if (f.sinceMs !== undefined) p.add((x) => `created_at >= ${x}`, f.sinceMs);
    if (f.untilMs !== undefined) p.add((x) => `created_at <= ${x}`, f.untilMs);
    const limit = Math.min(Math.max(1, f.limit ?? 100), 10_000);
    const r = await this.pool.query<CommandRow>(`SELECT * FROM ${this.s}.control_commands${p.sql} ORDER BY created_at DESC, id DESC LIMIT ${limit}`, p.values);
    return r.rows.map(commandFromRow);
  }

  /** Commands not answered yet (queued or delivered, not expired), oldest first; of some agents, or all. */
  async unanswered(agentIds?: readonly string[]): Promise<QueuedCommand[]> {
    const p = new Params();
    p.add((x) => `expires_at > ${x}`, this.now());
    if (agentIds) p.add((x) => `agent_id = ANY(${x})`, agentIds);
    const r = await this.pool.query<CommandRow>(`SELECT * FROM ${this.s}.control_commands${p.sql} AND state IN ('queued', 'delivered') ORDER BY created_at, id`, p.values);
    return r.rows.map(commandFromRow);
  }

  async unansweredByAgent(): Promise<Map<string, QueuedCommand[]>> {
    const out = new Map<string, QueuedCommand[]>();
    for (const c of await this.unanswered()) out.set(c.agentId, [...(out.get(c.agentId) ?? []), c]);
    return out;
  }

  /**
   * Takes a queued command for delivery (queued -> delivered, one more delivery): true for the one
   * front-end that took it, false when another did or it is no longer queued.
   */
  async claim(id: string): Promise<boolean> {
    const r = await this.pool.query(`UPDATE ${this.s}.control_commands SET state = 'delivered', delivered_at = $1, deliveries = deliveries + 1, delivered_to = NULL
      WHERE id = $2 AND state = 'queued' AND expires_at > $1`, [this.now(), id]);
    return (r.rowCount ?? 0) > 0;
  }

  /**
   * Takes a delivered, unanswered command for delivery again on the agent's connection
   * `connection`: true when it was last delivered on another one (which dropped without an
   * answer), or its delivery was claimed over `STALE_CLAIM_MS` ago and never completed.
   */
  async claimRedelivery(id: string, connection: string): Promise<boolean> {
    const now = this.now();
    const r = await this.pool.query(`UPDATE ${this.s}.control_commands SET delivered_at = $1, deliveries = deliveries + 1, delivered_to = NULL
      WHERE id = $2 AND state = 'delivered' AND expires_at > $1
        AND ((delivered_to IS NOT NULL AND delivered_to <> $3) OR (delivered_to IS NULL AND delivered_at < $4))`, [now, id, connection, now - STALE_CLAIM_MS]);
    return (r.rowCount ?? 0) > 0;
  }

  /** The connection a claimed command went out on ("<front-end id>/<connected since>"). */
  async deliveredOn(id: string, connection: string): Promise<void> {
    await this.pool.query(`UPDATE ${this.s}.control_commands SET delivered_to = $1 WHERE id = $2 AND state = 'delivered'`, [connection, id]);
  }

  /** Gives back a claimed command that could not be delivered (its agent is connected nowhere). */
  async unclaim(id: string, wasDelivered: boolean): Promise<void> {
    await this.pool.query(`UPDATE ${this.s}.control_commands SET state = CASE WHEN $2 THEN 'delivered' ELSE 'queued' END, deliveries = deliveries - 1,
      delivered_at = CASE WHEN deliveries > 1 THEN delivered_at END WHERE id = $1 AND state = 'delivered'`, [id, wasDelivered]);
  }

  /**
   * Records the agent's answer: the updated command, or null when there is no such command or it
   * had ended already (a late or repeated answer changes nothing). One statement decides, so of
   * two front-ends recording the same answer one wins.
   */
  async complete(id: string, outcome: CommandOutcome): Promise<QueuedCommand | null> {
    const cur = await this.get(id);
    if (!cur || !acceptsAnswer(cur)) return null;
    const { state, error } = answeredState(outcome);
    const r = await this.pool.query<CommandRow>(`UPDATE ${this.s}.control_commands SET state = $1, finished_at = $2, result = $3, error = $4
      WHERE id = $5 AND (state IN ('queued', 'delivered') OR (state = 'failed' AND error = $6)) RETURNING *`,
    [state, this.now(), JSON.stringify(outcome), error, id, NO_ANSWER]);
    return r.rows[0] ? commandFromRow(r.rows[0]) : null;
  }

  /** Queued commands past their expiry become expired; delivered ones unanswered well after it failed (no-answer). */
  async expireDue(): Promise<QueuedCommand[]> {
    const now = this.now();
    const r = await this.pool.query<CommandRow>(`UPDATE ${this.s}.control_commands
      SET state = CASE WHEN state = 'queued' THEN 'expired' ELSE 'failed' END, finished_at = $1,
          error = CASE WHEN state = 'queued' THEN $2 ELSE $3 END
      WHERE (state = 'queued' AND expires_at <= $1) OR (state = 'delivered' AND expires_at <= $4) RETURNING *`,
    [now, EXPIRED_UNTAKEN, NO_ANSWER, now - NO_ANSWER_GRACE_MS]);
    return r.rows.map(commandFromRow);
  }

  // ---- audit ----------------------------------------------------------------------------

  /**
   * Queues the row behind the ones recorded before; resolves when it is written (never rejects: a
   * failure is logged). `atMs`: when it happened, if earlier than now (a delivery is recorded once
   * the relay answered, but the agent may have answered on another front-end meanwhile).
   */
  record(e: AuditInput, atMs?: number): Promise<void> {
    const row = [atMs ?? this.now(), e.actor.slice(0, 200), e.action.slice(0, 200), e.agentId ?? null, e.commandId ?? null, e.outcome.slice(0, 500), e.detail === undefined ? null : JSON.stringify(e.detail)];
    const write = this.auditTail.then(() => this.pool.query(`INSERT INTO ${this.s}.control_audit (at, actor, action, agent_id, command_id, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)`, row))
      .then(() => undefined, (err: Error) => this.log.error({ err: err.message, action: e.action }, 'audit write failed'));
    this.auditTail = write;
    return write;
  }

  /** Newest last; at most `limit` (default 200) of the most recent matching entries. */
  async listAudit(f: AuditFilter = {}): Promise<AuditEntry[]> {
    await this.auditTail;
    const p = new Params();
    if (f.agentId) p.add((x) => `agent_id = ${x}`, f.agentId);
    if (f.commandId) p.add((x) => `command_id = ${x}`, f.commandId);
    if (f.after !== undefined) p.add((x) => `seq > ${x}`, f.after);
    if (f.sinceMs !== undefined) p.add((x) => `at >= ${x}`, f.sinceMs);
    if (f.untilMs !== undefined) p.add((x) => `at <= ${x}`, f.untilMs);
    const limit = Math.min(Math.max(1, f.limit ?? 200), 10_000);
    const r = await this.pool.query<AuditRow>(`SELECT * FROM ${this.s}.control_audit${p.sql} ORDER BY at DESC, seq DESC LIMIT ${limit}`, p.values);
    return r.rows.reverse().map((a) => ({
      seq: a.seq, at: new Date(a.at).toISOString(), actor: a.actor, action: a.action, agentId: a.agent_id, commandId: a.command_id,
      outcome: a.outcome, detail: a.detail === null ? null : (JSON.parse(a.detail) as unknown),
    }));
  }

  // ---- agents -----------------------------------------------------------------------------

  /** Keeps the latest heartbeat in memory; flushHeartbeats() writes them. */
  heartbeat(agentId: string, health: unknown): void {
    this.heartbeats.set(agentId, { at: this.now(), health: JSON.stringify(health ?? null) });
  }

  /** Writes the pending heartbeats in one statement. */
  async flushHeartbeats(): Promise<void> {
    if (this.heartbeats.size === 0) return;
    const batch = [...this.heartbeats];
    this.heartbeats.clear();
    await this.pool.query(`INSERT INTO ${this.s}.control_agents (agent_id, first_seen, last_seen, health)
      SELECT id, at, at, h FROM unnest($1::text[], $2::bigint[], $3::text[]) AS t(id, at, h)
      ON CONFLICT (agent_id) DO UPDATE SET last_seen = excluded.last_seen, health = excluded.health`,
    [batch.map(([id]) => id), batch.map(([, h]) => h.at), batch.map(([, h]) => h.health)]);
  }

  async saveInventory(agentId: string, commandId: string, report: unknown): Promise<void> {
    await this.pool.query(`INSERT INTO ${this.s}.control_inventory (agent_id, at, command_id, report) VALUES ($1, $2, $3, $4)
      ON CONFLICT (agent_id) DO UPDATE SET at = excluded.at, command_id = excluded.command_id, report = excluded.report`,
    [agentId, this.now(), commandId, JSON.stringify(report)]);
  }

  async inventory(agentId: string): Promise<StoredInventory | null> {
    const r = await this.pool.query<{ agent_id: string; at: number; command_id: string; report: string }>(`SELECT * FROM ${this.s}.control_inventory WHERE agent_id = $1`, [agentId]);
    const i = r.rows[0];
    return i ? { agentId: i.agent_id, at: new Date(i.at).toISOString(), commandId: i.command_id, report: JSON.parse(i.report) as unknown } : null;
  }

  /**
   * Every agent the organisation knows: those with a heartbeat stored here, those the flow
   * workers stored dumps of (org_<id>.agents), and those connected now (`live`, from presence).
   */
  async listAgents(live: readonly LiveAgentInfo[], extra: (agentId: string) => Pick<AgentView, 'revoked' | 'pendingCommands'> = () => ({ revoked: false, pendingCommands: [] })): Promise<AgentView[]> {
    await this.flushHeartbeats();
    const rows = (await this.pool.query<AgentRow>(`SELECT * FROM ${this.s}.control_agents`)).rows;
    const seen = (await this.pool.query<{ agent_id: string; first_seen_us: number; last_seen_us: number }>(`SELECT agent_id, first_seen_us, last_seen_us FROM ${this.s}.agents`)).rows;
    const byId = new Map(rows.map((r) => [r.agent_id, r]));
    for (const a of seen) {
      const r = byId.get(a.agent_id);
      const first = Math.floor(a.first_seen_us / 1000);
      const last = Math.floor(a.last_seen_us / 1000);
      byId.set(a.agent_id, r ? { ...r, first_seen: Math.min(r.first_seen, first), last_seen: Math.max(r.last_seen, last) } : { agent_id: a.agent_id, first_seen: first, last_seen: last, health: null });
    }
    return agentViews(byId.values(), live, this.now(), extra);
  }

  /** Whether the organisation knows the agent (a heartbeat, a stored dump). */
  async knows(agentId: string): Promise<boolean> {
    const r = await this.pool.query(`SELECT 1 FROM ${this.s}.control_agents WHERE agent_id = $1 UNION ALL SELECT 1 FROM ${this.s}.agents WHERE agent_id = $1 LIMIT 1`, [agentId]);
    return r.rows.length > 0;
  }

  /** The audit as the operators' API uses it. */
  get audit(): OrgAudit {
    return { record: (e) => this.record(e), list: (f) => this.listAudit(f) };
  }

  /** The agents as the operators' API lists them. */
  get agents(): OrgAgentDirectory {
    return { list: (live, extra) => this.listAgents(live, extra), inventory: (id) => this.inventory(id) };
  }

  /** Writes what is pending (heartbeats, audit rows). */
  async flush(): Promise<void> {
    await this.flushHeartbeats();
    await this.auditTail;
  }
}
