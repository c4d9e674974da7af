// Rate limits of automatic responses: sliding one-hour windows per (rule, agent) and per rule
// overall, and no second command for the same (agent, command, peer) while the first is still
// in force. Pure (time comes in).

const HOUR_MS = 3_600_000;

export type LimitVerdict = 'ok' | 'active' | 'agent-limit' | 'global-limit';

export class ResponseLimiter {
  private readonly perAgent = new Map<string, number[]>();
  private readonly global = new Map<number, number[]>();
  /** (agent|command|peer) -> ms until which the issued command is in force */
  private readonly active = new Map<string, number>();

  check(rule: number, agentId: string, activeKey: string, limits: { perAgentPerHour: number; globalPerHour: number }, nowMs: number): LimitVerdict {
    const until = this.active.get(activeKey);
    if (until !== undefined && until > nowMs) return 'active';
    const a = prune(this.perAgent.get(`${rule}|${agentId}`), nowMs);
    if (a.length >= limits.perAgentPerHour) return 'agent-limit';
    const g = prune(this.global.get(rule), nowMs);
    if (g.length >= limits.globalPerHour) return 'global-limit';
    return 'ok';
  }

  record(rule: number, agentId: string, activeKey: string, inForceUntilMs: number, nowMs: number): void {
    const ak = `${rule}|${agentId}`;
    this.perAgent.set(ak, [...prune(this.perAgent.get(ak), nowMs), nowMs]);
    this.global.set(rule, [...prune(this.global.get(rule), nowMs), nowMs]);
    this.active.set(activeKey, inForceUntilMs);
    if (this.active.size > 10_000) for (const [k, t] of this.active) if (t <= nowMs) this.active.delete(k);
  }
}

function prune(list: number[] | undefined, nowMs: number): number[] {
  if (!list) return [];
  return list.filter((t) => nowMs - t < HOUR_MS);
}
