// Automatic responses: new alerts (AlertPipeline.onChanges) matched against the "responses"
// rules become commands signed with the collector's response key and submitted to the command
// queue of the control side (collector/control: same database, a connection of our own; the
// control service delivers queued commands within its tick). Every decision is audited in the
// control audit log: issued, rate-limited, already in force, or not possible (no peer, error).
// The rate limits live in the same database (response-limiter.ts), so a restart keeps them.
// The agent executes a response only if an operator authorised this key for that command kind.
import type { Logger } from '../../shared/log.js';
import type { OperatorSigningKey } from '../../shared/commands/operator-keys.js';
import type { AlertChange, StoredAlert } from '../../shared/alerts/alert-types.js';
import { AuditLog } from '../control/audit-log.js';
import { CommandQueue } from '../control/command-queue.js';
import { openControlDb, type ControlDatabase } from '../control/control-db.js';
import type { ResponseRule } from './response-config.js';
import { PersistedIssues, restoreLimiter, ruleKey, type ResponseLimiter } from './response-limiter.js';
import { planResponse, ruleMatches } from './response-plan.js';

const RESPONDER_ACTOR = 'collector:responses';

export interface ResponseEngineOptions {
  /** the collector database (control tables) */
  dbPath: string;
  rules: readonly ResponseRule[];
  key: OperatorSigningKey;
  log: Logger;
  now?: () => number;
}

export interface ResponseEngineStats {
  issued: number;
  limited: number;
  skipped: number;
  errors: number;
}

export class ResponseEngine {
  private readonly db: ControlDatabase;
  readonly queue: CommandQueue;
  readonly audit: AuditLog;
  private readonly limiter: ResponseLimiter;
  private readonly issues: PersistedIssues;
  private readonly ruleKeys: string[];
  private readonly now: () => number;
  readonly stats: ResponseEngineStats = { issued: 0, limited: 0, skipped: 0, errors: 0 };

  constructor(private readonly o: ResponseEngineOptions) {
    this.now = o.now ?? Date.now;
    this.db = openControlDb(o.dbPath);
    this.queue = new CommandQueue(this.db, this.now);
    this.audit = new AuditLog(this.db, this.now);
    this.ruleKeys = o.rules.map(ruleKey);
    // what was issued before a restart still counts against the limits
    this.issues = new PersistedIssues(this.db);
    this.limiter = restoreLimiter(this.issues.load(this.now()));
  }

  /** Plug into AlertPipeline.onChanges (compose with an existing listener). */
  readonly onChanges = (changes: readonly AlertChange[]): void => {
    if (this.o.rules.length === 0) return;
    for (const c of changes) {
      if (c.kind === 'repeat') continue;
      for (let i = 0; i < this.o.rules.length; i++) {
        const r = this.o.rules[i]!;
        if (!ruleMatches(r, c.alert)) continue;
        // an escalation may newly meet minSeverity; a command already in force is not repeated (limiter)
        try {
          this.respond(i, r, c.alert);
        } catch (e) {
          this.stats.errors++;
          this.o.log.error({ err: (e as Error).message, alertId: c.alert.id }, 'automatic response failed');
          this.safeAudit({ action: 'response.error', agentId: c.alert.agentId, outcome: 'error', detail: { alertId: c.alert.id, error: (e as Error).message } });
        }
      }
    }
  };

  private respond(index: number, r: ResponseRule, a: StoredAlert): void {
    const now = this.now();
    const rk = this.ruleKeys[index]!;
    const plan = planResponse(r, rk, a, this.limiter, this.o.key, now);
    if (plan.verdict === 'skip') {
      this.stats.skipped++;
      this.safeAudit({ action: 'response.skip', agentId: a.agentId, outcome: 'no-peer', detail: plan.base });
      return;
    }
    if (plan.verdict === 'suppress') {
      this.stats.limited++;
      this.safeAudit({ action: 'response.suppress', agentId: a.agentId, outcome: plan.limit, detail: plan.base });
      this.o.log.info({ alertId: a.id, agentId: a.agentId, verdict: plan.limit }, 'automatic response suppressed');
      return;
    }
    const { env, kind, activeKey, inForceUntilMs: inForceUntil } = plan;
    // the command and the limiter's record of it commit together
    const q = this.db.transaction(() => {
      const queued = this.queue.submit(env, `${RESPONDER_ACTOR}:rule${index}`);
      this.issues.save({ ruleKey: rk, agentId: a.agentId, activeKey, issuedMs: now, inForceUntilMs: inForceUntil });
      return queued;
    })();
    this.limiter.record(rk, a.agentId, activeKey, inForceUntil, now);
    this.stats.issued++;
    this.safeAudit({ action: 'response.issue', agentId: a.agentId, commandId: q.id, outcome: 'queued', detail: { ...plan.base, kind, keyId: this.o.key.keyId, params: env.params } });
    this.o.log.info({ alertId: a.id, agentId: a.agentId, commandId: q.id, kind, peer: a.peer }, 'automatic response issued');
  }

  private safeAudit(e: { action: string; agentId: string; commandId?: string; outcome: string; detail: unknown }): void {
    try {
      this.audit.record({ actor: RESPONDER_ACTOR, ...e });
    } catch (err) {
      this.o.log.error({ err: (err as Error).message }, 'response audit write failed');
    }
  }

  close(): void {
    this.db.close();
  }
}
