// Automatic responses in the flow workers (docs/scale-out.md "Automatic responses in the
// workers"): the alert changes a worker committed are matched against the "responses" rules as
// in the single process (response-plan.ts), the command is signed with the organisation's
// response key and sent to the agent through NATS (request on meerkat.cmd.<org>.<agent>, answered
// by whichever front-end holds the agent: collector/scale/agent-relay.ts), retried until it
// expires while no front-end holds the agent. The rate limits are shared by every worker: each
// decision reads the issues of the last hour from org_<id>.response_issues and records its own
// there, in one transaction under a per-organisation advisory lock.
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from 'nats';
import type pg from 'pg';
import type { Logger } from '../../shared/log.js';
import type { AlertChange, StoredAlert } from '../../shared/alerts/alert-types.js';
import type { CommandEnvelope } from '../../shared/commands/command-schema.js';
import type { OperatorSigningKey } from '../../shared/commands/operator-keys.js';
import { inPgTransaction } from '../../shared/store/postgres/pg-transaction.js';
import type { ResponseRule } from '../respond/response-config.js';
import { restoreLimiter, ruleKey, type IssueRecord } from '../respond/response-limiter.js';
import { planResponse, ruleMatches } from '../respond/response-plan.js';

const HOUR_MS = 3_600_000;
const enc = new TextEncoder();
const dec = new TextDecoder();

export interface WorkerResponderOptions {
  org: string;
  /** the organisation's schema (org_<id>) */
  schema: string;
  pool: pg.Pool;
  nc: NatsConnection;
  rules: readonly ResponseRule[];
  key: OperatorSigningKey;
  log: Logger;
  /** wall clock (ms) */
  now?: () => number;
  /** pause between delivery attempts while no front-end holds the agent (default 5000 ms) */
  retryMs?: number;
}

export interface WorkerResponderStats {
  issued: number;
  limited: number;
  skipped: number;
  delivered: number;
  /** expired before any front-end held the agent */
  undelivered: number;
  errors: number;
}

export class WorkerResponder {
  readonly stats: WorkerResponderStats = { issued: 0, limited: 0, skipped: 0, delivered: 0, undelivered: 0, errors: 0 };
  private readonly ruleKeys: string[];
  private readonly now: () => number;
  /** decisions one after another (they read and write the shared limits) */
  private chain: Promise<void> = Promise.resolve();
  private readonly deliveries = new Set<Promise<void>>();
  private closed = false;

  private constructor(private readonly o: WorkerResponderOptions) {
    this.ruleKeys = o.rules.map(ruleKey);
    this.now = o.now ?? Date.now;
  }

