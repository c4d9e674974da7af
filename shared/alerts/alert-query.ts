// The query of `GET /v1/alerts` (docs/api.md), parsed the same way by the collector's API and
// by `meerkat alerts --db`. Pure.
//   state=open|acknowledged|closed  severity=low|medium|high|critical  agent=UUID  category=NAME  since=T  until=T (packet time of
//   the occurrences)  limit=N (1..10000, default 100)  cursor=...
import { AGENT_ID_RE } from '../commands/command-schema.js';
import { DEFAULT_FLOW_LIMIT, MAX_FLOW_LIMIT, QueryError, parseTimeParam } from '../store/flow-query.js';
import { ALERT_STATES, type AlertFilter, type AlertState } from './alert-types.js';
import { SEVERITIES, type Severity } from './alert-record.js';

const PARAMS = ['state', 'severity', 'agent', 'category', 'since', 'until', 'limit', 'cursor'] as const;

export interface AlertQuery {
  filter: AlertFilter;
  limit: number;
  cursor: string | null;
}

/** "open", "acknowledged" (or "ack"), "closed". @throws QueryError */
export function parseAlertState(text: string, param = 'state'): AlertState {
  const s = text.trim().toLowerCase();
  if (s === 'ack' || s === 'acked') return 'acknowledged';
  if (!(ALERT_STATES as readonly string[]).includes(s)) throw new QueryError(param, `expected one of ${ALERT_STATES.join(', ')}, got ${JSON.stringify(text.slice(0, 20))}`);
  return s as AlertState;
}

export function alertQueryFromParams(p: URLSearchParams): AlertQuery {
  for (const k of p.keys()) if (!(PARAMS as readonly string[]).includes(k)) throw new QueryError(k, `unknown parameter; the parameters are ${PARAMS.join(', ')}`);
  const f: AlertFilter = {};
  const state = p.get('state');
  if (state !== null) f.state = parseAlertState(state);
  const severity = p.get('severity');
  if (severity !== null) {
    if (!(SEVERITIES as readonly string[]).includes(severity)) throw new QueryError('severity', `expected one of ${SEVERITIES.join(', ')}`);
    f.severity = severity as Severity;
  }
  const agent = p.get('agent');
  if (agent !== null) {
    if (!AGENT_ID_RE.test(agent)) throw new QueryError('agent', 'expected an agent id (a lower-case UUID)');
    f.agentId = agent;
  }
  const category = p.get('category');
  if (category !== null) {
    if (!/^[a-z0-9._-]{1,64}$/i.test(category)) throw new QueryError('category', 'expected a category name (threat-intel, scan, beacon, ...)');
    f.category = category;
  }
  const since = p.get('since');
  if (since !== null) f.since = parseTimeParam('since', since);
  const until = p.get('until');
  if (until !== null) f.until = parseTimeParam('until', until);
  const limitText = p.get('limit');
  let limit = DEFAULT_FLOW_LIMIT;
  if (limitText !== null) {
    if (!/^\d{1,9}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > MAX_FLOW_LIMIT) throw new QueryError('limit', `expected a whole number 1..${MAX_FLOW_LIMIT}`);
    limit = Number(limitText);
  }
  const cursor = p.get('cursor');
  if (cursor !== null && !/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw new QueryError('cursor', 'expected the "next" value of the previous page');
  return { filter: f, limit, cursor };
}
