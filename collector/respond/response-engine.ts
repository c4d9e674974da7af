// Automatic responses: new alerts (AlertPipeline.onChanges) matched against the "responses"
// rules become commands signed with the collector's response key and submitted to the command
// queue of the control side (collector/control: same database, a connection of our own; the
// control service delivers queued commands within its tick). Every decision is audited in the
// control audit log: issued, rate-limited, already in force, or not possible (no peer, error).
// The rate limits live in the same database (response-limiter.ts), so a restart keeps them.
// The agent executes a response only if an operator authorised this key for that command kind.
import type { Logger } from '../../shared/log.js';
import { buildSignedCommand } from '../../shared/commands/command-signing.js';
import type { OperatorSigningKey } from '../../shared/commands/operator-keys.js';
import { severityRank } from '../../shared/alerts/alert-record.js';
import type { AlertChange, StoredAlert } from '../../shared/alerts/alert-types.js';
import { AuditLog } from '../control/audit-log.js';
import { CommandQueue } from '../control/command-queue.js';
import { openControlDb, type ControlDatabase } from '../control/control-db.js';
import type { ResponseRule } from './response-config.js';
import { PersistedIssues, restoreLimiter, ruleKey, type ResponseLimiter } from './response-limiter.js';

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
        if (!matches(r, c.alert)) continue;
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
    const cmd = r.command;
    const lifetimeMs = r.expiresSec * 1000;
    const kind = cmd.type === 'capture-full' ? 'capture.peer' : cmd.type === 'capture-retro' ? 'capture.retro' : 'interdiction.isolate';
    const base = { alertId: a.id, category: a.category, rule: a.rule, severity: a.severity, peer: a.peer || null, response: cmd.type };
    if ((cmd.type === 'capture-full' || (cmd.type === 'capture-retro' && cmd.scope === 'peer')) && !a.peer) {
      this.stats.skipped++;
      this.safeAudit({ action: 'response.skip', agentId: a.agentId, outcome: 'no-peer', detail: base });
      return;
    }
    const hostWide = cmd.type === 'isolate' || (cmd.type === 'capture-retro' && cmd.scope === 'host');
    const activeKey = `${a.agentId}|${kind}|${hostWide ? '' : a.peer}`;
    const rk = this.ruleKeys[index]!;
    const verdict = this.limiter.check(rk, a.agentId, activeKey, r.rateLimit, now);
    if (verdict !== 'ok') {
      this.stats.limited++;
      this.safeAudit({ action: 'response.suppress', agentId: a.agentId, outcome: verdict, detail: base });
      this.o.log.info({ alertId: a.id, agentId: a.agentId, verdict }, 'automatic response suppressed');
      return;
    }
    let env;
    let inForceUntil: number;
    if (cmd.type === 'capture-retro') {
      // from before the alert's first packet - a beacon alert's from before its first beacon - until the agent pulls
      const sinceMs = Math.max(0, Math.floor(retroStartUs(a) / 1000) - cmd.beforeSec * 1000);
      const params = { ...(cmd.scope === 'peer' ? { peer: a.peer } : {}), sinceMs, untilMs: Math.max(now + lifetimeMs, sinceMs + 1) };
      env = buildSignedCommand(this.o.key, { agentId: a.agentId, kind: 'capture.retro', params, lifetimeMs, nowMs: now });
      // the same peer's window is not pulled again while it overlaps this one
      inForceUntil = now + Math.max(cmd.beforeSec * 1000, 60_000);
    } else {
      const forMs = (cmd.forSec ?? 0) * 1000;
      env = cmd.type === 'capture-full'
        ? buildSignedCommand(this.o.key, { agentId: a.agentId, kind: 'capture.peer', params: { peer: a.peer, snapLen: cmd.snapLen, forMs }, lifetimeMs, nowMs: now })
        : buildSignedCommand(this.o.key, { agentId: a.agentId, kind: 'interdiction.isolate', params: cmd.forSec ? { forMs } : {}, lifetimeMs, nowMs: now });
      inForceUntil = forMs > 0 ? now + forMs : now + lifetimeMs;
    }
    // the command and the limiter's record of it commit together
    const q = this.db.transaction(() => {
      const queued = this.queue.submit(env, `${RESPONDER_ACTOR}:rule${index}`);
      this.issues.save({ ruleKey: rk, agentId: a.agentId, activeKey, issuedMs: now, inForceUntilMs: inForceUntil });
      return queued;
    })();
    this.limiter.record(rk, a.agentId, activeKey, inForceUntil, now);
    this.stats.issued++;
    this.safeAudit({ action: 'response.issue', agentId: a.agentId, commandId: q.id, outcome: 'queued', detail: { ...base, kind, keyId: this.o.key.keyId, params: env.params } });
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

function matches(r: ResponseRule, a: StoredAlert): boolean {
  if (a.category !== r.category) return false;
  if (r.rule !== undefined && a.rule !== r.rule) return false;
  if (r.minScore !== undefined) {
    const score = a.evidence.score;
    if (typeof score !== 'number' || !(score >= r.minScore)) return false;
  }
  return severityRank(a.severity) >= severityRank(r.minSeverity);
}

/** Packet time (µs) the alert's story starts: its first occurrence, or the first beacon of a beacon series. */
function retroStartUs(a: StoredAlert): number {
  const first = a.evidence.firstUs;
  return typeof first === 'number' && Number.isFinite(first) && first > 0 && first < a.firstSeenUs ? first : a.firstSeenUs;
}