  /** Creates org_<id>.response_issues when new (the schema exists: PgFlowStore/PgAlertStore opened it). */
  static async open(o: WorkerResponderOptions): Promise<WorkerResponder> {
    await inPgTransaction(o.pool, async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('meerkat-schema'))`);
      await tx.query(`CREATE TABLE IF NOT EXISTS ${o.schema}.response_issues (
        command_id text PRIMARY KEY, rule_key text NOT NULL, agent_id text NOT NULL, active_key text NOT NULL,
        issued_ms bigint NOT NULL, in_force_until_ms bigint NOT NULL, kind text NOT NULL, alert_id bigint NOT NULL,
        envelope jsonb NOT NULL, delivered_ms bigint, delivered_by text)`);
      await tx.query(`CREATE INDEX IF NOT EXISTS response_issues_issued ON ${o.schema}.response_issues (issued_ms)`);
    });
    return new WorkerResponder(o);
  }

  /** AlertPipeline.onChanges: new and escalated alerts against the rules (repeats never respond). */
  readonly onChanges = (changes: readonly AlertChange[]): void => {
    if (this.closed) return;
    for (const c of changes) {
      if (c.kind === 'repeat') continue;
      this.o.rules.forEach((r, i) => {
        if (!ruleMatches(r, c.alert)) return;
        this.chain = this.chain.then(() => this.respond(i, r, c.alert)).catch((e: unknown) => {
          this.stats.errors++;
          this.o.log.error({ org: this.o.org, alertId: c.alert.id, err: (e as Error).message }, 'automatic response failed');
        });
      });
    }
  };

  private async respond(index: number, r: ResponseRule, a: StoredAlert): Promise<void> {
    const s = this.o.schema;
    const rk = this.ruleKeys[index]!;
    const now = this.now();
    const commandId = randomUUID();
    const plan = await inPgTransaction(this.o.pool, async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`meerkat-responses ${s}`]);
      await tx.query(`DELETE FROM ${s}.response_issues WHERE issued_ms <= $1 AND in_force_until_ms <= $2`, [now - HOUR_MS, now]);
      const issued = await tx.query<IssueRecord>(`SELECT rule_key AS "ruleKey", agent_id AS "agentId", active_key AS "activeKey", issued_ms AS "issuedMs",
        in_force_until_ms AS "inForceUntilMs" FROM ${s}.response_issues ORDER BY issued_ms`);
      const p = planResponse(r, rk, a, restoreLimiter(issued.rows), this.o.key, now);
      if (p.verdict === 'issue') {
        await tx.query(`INSERT INTO ${s}.response_issues (command_id, rule_key, agent_id, active_key, issued_ms, in_force_until_ms, kind, alert_id, envelope)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [commandId, rk, a.agentId, p.activeKey, now, p.inForceUntilMs, p.kind, a.id, JSON.stringify(p.env)]);
      }
      return p;
    });
    const log = { org: this.o.org, agentId: a.agentId, responseRule: index, ...plan.base };
    if (plan.verdict === 'skip') {
      this.stats.skipped++;
      this.o.log.info(log, 'automatic response skipped: the alert has no peer');
      return;
    }
    if (plan.verdict === 'suppress') {
      this.stats.limited++;
      this.o.log.info({ ...log, verdict: plan.limit }, 'automatic response suppressed');
      return;
    }
    this.stats.issued++;
    this.o.log.info({ ...log, commandId, kind: plan.kind, keyId: this.o.key.keyId, params: plan.env.params }, 'automatic response issued');
    const d = this.deliver(commandId, plan.env).finally(() => this.deliveries.delete(d));
    this.deliveries.add(d);
  }

  /** Sends the command to the front-end holding the agent; retried until it expires or the worker stops. */
  private async deliver(commandId: string, env: CommandEnvelope): Promise<void> {
    const subject = `meerkat.cmd.${this.o.org}.${env.agentId}`;
    const body = enc.encode(JSON.stringify({ id: commandId, command: env }));
    while (!this.closed && this.now() < env.expiresAt) {
      let answer: { delivered?: boolean; frontend?: string } | null = null;
      try {
        answer = JSON.parse(dec.decode((await this.o.nc.request(subject, body, { timeout: 3000 })).data)) as { delivered?: boolean; frontend?: string };
      } catch {
        // no front-end holds the agent (no responders), or NATS is down: try again
      }
      if (answer?.delivered === true) {
        this.stats.delivered++;
        await this.o.pool.query(`UPDATE ${this.o.schema}.response_issues SET delivered_ms = $1, delivered_by = $2 WHERE command_id = $3`,
          [this.now(), answer.frontend ?? null, commandId]).catch((e: unknown) => this.o.log.warn({ commandId, err: (e as Error).message }, 'recording a delivery failed'));
        this.o.log.info({ org: this.o.org, commandId, agentId: env.agentId, frontend: answer.frontend }, 'automatic response delivered');
        return;
      }
      await new Promise((r) => setTimeout(r, this.o.retryMs ?? 5000));
    }
    if (!this.closed) {
      this.stats.undelivered++;
      this.o.log.warn({ org: this.o.org, commandId, agentId: env.agentId }, 'automatic response expired: no front-end held the agent');
    }
  }

  /** Waits for the decisions under way; deliveries still retrying are abandoned (their rows stay undelivered). */
  async close(): Promise<void> {
    await this.chain;
    this.closed = true;
    await Promise.all([...this.deliveries]);
  }
}
