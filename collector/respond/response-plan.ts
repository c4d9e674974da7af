// What an automatic response rule does with an alert, decided apart from where the command goes:
// whether the rule matches, whether the alert allows it (a peer), whether the limits allow it,
// and the signed command with how long it stays in force. The single process's ResponseEngine
// queues the result in SQLite; the scale-out workers (collector/scale/worker-responses.ts) send
// it through NATS. Pure apart from the signature's randomness (its nonce).
import { buildSignedCommand } from '../../shared/commands/command-signing.js';
import type { CommandEnvelope } from '../../shared/commands/command-schema.js';
import type { OperatorSigningKey } from '../../shared/commands/operator-keys.js';
import { severityRank } from '../../shared/alerts/alert-record.js';
import type { StoredAlert } from '../../shared/alerts/alert-types.js';
import type { ResponseRule } from './response-config.js';
import type { LimitVerdict, ResponseLimiter } from './response-limiter.js';

/** What the audit and logs say about the alert and the rule's response. */
export interface ResponseBase {
  alertId: number;
  category: string;
  rule: string;
  severity: string;
  peer: string | null;
  response: ResponseRule['command']['type'];
}

export type ResponsePlan =
  | { verdict: 'skip'; base: ResponseBase }
  | { verdict: 'suppress'; limit: Exclude<LimitVerdict, 'ok'>; base: ResponseBase }
  | { verdict: 'issue'; base: ResponseBase; env: CommandEnvelope; kind: CommandEnvelope['kind']; activeKey: string; inForceUntilMs: number };

export function ruleMatches(r: ResponseRule, a: StoredAlert): boolean {
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

/** The response of a matching rule to an alert: skipped, suppressed by the limits, or a signed command to issue. */
export function planResponse(r: ResponseRule, ruleKey: string, a: StoredAlert, limiter: ResponseLimiter, key: OperatorSigningKey, now: number): ResponsePlan {
  const cmd = r.command;
  const lifetimeMs = r.expiresSec * 1000;
  const kind = cmd.type === 'capture-full' ? 'capture.peer' : cmd.type === 'capture-retro' ? 'capture.retro' : 'interdiction.isolate';
  const base: ResponseBase = { alertId: a.id, category: a.category, rule: a.rule, severity: a.severity, peer: a.peer || null, response: cmd.type };
  if ((cmd.type === 'capture-full' || (cmd.type === 'capture-retro' && cmd.scope === 'peer')) && !a.peer) return { verdict: 'skip', base };
  const hostWide = cmd.type === 'isolate' || (cmd.type === 'capture-retro' && cmd.scope === 'host');
  const activeKey = `${a.agentId}|${kind}|${hostWide ? '' : a.peer}`;
  const verdict = limiter.check(ruleKey, a.agentId, activeKey, r.rateLimit, now);
  if (verdict !== 'ok') return { verdict: 'suppress', limit: verdict, base };
  let env: CommandEnvelope;
  let inForceUntilMs: number;
  if (cmd.type === 'capture-retro') {
    // from before the alert's first packet - a beacon alert's from before its first beacon - until the agent pulls
    const sinceMs = Math.max(0, Math.floor(retroStartUs(a) / 1000) - cmd.beforeSec * 1000);
    const params = { ...(cmd.scope === 'peer' ? { peer: a.peer } : {}), sinceMs, untilMs: Math.max(now + lifetimeMs, sinceMs + 1) };
    env = buildSignedCommand(key, { agentId: a.agentId, kind: 'capture.retro', params, lifetimeMs, nowMs: now });
    // the same peer's window is not pulled again while it overlaps this one
    inForceUntilMs = now + Math.max(cmd.beforeSec * 1000, 60_000);
  } else {
    const forMs = (cmd.forSec ?? 0) * 1000;
    env = cmd.type === 'capture-full'
      ? buildSignedCommand(key, { agentId: a.agentId, kind: 'capture.peer', params: { peer: a.peer, snapLen: cmd.snapLen, forMs }, lifetimeMs, nowMs: now })
      : buildSignedCommand(key, { agentId: a.agentId, kind: 'interdiction.isolate', params: cmd.forSec ? { forMs } : {}, lifetimeMs, nowMs: now });
    inForceUntilMs = forMs > 0 ? now + forMs : now + lifetimeMs;
  }
  return { verdict: 'issue', base, env, kind, activeKey, inForceUntilMs };
}
