// Rate limits of automatic responses: sliding one-hour windows per (rule, agent) and per rule
// overall, and no second command for the same (agent, command, peer) while the first is still
// in force. Rules are known by a fingerprint of what they match and do (ruleKey), so limits
// follow a rule when the config is reordered or its rate limits change. The decisions are pure
// (time comes in); every issue is also written to the collector database (table
// control_response_issues) and read back at start, so a restart does not reset the limits.
import { createHash } from 'node:crypto';
import type { ControlDatabase } from '../control/control-db.js';
import type { ResponseRule } from './response-config.js';

const HOUR_MS = 3_600_000;

export type LimitVerdict = 'ok' | 'active' | 'agent-limit' | 'global-limit';

/** A rule's identity for its limits: what it matches and the command it issues (not its rate limits). */
export function ruleKey(r: ResponseRule): string {
  const what = JSON.stringify({ category: r.category, rule: r.rule ?? null, minSeverity: r.minSeverity, command: r.command });
  return createHash('sha256').update(what).digest('hex').slice(0, 16);
}

export interface IssueRecord {
  ruleKey: string;
  agentId: string;
  activeKey: string;
  issuedMs: number;
  inForceUntilMs: number;
}

export class ResponseLimiter {
  private readonly perAgent = new Map<string, number[]>();
  private readonly global = new Map<string, number[]>();
  /** (agent|command|peer) -> ms until which the issued command is in force */
  private readonly active = new Map<string, number>();

  check(rule: string, agentId: string, activeKey: string, limits: { perAgentPerHour: number; globalPerHour: number }, nowMs: number): LimitVerdict {
    const until = this.active.get(activeKey);
    if (until !== undefined && until > nowMs) return 'active';
    const a = prune(this.perAgent.get(`${rule}|${agentId}`), nowMs);
    if (a.length >= limits.perAgentPerHour) return 'agent-limit';
    const g = prune(this.global.get(rule), nowMs);
    if (g.length >= limits.globalPerHour) return 'global-limit';
    return 'ok';
  }

  record(rule: string, agentId: string, activeKey: string, inForceUntilMs: number, nowMs: number): void {
    const ak = `${rule}|${agentId}`;
    this.perAgent.set(ak, [...prune(this.perAgent.get(ak), nowMs), nowMs]);
    this.global.set(rule, [...prune(this.global.get(rule), nowMs), nowMs]);
    const prev = this.active.get(activeKey);
    if (prev === undefined || inForceUntilMs > prev) this.active.set(activeKey, inForceUntilMs);
    if (this.active.size > 10_000) for (const [k, t] of this.active) if (t <= nowMs) this.active.delete(k);
  }
}

/** The limiter's memory in the collector database: issues of the last hour and commands still in force. */
export class PersistedIssues {
  constructor(private readonly db: ControlDatabase) {}

  /** Issues that still count at nowMs (older rows are deleted). */
  load(nowMs: number): IssueRecord[] {
    this.db.prepare('DELETE FROM control_response_issues WHERE issued_ms <= ? AND in_force_until_ms <= ?').run(nowMs - HOUR_MS, nowMs);
    return this.db.prepare(`SELECT rule_key AS ruleKey, agent_id AS agentId, active_key AS activeKey, issued_ms AS issuedMs, in_force_until_ms AS inForceUntilMs
      FROM control_response_issues ORDER BY issued_ms`).all() as IssueRecord[];
  }

  save(r: IssueRecord): void {
    this.db.prepare('INSERT INTO control_response_issues (rule_key, agent_id, active_key, issued_ms, in_force_until_ms) VALUES (?, ?, ?, ?, ?)')
      .run(r.ruleKey, r.agentId, r.activeKey, r.issuedMs, r.inForceUntilMs);
  }
}

/** A limiter that remembers what the database says was issued before (a restart). */
export function restoreLimiter(issues: readonly IssueRecord[]): ResponseLimiter {
  const l = new ResponseLimiter();
  for (const i of issues) l.record(i.ruleKey, i.agentId, i.activeKey, i.inForceUntilMs, i.issuedMs);
  return l;
}

function prune(list: number[] | undefined, nowMs: number): number[] {
  if (!list) return [];
  return list.filter((t) => nowMs - t < HOUR_MS);
}
